#!/usr/bin/env node
// `npx atelier forge <train|eval|export|quantize|resume|starter> ...`
// Runs server/forge/cli.ts through tsx (forge is a plain library: no "server-only", no Next).
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [command, ...rest] = process.argv.slice(2);

if (command !== "forge") {
  const out = command === undefined || command === "help" || command === "--help" || command === "-h" ? process.stdout : process.stderr;
  out.write(
    "usage: atelier forge <command> [options]\n" +
      "  commands: train, resume, eval, export, quantize, starter (run `atelier forge help` for details)\n",
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

const child = spawn(process.execPath, [tsxCli, path.join(root, "server", "forge", "cli.ts"), ...rest], {
  stdio: "inherit",
  env: { ...process.env, ATELIER_ROOT: process.env.ATELIER_ROOT ?? root },
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
