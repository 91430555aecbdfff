// LoRA and eval over a frozen base kept in its storage type (F16, BF16, Q8_0, Q4_K_M): forge's typed GEMM
// dequantises weight panels while packing (gemm.cpp) instead of expanding the model to F32. The reference
// is the same model loaded as F32 master weights (a full-mode run with steps: 0 writes that copy), which
// goes through load-time dequantisation and the plain F32 GEMM: losses, per-step LoRA losses and the
// trained adapters must agree to float rounding. (ggml's own quantized matmul quantizes the activations
// to 8 bits and would not.)
import { rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readGguf } from "./reference/gguf-read";
import { byteTokenizer, encodeBytes, ensureBuilt, runForge, sampleCorpus, streamRows, tmpDir, train, writeAtds } from "./reference/forge-helpers";

const TYPES = ["f16", "bf16", "q8_0", "q4_k_m"] as const;

describe("frozen typed bases: eval and LoRA equal the F32-dequantised model", () => {
  let dir = "";
  const p = (f: string) => path.join(dir, f);

  beforeAll(() => {
    ensureBuilt();
    dir = tmpDir("forge-typed-");
    const stream = encodeBytes(sampleCorpus());
    const tr = streamRows(stream, 49, 24);
    writeAtds(p("train.atds"), tr.rows, tr.masks);
    const ev = streamRows(stream, 49, 6, 2500);
    // a ragged mask (some positions are not targets) so eval sees several graph buckets
    writeAtds(p("eval.atds"), ev.rows, ev.masks.map((m, r) => m.map((x, i) => (i % (r + 2) === 0 ? 0 : x))));
    const tok = byteTokenizer();
    // Rows of 256 and 512 elements: every K-quant block size divides them, so Q4_K_M really is Q4_K/Q6_K.
    const r = train({
      mode: "scratch", out: p("base.gguf"), checkpointDir: p("ck-base"), train: p("train.atds"), batch: 4, steps: 6, lr: 3e-3, threads: 2, seed: 3,
      tokenizer: tok, model: { n_vocab: tok.tokens.length, n_embd: 256, n_layer: 1, n_head: 4, n_head_kv: 2, n_ff: 512, n_ctx: 64 },
    }, dir);
    expect(r.code, r.stderr).toBe(0);
    for (const t of TYPES) {
      const q = runForge(["quantize", "--in", p("base.gguf"), "--out", p(`base-${t}.gguf`), "--type", t]);
      expect(q.code, q.stderr).toBe(0);
      // F32 copy of exactly the stored (rounded/quantized) weights
      const c = train({ mode: "full", base: p(`base-${t}.gguf`), out: p(`f32-${t}.gguf`), checkpointDir: p(`ck-f32-${t}`), train: p("train.atds"), steps: 0 }, dir);
      expect(c.code, c.stderr).toBe(0);
    }
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const evalLoss = (model: string) => {
    const r = runForge(["eval", "--model", model, "--data", p("eval.atds"), "--batch", "3", "--threads", "2"]);
    expect(r.code, r.stderr).toBe(0);
    return r.lines.find((l) => l.type === "eval")!.loss as number;
  };

  it.each(TYPES)("%s: eval equals the F32 copy", (t) => {
    const typed = evalLoss(p(`base-${t}.gguf`));
    const f32 = evalLoss(p(`f32-${t}.gguf`));
    expect(Math.abs(typed - f32)).toBeLessThan(2e-5 * Math.abs(f32));
  });

  it.each(TYPES)("%s: LoRA steps and adapter equal LoRA over the F32 copy", (t) => {
    const lora = { rank: 4, alpha: 8, targets: ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] };
    const run = (base: string, tag: string) => {
      const r = train({ mode: "lora", base, out: p(`ad-${tag}.gguf`), checkpointDir: p(`ck-${tag}`), train: p("train.atds"), batch: 4, steps: 4, lr: 2e-2, threads: 2, seed: 5, lora }, dir);
      expect(r.code, r.stderr).toBe(0);
      return { losses: r.lines.filter((l) => l.type === "step").map((l) => l.loss as number), adapter: readGguf(p(`ad-${tag}.gguf`)) };
    };
    const a = run(p(`base-${t}.gguf`), `typed-${t}`);
    const b = run(p(`f32-${t}.gguf`), `f32-${t}`);
    expect(a.losses).toHaveLength(4);
    a.losses.forEach((l, i) => expect(Math.abs(l - b.losses[i]!)).toBeLessThan(2e-5 * Math.abs(l)));
    let worst = 0;
    let scale = 0;
    for (const [name, ta] of a.adapter.tensors) {
      const tb = b.adapter.tensors.get(name)!;
      for (let i = 0; i < ta.data.length; i++) {
        worst = Math.max(worst, Math.abs(ta.data[i]! - tb.data[i]!));
        scale = Math.max(scale, Math.abs(tb.data[i]!));
      }
    }
    expect(scale).toBeGreaterThan(0);
    expect(worst).toBeLessThan(1e-4 * scale);
  });
});
