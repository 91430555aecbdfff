import { parentPort } from "node:worker_threads";
import { detectFormat } from "/work/wt/harden/server/documents/index.ts";
const x: number = 1;
parentPort!.postMessage({ ok: detectFormat("a.pdf"), x });
