// qwen2 (q/k/v bias, NEOX rope, tied head) and qwen3 (q/k head norms, NEOX rope) bases:
// synthetic models derived from a scratch llama, checked against node-llama-cpp (forward)
// and the float64 reference (loss + finite-difference gradients), then full fine-tuned.
import { readFileSync } from "node:fs";
import path from "node:path";
import { getLlama, type Llama } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  byteTokenizer, encodeBytes, ensureBuilt, rng, runForge, sampleCorpus, streamRows, tmpDir, train, writeAtds,
} from "./reference/forge-helpers";
import { readGguf, writeGguf, type GgufFile } from "./reference/gguf-read";
import { fdMismatches, llamaCppLoss as cppLoss } from "./reference/checks";
import { llamaFromGguf, meanLoss } from "./reference/llama-f64";

async function llamaCppLoss(llama: Llama, modelPath: string, rows: number[][], masks: number[][]): Promise<number> {
  const model = await llama.loadModel({ modelPath });
  return cppLoss(model, rows, masks).finally(() => model.dispose());
}

function deriveArch(src: GgufFile, arch: "qwen2" | "qwen3", seed: number): GgufFile {
  const r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const kv = new Map<string, unknown>() as GgufFile["kv"];
  const kvType = new Map() as GgufFile["kvType"];
  for (const [k, v] of src.kv) {
    const nk = k.startsWith("llama.") ? `${arch}.${k.slice(6)}` : k;
    kv.set(nk, k === "general.architecture" ? arch : v);
    kvType.set(nk, src.kvType.get(k)!);
  }
  const tensors = new Map(src.tensors);
  const E = Number(src.kv.get("llama.embedding_length"));
  const H = Number(src.kv.get("llama.attention.head_count"));
  const Hk = Number(src.kv.get("llama.attention.head_count_kv"));
  const hd = E / H;
  const L = Number(src.kv.get("llama.block_count"));
  const add = (name: string, n: number, f: () => number) =>
    tensors.set(name, { name, ne: [n], type: 0, data: Float64Array.from({ length: n }, f) });
  for (let l = 0; l < L; l++) {
    if (arch === "qwen2") {
      add(`blk.${l}.attn_q.bias`, H * hd, () => 0.3 * gauss());
      add(`blk.${l}.attn_k.bias`, Hk * hd, () => 0.3 * gauss());
      add(`blk.${l}.attn_v.bias`, Hk * hd, () => 0.3 * gauss());
    } else {
      add(`blk.${l}.attn_q_norm.weight`, hd, () => 1 + 0.3 * gauss());
      add(`blk.${l}.attn_k_norm.weight`, hd, () => 1 + 0.3 * gauss());
    }
  }
  if (arch === "qwen2") tensors.delete("output.weight"); // tied head, like small Qwen2 models
  return { kv, kvType, tensors };
}

describe.each(["qwen2", "qwen3"] as const)("%s base", (arch) => {
  let llama: Llama;
  let dir = "";
  const p = (f: string) => path.join(dir, f);
  let ev: { rows: number[][]; masks: number[][] };

  beforeAll(async () => {
    ensureBuilt();
    llama = await getLlama({ gpu: false });
    dir = tmpDir();
    const stream = encodeBytes(sampleCorpus());
    const tr = streamRows(stream, 25, 48);
    writeAtds(p("train.atds"), tr.rows, tr.masks);
    ev = streamRows(stream, 25, 3, 2000);
    writeAtds(p("eval.atds"), ev.rows, ev.masks);
    const tok = byteTokenizer();
    const r = train({
      mode: "scratch", out: p("llama.gguf"), checkpointDir: p("ck0"), train: p("train.atds"), batch: 4, steps: 10, lr: 1e-2,
      threads: 1, seed: 4, tokenizer: tok,
      model: { n_vocab: tok.tokens.length, n_embd: 32, n_layer: 2, n_head: 4, n_head_kv: 2, n_ff: 48, n_ctx: 64, rope_theta: 10000, norm_eps: 1e-5 },
    }, dir);
    expect(r.code, r.stderr).toBe(0);
    writeGguf(p(`${arch}.gguf`), deriveArch(readGguf(p("llama.gguf")), arch, 9));
  }, 60_000);

  afterAll(async () => {
    await llama?.dispose();
  });

  it("forward matches node-llama-cpp and the f64 reference", async () => {
    const res = runForge(["eval", "--model", p(`${arch}.gguf`), "--data", p("eval.atds"), "--threads", "1"]);
    expect(res.code, res.stderr).toBe(0);
    const forge = res.lines[0]!.loss as number;
    const ref = meanLoss(llamaFromGguf(readGguf(p(`${arch}.gguf`))), ev.rows, ev.masks).loss;
    const cpp = await llamaCppLoss(llama, p(`${arch}.gguf`), ev.rows, ev.masks);
    expect(Math.abs(forge - ref) / ref).toBeLessThan(1e-4);
    expect(Math.abs(forge - cpp) / cpp).toBeLessThan(1e-3);
  }, 60_000);

  it("gradients match finite differences (arch-specific tensors + a random sample)", () => {
    const rows = ev.rows.slice(0, 2).map((r) => r.slice(0, 13));
    const masks = ev.masks.slice(0, 2).map((m) => m.slice(0, 13));
    writeAtds(p("fd.atds"), rows, masks);
    const res = runForge(["grads", "--model", p(`${arch}.gguf`), "--data", p("fd.atds"), "--out", p("g.json"), "--threads", "1"]);
    expect(res.code, res.stderr).toBe(0);
    const grads = JSON.parse(readFileSync(p("g.json"), "utf8")).grads as Record<string, number[]>;
    const m = llamaFromGguf(readGguf(p(`${arch}.gguf`)));
    const { bad } = fdMismatches(m, rows, masks, grads, (name, n) => (/bias|q_norm|k_norm|token_embd/.test(name) ? Math.min(n, 24) : 6));
    expect(bad).toEqual([]);
  }, 60_000);

  it("full fine-tune trains and the output still matches node-llama-cpp", async () => {
    const r = train({
      mode: "full", base: p(`${arch}.gguf`), out: p("ft.gguf"), checkpointDir: p("ck1"), train: p("train.atds"), eval: p("eval.atds"),
      batch: 4, steps: 8, lr: 3e-3, threads: 1, out_type: "f32",
    }, dir);
    expect(r.code, r.stderr).toBe(0);
    const done = r.lines.at(-1)!;
    const cpp = await llamaCppLoss(llama, p("ft.gguf"), ev.rows, ev.masks);
    expect(Math.abs((done.eval_loss as number) - cpp) / cpp).toBeLessThan(1e-3);
    const g = readGguf(p("ft.gguf"));
    expect(g.kv.get("general.architecture")).toBe(arch);
    expect(g.tensors.has("output.weight")).toBe(arch !== "qwen2");
  }, 60_000);
});
