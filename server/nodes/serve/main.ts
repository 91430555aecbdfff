/**
 * npx atelier node --model NAME=FILE.gguf [--model ...] [--lora NAME=ADAPTER.gguf@BASE.gguf]
 *                  [--port 8090] [--host 127.0.0.1] [--token T] [--cache-dir DIR]
 * An Atelier serving node: only /v1 (and /node/* for the Atelier that routes to it), for the
 * given models, behind a node token (ATELIER_NODE_TOKEN or --token; one is generated and printed
 * when neither is set). Runs under tsx with the react-server condition (bin/atelier.mjs).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { startNodeServer } from "./server";

const HELP = `usage: atelier node --model NAME=FILE.gguf [--model ...] [options]

  --model NAME=FILE.gguf        a model to serve, under NAME (repeatable; FILE alone: NAME = file name)
  --lora NAME=ADAPTER@BASE      a LoRA adapter served on its base GGUF (repeatable)
  --port N                      port (default 8090; 0 = any free port)
  --host ADDR                   address to listen on (default 127.0.0.1; 0.0.0.0 for other machines)
  --token T                     node token clients must send (default: ATELIER_NODE_TOKEN, else generated)
  --cache-dir DIR               where downloaded model versions go (default: <ATELIER_DATA_DIR>/node-cache)

Inference settings come from the usual variables (ATELIER_ENGINE, ATELIER_THREADS, ATELIER_SEQUENCES, ATELIER_CONTEXT_SIZE, ATELIER_GPU...).
`;

export function parseNodeArgs(argv: string[]) {
  const models: Array<{ name: string; path: string; lora?: string }> = [];
  let port = 8090;
  let host = "127.0.0.1";
  let token = process.env.ATELIER_NODE_TOKEN ?? "";
  let cacheDir = path.join(process.env.ATELIER_DATA_DIR ?? "data", "node-cache");
  const value = (i: number, flag: string) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--model") {
      const v = value(i++, a);
      const eq = v.indexOf("=");
      const file = eq >= 0 ? v.slice(eq + 1) : v;
      models.push({ name: eq >= 0 ? v.slice(0, eq) : path.basename(file, ".gguf"), path: file });
    } else if (a === "--lora") {
      const v = value(i++, a);
      const m = /^([^=]+)=([^@]+)@(.+)$/.exec(v);
      if (!m) throw new Error(`--lora takes NAME=ADAPTER.gguf@BASE.gguf (got ${v})`);
      models.push({ name: m[1]!, path: m[3]!, lora: m[2]! });
    } else if (a === "--port") port = Number(value(i++, a));
    else if (a === "--host") host = value(i++, a);
    else if (a === "--token") token = value(i++, a);
    else if (a === "--cache-dir") cacheDir = value(i++, a);
    else if (a === "--help" || a === "-h" || a === "help") return null;
    else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error("--port must be 0-65535");
  if (models.length === 0) throw new Error("give at least one --model NAME=FILE.gguf");
  for (const m of models) for (const f of [m.path, m.lora]) if (f && !fs.existsSync(f)) throw new Error(`${f} does not exist`);
  if (token && token.length < 16) throw new Error("the node token must be at least 16 characters");
  return { models, port, host, token, cacheDir };
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseNodeArgs(argv);
  } catch (err) {
    process.stderr.write(`atelier node: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (!args) {
    process.stdout.write(HELP);
    return 0;
  }
  const generated = !args.token;
  const token = args.token || randomBytes(24).toString("base64url");
  const node = await startNodeServer({ ...args, token });
  if (generated) console.log(`node token (register the node with it): ${token}`);
  console.log(`serving ${node.catalog.list().map((e) => e.name).join(", ")}`);
  // The last line a supervisor (or a test) waits for.
  console.log(`atelier node listening on ${node.url}`);
  const stop = () => void node.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return -1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
