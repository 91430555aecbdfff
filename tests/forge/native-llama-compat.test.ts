// (b) A scratch-trained model loads in node-llama-cpp, chats through its ChatML template,
// and forge `eval` perplexity equals node-llama-cpp's perplexity on the same tokens.
import path from "node:path";
import { getLlama, LlamaChatSession, type Llama, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  byteTokenizer, encodeBytes, ensureBuilt, runForge, sampleCorpus, streamRows, tmpDir, train, writeAtds,
} from "./reference/forge-helpers";

describe("scratch model in node-llama-cpp", () => {
  let llama: Llama;
  let dir = "";
  let modelPath = "";
  let evalRows: { rows: number[][]; masks: number[][] };

  beforeAll(async () => {
    ensureBuilt();
    llama = await getLlama({ gpu: false });
    dir = tmpDir();
    const stream = encodeBytes(sampleCorpus());
    const tr = streamRows(stream, 33, 96);
    writeAtds(path.join(dir, "train.atds"), tr.rows, tr.masks);
    evalRows = streamRows(stream, 33, 4, 5000);
    // Partial masks too: only the second half of each row is scored.
    evalRows.masks = evalRows.masks.map((m) => m.map((v, i) => (i >= 12 ? v : 0)));
    writeAtds(path.join(dir, "eval.atds"), evalRows.rows, evalRows.masks);
    const tok = byteTokenizer();
    modelPath = path.join(dir, "model.gguf");
    const res = train(
      {
        mode: "scratch", out: modelPath, checkpointDir: path.join(dir, "ckpt"), train: path.join(dir, "train.atds"),
        eval: path.join(dir, "eval.atds"),
        model: { n_vocab: tok.tokens.length, n_embd: 32, n_layer: 2, n_head: 4, n_head_kv: 2, n_ff: 64, n_ctx: 64, rope_theta: 10000, norm_eps: 1e-5 },
        tokenizer: tok, name: "forge-compat-test",
        batch: 4, steps: 30, lr: 1e-2, warmup_steps: 3, seed: 5, threads: 1, out_type: "f32",
      },
      dir,
    );
    expect(res.code, res.stderr).toBe(0);
    const done = res.lines.find((l) => l.type === "done");
    expect(done).toBeTruthy();
    expect(res.lines.filter((l) => l.type === "step")).toHaveLength(30);
  }, 60_000);

  afterAll(async () => {
    await llama?.dispose();
  });

  it("loads, tokenizes bytes exactly and chats with the ChatML template", async () => {
    const model = await llama.loadModel({ modelPath });
    try {
      const text = "Hello, wörld! <tag>";
      expect(model.detokenize(model.tokenize(text))).toBe(text);
      expect(model.tokenize("abc")).toEqual([97, 98, 99]);
      const ctx = await model.createContext({ contextSize: 256 });
      const session = new LlamaChatSession({ contextSequence: ctx.getSequence(), systemPrompt: "" });
      expect(session.chatWrapper.wrapperName).toBe("ChatML");
      const answer = await session.prompt("Hi", { maxTokens: 8 });
      expect(typeof answer).toBe("string");
      await ctx.dispose();
    } finally {
      await model.dispose();
    }
  }, 60_000);

  it("forge eval perplexity equals node-llama-cpp perplexity within 0.5%", async () => {
    const res = runForge(["eval", "--model", modelPath, "--data", path.join(dir, "eval.atds"), "--threads", "1"]);
    expect(res.code, res.stderr).toBe(0);
    const ev = res.lines.find((l) => l.type === "eval") as unknown as { loss: number; ppl: number; tokens: number };

    const model = await llama.loadModel({ modelPath });
    const ctx = await model.createContext({ contextSize: 64, batchSize: 64 });
    const seq = ctx.getSequence();
    let sum = 0;
    let n = 0;
    for (let r = 0; r < evalRows.rows.length; r++) {
      const row = evalRows.rows[r]!;
      const mask = evalRows.masks[r]!;
      const input = row.slice(0, -1).map((t) => [t as Token, { generateNext: { probabilities: true } }] as const);
      const out = await seq.controlledEvaluate(input as never);
      for (let i = 1; i < row.length; i++) {
        if (!mask[i]) continue;
        const p = out[i - 1]!.next.probabilities!.get(row[i]! as Token) ?? 0;
        sum += -Math.log(p);
        n++;
      }
      await seq.clearHistory();
    }
    await ctx.dispose();
    await model.dispose();
    const pplLlama = Math.exp(sum / n);
    expect(ev.tokens).toBe(n);
    expect(Math.abs(ev.ppl - pplLlama) / pplLlama).toBeLessThan(0.005);
  }, 60_000);
});
