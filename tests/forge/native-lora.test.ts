// (c) LoRA adapter written by the forge loads in node-llama-cpp and gives the same next-token
// distribution as the merged model; full fine-tune from a quantized base; quantize.
import path from "node:path";
import { getLlama, type Llama, type LlamaModel, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  byteTokenizer, encodeBytes, ensureBuilt, runForge, sampleCorpus, streamRows, tmpDir, train, writeAtds,
} from "./reference/forge-helpers";

async function nextTokenProbs(model: LlamaModel, tokens: number[], lora?: string): Promise<Map<Token, number>> {
  const ctx = await model.createContext({ contextSize: 64, ...(lora ? { lora: { adapters: [{ filePath: lora }] } } : {}) });
  try {
    const seq = ctx.getSequence();
    const input = tokens.map((t, i) => (i === tokens.length - 1 ? [t as Token, { generateNext: { probabilities: true } }] : (t as Token)));
    const out = await seq.controlledEvaluate(input as never);
    return out.at(-1)!.next.probabilities!;
  } finally {
    await ctx.dispose();
  }
}

function maxDiff(a: Map<Token, number>, b: Map<Token, number>): number {
  let d = 0;
  for (const [t, p] of a) d = Math.max(d, Math.abs(p - (b.get(t) ?? 0)));
  return d;
}

describe("LoRA adapters and quantized bases", () => {
  let llama: Llama;
  let dir = "";
  const p = (f: string) => path.join(dir, f);
  const prompt = encodeBytes("The quick brown fox jumps over the lazy");

  beforeAll(async () => {
    ensureBuilt();
    llama = await getLlama({ gpu: false });
    dir = tmpDir();
    const stream = encodeBytes(sampleCorpus());
    const tr = streamRows(stream, 33, 64);
    writeAtds(p("train.atds"), tr.rows, tr.masks);
    const ev = streamRows(stream, 33, 4, 3000);
    writeAtds(p("eval.atds"), ev.rows, ev.masks);
    const tok = byteTokenizer();
    const common = { train: p("train.atds"), eval: p("eval.atds"), batch: 4, threads: 1, warmup_steps: 2, seed: 2 };
    let r = train({
      ...common, mode: "scratch", out: p("base.gguf"), checkpointDir: p("ck-base"), steps: 15, lr: 1e-2, tokenizer: tok,
      model: { n_vocab: tok.tokens.length, n_embd: 32, n_layer: 2, n_head: 4, n_head_kv: 2, n_ff: 64, n_ctx: 64, rope_theta: 10000, norm_eps: 1e-5 },
    }, dir);
    expect(r.code, r.stderr).toBe(0);
    r = train({
      ...common, mode: "lora", base: p("base.gguf"), out: p("adapter.gguf"), checkpointDir: p("ck-lora"), steps: 12, lr: 3e-2,
      lora: { rank: 4, alpha: 8, dropout: 0.05, targets: ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] },
    }, dir);
    expect(r.code, r.stderr).toBe(0);
    const start = r.lines.find((l) => l.type === "start")!;
    expect(start.trainable).toBeLessThan(start.params as number);
    r = runForge(["merge", "--base", p("base.gguf"), "--lora", p("adapter.gguf"), "--out", p("merged.gguf")]);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await llama?.dispose();
  });

  it("adapter via node-llama-cpp == merged model (next-token distribution)", async () => {
    const base = await llama.loadModel({ modelPath: p("base.gguf") });
    const merged = await llama.loadModel({ modelPath: p("merged.gguf") });
    try {
      const withLora = await nextTokenProbs(base, prompt, p("adapter.gguf"));
      const plain = await nextTokenProbs(base, prompt);
      const viaMerge = await nextTokenProbs(merged, prompt);
      expect(maxDiff(withLora, viaMerge)).toBeLessThan(2e-4);
      expect(maxDiff(withLora, plain)).toBeGreaterThan(1e-3); // the adapter does something
    } finally {
      await base.dispose();
      await merged.dispose();
    }
  }, 60_000);

  it("forge eval with --lora equals eval of the merged model", () => {
    const a = runForge(["eval", "--model", p("base.gguf"), "--lora", p("adapter.gguf"), "--data", p("eval.atds"), "--threads", "1"]);
    const b = runForge(["eval", "--model", p("merged.gguf"), "--data", p("eval.atds"), "--threads", "1"]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const la = a.lines[0]!.loss as number;
    const lb = b.lines[0]!.loss as number;
    expect(Math.abs(la - lb) / lb).toBeLessThan(1e-5);
  }, 60_000);

  it("quantizes to q8_0, full fine-tunes from the quantized base, keeps base metadata", async () => {
    let r = runForge(["quantize", "--in", p("base.gguf"), "--out", p("q8.gguf"), "--type", "q8_0"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines).toHaveLength(1);
    r = train({
      mode: "full", base: p("q8.gguf"), out: p("full.gguf"), checkpointDir: p("ck-full"), train: p("train.atds"), eval: p("eval.atds"),
      batch: 4, steps: 8, lr: 3e-3, threads: 1, out_type: "f16", name: "full-from-q8",
    }, dir);
    expect(r.code, r.stderr).toBe(0);
    const done = r.lines.at(-1)!;
    expect(done.type).toBe("done");
    const before = runForge(["eval", "--model", p("q8.gguf"), "--data", p("eval.atds"), "--threads", "1"]).lines[0]!;
    expect(done.eval_loss as number).toBeLessThan(before.loss as number);
    const m = await llama.loadModel({ modelPath: p("full.gguf") });
    try {
      expect(m.fileInfo.metadata.general.name).toBe("full-from-q8");
      expect(m.fileInfo.metadata.tokenizer.chat_template).toContain("im_start");
      expect(m.detokenize(m.tokenize("héllo"))).toBe("héllo");
    } finally {
      await m.dispose();
    }
  }, 60_000);
});
