/**
 * npx atelier worker --server URL --token T [--name NAME] [--cache-dir DIR] [--threads N] [--poll S] [--once]
 * A remote training worker: takes studio runs queued "on a worker" from an Atelier server, trains
 * them with this machine's forge (CUDA when built with it) and sends everything back. Runs under
 * plain tsx (forge is a plain library).
 */
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ServerError, WorkerClient } from "./client";
import { executeRun } from "./run";

const HELP = `usage: atelier worker --server URL --token T [options]

  --server URL       the Atelier server (e.g. https://atelier.example.com)
  --token T          its worker token (ATELIER_WORKER_TOKEN on the server; or ATELIER_WORKER_TOKEN here)
  --name NAME        how the run page names this worker (default: the host name)
  --cache-dir DIR    downloaded base models and run files (default: ~/.cache/atelier-worker)
  --threads N        trainer threads (default: the trainer's choice)
  --poll S           seconds between looks at the queue when it is empty (default 5)
  --once             train at most one run, then exit (exit when the queue is empty)
`;

export function parseWorkerArgs(argv: string[]) {
  const args = { server: "", token: process.env.ATELIER_WORKER_TOKEN ?? "", name: os.hostname(), cacheDir: path.join(os.homedir(), ".cache", "atelier-worker"), threads: 0, poll: 5, once: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--server") args.server = value();
    else if (a === "--token") args.token = value();
    else if (a === "--name") args.name = value();
    else if (a === "--cache-dir") args.cacheDir = path.resolve(value());
    else if (a === "--threads") args.threads = Number(value());
    else if (a === "--poll") args.poll = Number(value());
    else if (a === "--once") args.once = true;
    else if (a === "--help" || a === "-h" || a === "help") return null;
    else throw new Error(`unknown option ${a}`);
  }
  if (!/^https?:\/\//.test(args.server)) throw new Error("--server must be an http(s) URL");
  if (!args.token) throw new Error("--token is required");
  if (!Number.isInteger(args.threads) || args.threads < 0) throw new Error("--threads must be a whole number");
  if (!(args.poll > 0)) throw new Error("--poll must be a positive number of seconds");
  return args;
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseWorkerArgs(argv);
  } catch (err) {
    process.stderr.write(`atelier worker: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (!args) {
    process.stdout.write(HELP);
    return 0;
  }
  const client = new WorkerClient(args.server, args.token);
  const log = (line: string) => console.log(`[worker ${args.name}] ${line}`);
  let stopping = false;
  process.on("SIGINT", () => (stopping = true));
  log(`waiting for runs from ${args.server}`);
  while (!stopping) {
    let run;
    try {
      run = await client.claim(args.name);
    } catch (err) {
      if (err instanceof ServerError && err.status === 401) {
        process.stderr.write(`atelier worker: the server refused the token (${err.message})\n`);
        return 1;
      }
      log(`cannot reach the server: ${(err as Error).message}`);
      run = null;
    }
    if (run) {
      log(`claimed run ${run.runId} (${run.name})`);
      await executeRun({ client, cacheDir: args.cacheDir, threads: args.threads || undefined, log }, run);
      if (args.once) return 0;
      continue;
    }
    if (args.once) return 0;
    await new Promise((r) => setTimeout(r, args.poll * 1000));
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
