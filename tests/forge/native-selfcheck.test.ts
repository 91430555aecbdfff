// The trainer checked against things other than itself (issue 12, Deliver 4):
//  - `selftest`: every GEMM / step op / optimizer kernel against naive f64 loops on odd shapes, with the AVX-512
//    kernel and with the AVX2 kernel forced on;
//  - the optimizer: 10 steps of forge (warmup + cosine, clipping, weight decay, gradient accumulation) against
//    an independent f64 AdamW written from PyTorch's algorithm, step by step (loss and every weight, 1e-4);
//  - `grads --lora` against finite differences of the f64 reference with the adapter merged in;
//  - 1 vs 2 threads: bitwise-identical weights after N steps; AVX2 vs AVX-512 kernels: the same run.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byteTokenizer, encodeBytes, ensureBuilt, FORGE, rng, runForge, sampleCorpus, streamRows, tmpDir, train, writeAtds } from "./reference/forge-helpers";
import { readGguf, writeGguf, type GgufFile } from "./reference/gguf-read";
import { llamaFromGguf, meanLoss } from "./reference/llama-f64";
import { syntheticModel } from "./reference/synthetic";

let dir = "";
const p = (f: string) => path.join(dir, f);

beforeAll(() => {
  ensureBuilt();
  dir = tmpDir("forge-selfcheck-");
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function selftest(env: Record<string, string>, threads: number) {
  const r = spawnSync(FORGE, ["selftest", "--threads", String(threads)], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 120_000 });
  const lines = r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code: r.status, lines, stderr: r.stderr };
}

describe("kernels vs naive loops (atelier-forge selftest)", () => {
  it.each<{ label: string; env: Record<string, string>; threads: number }>([
    { label: "default kernel, 2 threads", env: {}, threads: 2 },
    { label: "AVX2 kernel forced, 1 thread", env: { ATELIER_FORGE_GEMM_KERNEL: "avx2" }, threads: 1 },
  ])("$label", ({ env, threads }) => {
    const r = selftest(env, threads);
    const start = r.lines.find((l) => l.type === "selftest_start")!;
    if (env.ATELIER_FORGE_GEMM_KERNEL) expect(start.gemm).toBe("avx2");
    const checks = r.lines.filter((l) => l.type === "selftest");
    expect(checks.length).toBeGreaterThan(100);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.code, r.stderr).toBe(0);
    // every kernel family is covered
    for (const k of ["sgemm", "typed gemm", "gemm op", "soft_max", "rms_norm_back", "silu_back", "gelu_back", "softcap_back", "swiglu", "cont permute", "adamw", "grad norm"])
      expect(checks.some((c) => String(c.name).startsWith(k)), k).toBe(true);
  }, 120_000);
});

// ------------------------------------------------------------------------------------------------ optimizer
const OPT = { lr: 5e-3, warmup_steps: 3, min_lr_ratio: 0.2, weight_decay: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, grad_clip: 0.5 };
const STEPS = 10;

/** The documented schedule: linear warmup to lr over warmup_steps (step s gets lr·(s+1)/W), then cosine to lr·min_lr_ratio. */
function lrAt(s: number): number {
  if (s < OPT.warmup_steps) return (OPT.lr * (s + 1)) / OPT.warmup_steps;
  const min = OPT.lr * OPT.min_lr_ratio;
  const prog = Math.min(1, (s - OPT.warmup_steps) / Math.max(1, STEPS - OPT.warmup_steps));
  return min + (OPT.lr - min) * 0.5 * (1 + Math.cos(Math.PI * prog));
}

describe("optimizer: forge vs an independent f64 AdamW, step by step", () => {
  it("10 steps of warmup + cosine, clipping, decoupled weight decay, 2-way gradient accumulation", () => {
    // 4 rows = batch 2 × grad_accum 2: every step sees every row once, so the step's gradient is the full-batch
    // gradient whatever the row order (which the reference does not need to know).
    const stream = encodeBytes(sampleCorpus());
    const rows = streamRows(stream, 17, 4, 500);
    writeAtds(p("opt.atds"), rows.rows, rows.masks);
    const tok = byteTokenizer();
    let r = train({
      mode: "scratch", out: p("init.gguf"), checkpointDir: p("ck-init"), train: p("opt.atds"), steps: 0, seed: 11, tokenizer: tok,
      model: { n_vocab: tok.tokens.length, n_embd: 16, n_layer: 1, n_head: 2, n_head_kv: 1, n_ff: 24, n_ctx: 32 },
    }, dir);
    expect(r.code, r.stderr).toBe(0);

    // forge: one schedule of STEPS steps, stopped after each step (test hook) and resumed, reading the checkpoint
    const cfg = { mode: "full", base: p("init.gguf"), out: p("opt-out.gguf"), checkpointDir: p("ck-opt"), train: p("opt.atds"), batch: 2, grad_accum: 2, steps: STEPS, threads: 2, seed: 3, ...OPT };
    const forgeLoss: number[] = [];
    const forgeW: Map<string, Float64Array>[] = [];
    const forgeNorm: number[] = [];
    for (let k = 1; k <= STEPS; k++) {
      const cfgPath = p(`opt-${k}.json`);
      writeFileSync(cfgPath, JSON.stringify({ ...cfg, resume: k > 1 }));
      const res = spawnSync(FORGE, ["train", "--config", cfgPath], { encoding: "utf8", env: { ...process.env, ATELIER_FORGE_STOP_AFTER: String(k) } });
      expect(res.status, res.stderr).toBe(0);
      const steps = res.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.type === "step");
      expect(steps.map((s) => s.step)).toEqual([k]);
      forgeLoss.push(steps[0].loss);
      forgeNorm.push(steps[0].grad_norm);
      const ck = readGguf(p("ck-opt/ckpt.gguf"));
      forgeW.push(new Map([...ck.tensors].filter(([n]) => !n.endsWith(".adam_m") && !n.endsWith(".adam_v")).map(([n, t]) => [n, t.data])));
    }
    expect(forgeNorm.some((g) => g > OPT.grad_clip)).toBe(true); // clipping was exercised

    // reference: PyTorch's AdamW (decoupled decay on matrices only, bias-corrected moments) in f64, with the
    // global-norm clip max/(norm + 1e-6); gradients from forge `grads` at the reference's own weights
    const init: GgufFile = readGguf(p("init.gguf"));
    const w = new Map([...init.tensors].map(([n, t]) => [n, Float64Array.from(t.data)]));
    const m = new Map([...w].map(([n, v]) => [n, new Float64Array(v.length)]));
    const v = new Map([...w].map(([n, x]) => [n, new Float64Array(x.length)]));
    for (let s = 0; s < STEPS; s++) {
      for (const [n, t] of init.tensors) t.data = w.get(n)!;
      writeGguf(p("ref.gguf"), init);
      const g = runForge(["grads", "--model", p("ref.gguf"), "--data", p("opt.atds"), "--out", p("ref-g.json"), "--batch", "4", "--threads", "1"]);
      expect(g.code, g.stderr).toBe(0);
      const out = JSON.parse(readFileSync(p("ref-g.json"), "utf8")) as { loss: number; grads: Record<string, number[]> };
      expect(Math.abs(out.loss - forgeLoss[s]!)).toBeLessThan(1e-4 * Math.abs(out.loss));
      let ss = 0;
      for (const gr of Object.values(out.grads)) for (const x of gr) ss += x * x;
      const norm = Math.sqrt(ss);
      const clip = norm > OPT.grad_clip ? OPT.grad_clip / (norm + 1e-6) : 1;
      const lr = lrAt(s), t = s + 1;
      for (const [n, wt] of w) {
        const gr = out.grads[n]!, mt = m.get(n)!, vt = v.get(n)!;
        const decay = init.tensors.get(n)!.ne.filter((d) => d > 1).length >= 2 ? OPT.weight_decay : 0;
        for (let i = 0; i < wt.length; i++) {
          const gi = gr[i]! * clip;
          mt[i] = OPT.beta1 * mt[i]! + (1 - OPT.beta1) * gi;
          vt[i] = OPT.beta2 * vt[i]! + (1 - OPT.beta2) * gi * gi;
          const mh = mt[i]! / (1 - OPT.beta1 ** t), vh = vt[i]! / (1 - OPT.beta2 ** t);
          wt[i] = wt[i]! * (1 - lr * decay) - (lr * mh) / (Math.sqrt(vh) + OPT.eps);
        }
      }
      let worst = 0;
      for (const [n, wt] of w) {
        const f = forgeW[s]!.get(n)!;
        for (let i = 0; i < wt.length; i++) worst = Math.max(worst, Math.abs(f[i]! - wt[i]!));
      }
      expect(worst, `weights after step ${t}`).toBeLessThan(1e-4);
    }
  }, 180_000);
});

// ------------------------------------------------------------------------------------------------ grads --lora
describe("grads --lora", () => {
  it("adapter gradients equal finite differences of the f64 reference with the adapter merged", () => {
    const base = syntheticModel("gemma2", 5);
    writeGguf(p("lbase.gguf"), base);
    const rows = streamRows(encodeBytes(sampleCorpus()), 13, 2, 900);
    writeAtds(p("l.atds"), rows.rows, rows.masks);
    // a random adapter (B != 0, unlike a fresh one, so A gets a gradient too) on a few targets
    const r = rng(8);
    const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
    const rank = 3, alpha = 5, s = alpha / rank;
    const ad: GgufFile = { kv: new Map(), kvType: new Map(), tensors: new Map() };
    for (const [k, val, type] of [["general.architecture", "gemma2", 8], ["general.type", "adapter", 8], ["adapter.type", "lora", 8], ["adapter.lora.alpha", alpha, 6]] as const) {
      ad.kv.set(k, val);
      ad.kvType.set(k, { type });
    }
    const targets = ["blk.0.attn_q.weight", "blk.1.attn_v.weight", "blk.0.ffn_gate.weight", "blk.1.ffn_down.weight"];
    for (const t of targets) {
      const [nIn, nOut] = base.tensors.get(t)!.ne as [number, number];
      ad.tensors.set(`${t}.lora_a`, { name: `${t}.lora_a`, ne: [nIn, rank], type: 0, data: Float64Array.from({ length: nIn * rank }, () => gauss() / Math.sqrt(nIn)) });
      ad.tensors.set(`${t}.lora_b`, { name: `${t}.lora_b`, ne: [rank, nOut], type: 0, data: Float64Array.from({ length: rank * nOut }, () => 0.3 * gauss()) });
    }
    writeGguf(p("ad.gguf"), ad);
    const res = runForge(["grads", "--model", p("lbase.gguf"), "--lora", p("ad.gguf"), "--data", p("l.atds"), "--out", p("lg.json"), "--threads", "2"]);
    expect(res.code, res.stderr).toBe(0);
    const grads = JSON.parse(readFileSync(p("lg.json"), "utf8")).grads as Record<string, number[]>;
    expect(Object.keys(grads).sort()).toEqual([...ad.tensors.keys()].sort());

    // reference model whose parameters are A and B: W_eff = W + s·B·A, rebuilt on every access
    const ref = llamaFromGguf(readGguf(p("lbase.gguf")));
    const W0 = new Map(targets.map((t) => [t, Float64Array.from(ref.w.get(t)!)]));
    const adapter = new Map([...ad.tensors].map(([n, t]) => [n, t.data]));
    const merge = () => {
      for (const t of targets) {
        const [nIn, nOut] = ref.shapes.get(t)! as [number, number];
        const A = adapter.get(`${t}.lora_a`)!, B = adapter.get(`${t}.lora_b`)!, W = ref.w.get(t)!, w0 = W0.get(t)!;
        for (let o = 0; o < nOut; o++) for (let i = 0; i < nIn; i++) {
          let acc = 0;
          for (let k = 0; k < rank; k++) acc += B[o * rank + k]! * A[k * nIn + i]!;
          W[o * nIn + i] = w0[o * nIn + i]! + s * acc;
        }
      }
    };
    const picks: [string, number][] = [];
    for (const [n, t] of adapter) for (let k = 0; k < 8; k++) picks.push([n, Math.floor(r() * t.length)]);
    const h = 1e-5;
    const fd = picks.map(([n, i]) => {
      const t = adapter.get(n)!;
      const x0 = t[i]!;
      t[i] = x0 + h;
      merge();
      const lp = meanLoss(ref, rows.rows, rows.masks).loss;
      t[i] = x0 - h;
      merge();
      const lm = meanLoss(ref, rows.rows, rows.masks).loss;
      t[i] = x0;
      return (lp - lm) / (2 * h);
    });
    const rms = Math.sqrt(fd.reduce((a, x) => a + x * x, 0) / fd.length);
    const checked = picks.length;
    const bad = picks.map(([n, i], k) => ({ n, i, forge: grads[n]![i]!, fd: fd[k]! })).filter((x) => Math.abs(x.forge - x.fd) > 1e-4 * Math.abs(x.fd) + 1e-4 * rms);
    expect(checked).toBeGreaterThan(40);
    expect(rms).toBeGreaterThan(0);
    expect(bad).toEqual([]);
  }, 120_000);
});

// ------------------------------------------------------------------------------------------------ determinism
describe("determinism", () => {
  const run = (tag: string, threads: number, env: Record<string, string> = {}) => {
    const stream = encodeBytes(sampleCorpus());
    const tr = streamRows(stream, 33, 16);
    writeAtds(p("det.atds"), tr.rows, tr.masks);
    const tok = byteTokenizer();
    const cfgPath = p(`det-${tag}.json`);
    writeFileSync(cfgPath, JSON.stringify({
      mode: "scratch", out: p(`det-${tag}.gguf`), checkpointDir: p(`ck-det-${tag}`), train: p("det.atds"), batch: 4, steps: 6, lr: 3e-3, seed: 9, threads,
      tokenizer: tok, model: { n_vocab: tok.tokens.length, n_embd: 64, n_layer: 2, n_head: 4, n_head_kv: 2, n_ff: 96, n_ctx: 64 },
    }));
    const res = spawnSync(FORGE, ["train", "--config", cfgPath], { encoding: "utf8", env: { ...process.env, ...env } });
    expect(res.status, res.stderr).toBe(0);
    return readFileSync(p(`det-${tag}.gguf`));
  };

  it("1 and 2 threads give bitwise-identical weights after 6 steps", () => {
    const a = run("t1", 1), b = run("t2", 2);
    expect(a.equals(b)).toBe(true);
  }, 120_000);

  it("the AVX2 GEMM kernel forced on trains the same model as the default kernel", () => {
    const a = readGguf(p("det-t2.gguf"));
    run("avx2", 2, { ATELIER_FORGE_GEMM_KERNEL: "avx2" });
    const b = readGguf(p("det-avx2.gguf"));
    let worst = 0;
    for (const [n, t] of a.tensors) {
      const u = b.tensors.get(n)!.data;
      for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(t.data[i]! - u[i]!));
    }
    expect(worst).toBeLessThan(1e-6);
  }, 120_000);
});

// ------------------------------------------------------------------------------------------------ precision
describe("mixed precision (bf16 matmul operands, F32 master weights and AdamW state)", () => {
  const cfg = (precision: string, tag: string) => {
    const stream = encodeBytes(sampleCorpus());
    writeAtds(p("mp-train.atds"), ...(Object.values(streamRows(stream, 65, 60)) as [number[][], number[][]]));
    writeAtds(p("mp-eval.atds"), ...(Object.values(streamRows(stream, 65, 8, 5000)) as [number[][], number[][]]));
    const tok = byteTokenizer();
    const path_ = p(`mp-${tag}.json`);
    writeFileSync(path_, JSON.stringify({
      mode: "scratch", out: p(`mp-${tag}.gguf`), checkpointDir: "", train: p("mp-train.atds"), eval: p("mp-eval.atds"), batch: 4, steps: 60,
      lr: 1e-3, warmup_steps: 5, threads: 2, seed: 4, precision, tokenizer: tok,
      model: { n_vocab: tok.tokens.length, n_embd: 128, n_layer: 2, n_head: 4, n_head_kv: 2, n_ff: 256, n_ctx: 64 },
    }));
    return path_;
  };
  const trainLines = (file: string, env: Record<string, string> = {}) => {
    const r = spawnSync(FORGE, ["train", "--config", file], { encoding: "utf8", env: { ...process.env, ...env } });
    return { code: r.status, stderr: r.stderr, lines: r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, number | string>) };
  };

  it("a bf16 run's loss curve stays within 0.5% of f32 at every step, and its held-out loss too", (ctx) => {
    const f32 = trainLines(cfg("f32", "f32"));
    const auto = trainLines(cfg("auto", "auto"));
    expect(f32.code, f32.stderr).toBe(0);
    expect(auto.code, auto.stderr).toBe(0);
    if (auto.lines.find((l) => l.type === "start")!.precision !== "bf16") ctx.skip(); // no AVX512-BF16 on this CPU: auto = f32
    const a = f32.lines.filter((l) => l.type === "step").map((l) => l.loss as number);
    const b = auto.lines.filter((l) => l.type === "step").map((l) => l.loss as number);
    expect(b).toHaveLength(60);
    expect(b).not.toEqual(a); // the operands really were rounded
    const worst = Math.max(...a.map((x, i) => Math.abs(b[i]! - x) / x));
    expect(worst).toBeLessThan(0.005);
    const ea = f32.lines.find((l) => l.type === "done")!.eval_loss as number, eb = auto.lines.find((l) => l.type === "done")!.eval_loss as number;
    expect(Math.abs(eb - ea) / ea).toBeLessThan(0.005);
  }, 180_000);

  it("bf16 on a CPU without AVX512-BF16 is refused before any training", () => {
    const r = trainLines(cfg("bf16", "nobf16"), { ATELIER_FORGE_GEMM_KERNEL: "avx2" });
    expect(r.code).toBe(1);
    expect(r.lines.find((l) => l.type === "start")).toBeUndefined();
    const err = r.lines.find((l) => l.type === "error")!;
    expect(err.code).toBe("BAD_CONFIG");
    expect(String(err.message)).toMatch(/AVX512-BF16/);
    const fallback = trainLines(cfg("auto", "auto-avx2"), { ATELIER_FORGE_GEMM_KERNEL: "avx2" });
    expect(fallback.lines.find((l) => l.type === "start")!.precision).toBe("f32");
  }, 120_000);
});
