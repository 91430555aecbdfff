#!/usr/bin/env node
// `npx atelier forge <train|eval|export|quantize|resume|starter> ...`  training (server/forge/cli.ts)
// `npx atelier node --model NAME=FILE.gguf ...`                          an inference node (server/nodes/serve/main.ts)
// `npx atelier worker --server URL --token T`                            a remote training worker (server/worker/main.ts)
// Each runs through tsx. Forge is a plain library (no "server-only", no Next); node mode runs the
// inference engine, whose modules are marked server-only, hence the react-server condition.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [command, ...rest] = process.argv.slice(2);

const ENTRIES = {
  forge: { script: ["server", "forge", "cli.ts"], conditions: [] },
  node: { script: ["server", "nodes", "serve", "main.ts"], conditions: ["--conditions=react-server"] },
  worker: { script: ["server", "worker", "main.ts"], conditions: [] },
};

const entry = ENTRIES[command];
if (!entry) {
  const out = command === undefined || command === "help" || command === "--help" || command === "-h" ? process.stdout : process.stderr;
  out.write(
    "usage: atelier <command> [options]\n" +
      "  forge   train, resume, eval, export, quantize, starter (run `atelier forge help` for details)\n" +
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

const child = spawn(process.execPath, [tsxCli, ...entry.conditions, path.join(root, ...entry.script), ...rest], {
  stdio: "inherit",
  env: { ...process.env, ATELIER_ROOT: process.env.ATELIER_ROOT ?? root },
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
