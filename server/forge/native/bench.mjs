#!/usr/bin/env node
// Training throughput on the reference shape (3.5M llama: n_embd 256, 4 layers, 4 heads,
// ctx 256, batch 4). Usage: node server/forge/native/bench.mjs [steps=20] [threads=1,2] [precision=f32,bf16]
// Prints wall tok/s and tokens per CPU-second (the latter is meaningful on a shared machine).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.join(here, "build", "atelier-forge");
const steps = Number(process.argv[2] ?? 20);
const threadList = (process.argv[3] ?? "1,2").split(",").map(Number);
const precisions = (process.argv[4] ?? "f32").split(",");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-bench-"));

const T = 256, rows = 64, V = 259;
const buf = Buffer.alloc(16 + rows * (T + 1) * 5);
buf.write("ATDS", 0, "ascii");
buf.writeUInt32LE(1, 4);
buf.writeUInt32LE(T + 1, 8);
buf.writeUInt32LE(rows, 12);
let seed = 1;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
for (let i = 0; i < rows * (T + 1); i++) buf.writeInt32LE(Math.floor(rnd() * 256), 16 + 4 * i);
for (let i = 0; i < rows * (T + 1); i++) buf.writeUInt8(i % (T + 1) === 0 ? 0 : 1, 16 + 4 * rows * (T + 1) + i);
fs.writeFileSync(path.join(dir, "train.atds"), buf);

for (const threads of threadList) for (const precision of precisions) {
  const cfg = {
    precision,
    mode: "scratch", out: path.join(dir, "out.gguf"), checkpointDir: "", train: path.join(dir, "train.atds"),
    model: { n_vocab: V, n_embd: 256, n_layer: 4, n_head: 4, n_head_kv: 4, n_ff: 768, n_ctx: 256, rope_theta: 10000, norm_eps: 1e-5 },
    batch: 4, steps, lr: 1e-3, warmup_steps: 2, seed: 1, threads,
  };
  const cfgPath = path.join(dir, `run${threads}.json`);
  fs.writeFileSync(cfgPath, JSON.stringify(cfg));
  const r = spawnSync("/usr/bin/time", ["-f", "%U %S", bin, "train", "--config", cfgPath], { encoding: "utf8" });
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const stepLines = lines.filter((l) => l.type === "step");
  const start = lines.find((l) => l.type === "start");
  const [user, sys] = r.stderr.trim().split("\n").pop().split(" ").map(Number);
  const tokens = steps * 1024;
  const sorted = stepLines.slice(2).map((l) => l.step_s).sort((a, b) => a - b);
  console.log(JSON.stringify({
    threads, precision: start?.precision, gemm: start?.gemm, params: start?.params, steps,
    tok_s_wall: Math.round(stepLines.at(-1).tok_s),
    tok_s_median_step: Math.round(1024 / sorted[Math.floor(sorted.length / 2)]),
    tok_per_cpu_s: Math.round(tokens / (user + sys)),
    final_loss: Number(stepLines.at(-1).loss.toFixed(4)),
    loadavg: os.loadavg()[0].toFixed(1),
  }));
}
fs.rmSync(dir, { recursive: true, force: true });
