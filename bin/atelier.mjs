#!/usr/bin/env node
// `npx atelier forge <train|eval|export|quantize|resume|starter> ...`
// `npx atelier eval --assistant <id|name> --set <id|file> ...` (evaluations, server/evals/cli.ts)
// Runs the command's TypeScript entry through tsx: forge is a plain library (no "server-only", no Next); eval uses
// server modules, which import "server-only" and so need the react-server condition (it resolves to an empty module).
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [command, ...rest] = process.argv.slice(2);

const ENTRIES = {
  forge: { file: ["server", "forge", "cli.ts"], tsxArgs: [] },
  eval: { file: ["server", "evals", "cli.ts"], tsxArgs: ["--conditions=react-server"] },
};

if (!(command in ENTRIES)) {
  const out = command === undefined || command === "help" || command === "--help" || command === "-h" ? process.stdout : process.stderr;
  out.write(
    "usage: atelier forge <command> [options]\n" +
      "  commands: train, resume, eval, export, quantize, starter (run `atelier forge help` for details)\n" +
      "       atelier eval --assistant <id|name> --set <id|file> [--versions a,b] [--knowledge on,off] [--json out.json]\n" +
      "  scores an assistant on an eval set and prints the matrix (run `atelier eval --help` for details)\n",
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
