#!/usr/bin/env node
// `npx atelier forge <train|eval|export|quantize|resume|starter> ...`  training (server/forge/cli.ts)
// `npx atelier eval --assistant <id|name> --set <id|file> ...`          evaluations (server/evals/cli.ts)
// `npx atelier node --model NAME=FILE.gguf ...`                          an inference node (server/nodes/serve/main.ts)
// `npx atelier worker --server URL --token T`                            a remote training worker (server/worker/main.ts)
// Each runs through tsx. Forge is a plain library (no "server-only", no Next); eval and node mode use server
// modules, which import "server-only" and so need the react-server condition (it resolves to an empty module).
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [command, ...rest] = process.argv.slice(2);

const ENTRIES = {
  forge: { file: ["server", "forge", "cli.ts"], tsxArgs: [] },
  eval: { file: ["server", "evals", "cli.ts"], tsxArgs: ["--conditions=react-server"] },
  node: { file: ["server", "nodes", "serve", "main.ts"], tsxArgs: ["--conditions=react-server"] },
  worker: { file: ["server", "worker", "main.ts"], tsxArgs: [] },
};

if (!Object.hasOwn(ENTRIES, command ?? "")) {
  const out = command === undefined || command === "help" || command === "--help" || command === "-h" ? process.stdout : process.stderr;
  out.write(
    "usage: atelier <command> [options]\n" +
      "  forge   train, resume, eval, export, quantize, starter (run `atelier forge help` for details)\n" +
      "  eval    --assistant <id|name> --set <id|file> [--versions a,b] [--knowledge on,off] [--json out.json]\n" +
      "          scores an assistant on an eval set and prints the matrix (run `atelier eval --help` for details)\n" +
      "  node    serve models as an inference node for another Atelier (run `atelier node --help`)\n" +
      "  worker  train queued studio runs for an Atelier server (run `atelier worker --help`)\n",
  );
  process.exit(out === process.stdout ? 0 : 2);
}

const require = createRequire(import.meta.url);
let tsxCli;
try {
  tsxCli = require.resolve("tsx/cli", { paths: [root] });
} catch {
  process.stderr.write("atelier: tsx is not installed; run `npm install` in " + root + "\n");
  process.exit(1);
}

// eval opens the server's database and migrations, so it runs from the Atelier folder; file arguments resolve against ATELIER_CWD
const entry = ENTRIES[command];
const child = spawn(process.execPath, [tsxCli, ...entry.tsxArgs, path.join(root, ...entry.file), ...rest], {
  stdio: "inherit",
  ...(command === "eval" ? { cwd: root } : {}),
  env: { ...process.env, ATELIER_ROOT: process.env.ATELIER_ROOT ?? root, ATELIER_CWD: process.cwd() },
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
