import path from "node:path";
import type { Llama, LlamaModel, Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GenerationEvent } from "@/server/llm/generate";
import type { NativeLoop, NativeRequest } from "@/server/llm/native-loop";
import type { NativeServing } from "@/server/llm/native-serving";
import type { ServingContext, ServingSpec } from "@/server/llm/pool";
import type { RunSampling } from "@/server/llm/sequence-run";
import { collect, freshApp } from "../helpers/app";
import { starterModelPath } from "../helpers/model";
import { byteTokenizer, encodeBytes, ensureBuilt, runForge, streamRows, tmpDir, train, writeAtds } from "../forge/reference/forge-helpers";

// Atelier's native generation loop (server/llm/native/) against node-llama-cpp's own generation,
// on the real starter model and on a tiny byte-level model + LoRA made by forge.
let spec: ServingSpec;
let native: NativeServing;
let loop: NativeLoop;
let llama: Llama;
const SYSTEM = "You are Atelier's starter assistant.";

/** A tiny byte-level model (every non-ASCII character spans several tokens), a LoRA of it and the merge. */
const bytes = { dir: "", base: "", adapter: "", merged: "" };
const ACCENTED = ["Café au lait, s'il vous plaît.", "Naïve façade — déjà vu.", "Smile 🙂 and wave 👋.", "Crème brûlée à la carte."];

beforeAll(async () => {
  await freshApp({ ATELIER_SEQUENCES: "8", ATELIER_CONTEXT_SIZE: "512" });
  const { ModelPool } = await import("@/server/llm/pool");
  const { engineKind } = await import("@/server/llm/native-serving");
  const { llamaInstance } = await import("@/server/llm/llama");
  expect(await engineKind()).toBe("native");
  llama = await llamaInstance();
  spec = { id: "native-test", label: "starter", modelPath: starterModelPath() };
  native = (await ModelPool.instance().serving(spec)) as NativeServing;
  loop = native.loop;

  ensureBuilt();
  bytes.dir = tmpDir("native-loop-");
  const p = (f: string) => path.join(bytes.dir, f);
  const corpus = encodeBytes(Array.from({ length: 200 }, (_, i) => ACCENTED[i % ACCENTED.length]).join(" "));
  const tr = streamRows(corpus, 33, 48);
  writeAtds(p("train.atds"), tr.rows, tr.masks);
  writeAtds(p("eval.atds"), tr.rows.slice(0, 4), tr.masks.slice(0, 4));
  const tok = byteTokenizer();
  const common = { train: p("train.atds"), eval: p("eval.atds"), batch: 4, threads: 1, warmup_steps: 2, seed: 3 };
  let r = train({
    ...common, mode: "scratch", out: p("base.gguf"), checkpointDir: p("ck-base"), steps: 40, lr: 1e-2, tokenizer: tok,
    model: { n_vocab: tok.tokens.length, n_embd: 32, n_layer: 2, n_head: 4, n_head_kv: 2, n_ff: 64, n_ctx: 128, rope_theta: 10000, norm_eps: 1e-5 },
  }, bytes.dir);
  expect(r.code, r.stderr).toBe(0);
  const lr = streamRows(encodeBytes("The quick brown fox jumps over the lazy dog. ".repeat(60)), 33, 32);
  writeAtds(p("lora.atds"), lr.rows, lr.masks);
  r = train({
    ...common, train: p("lora.atds"), mode: "lora", base: p("base.gguf"), out: p("adapter.gguf"), checkpointDir: p("ck-lora"), steps: 20, lr: 3e-2,
    lora: { rank: 4, alpha: 8, dropout: 0, targets: ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] },
  }, bytes.dir);
  expect(r.code, r.stderr).toBe(0);
  r = runForge(["merge", "--base", p("base.gguf"), "--lora", p("adapter.gguf"), "--out", p("merged.gguf")]);
  expect(r.code, r.stderr).toBe(0);
  Object.assign(bytes, { base: p("base.gguf"), adapter: p("adapter.gguf"), merged: p("merged.gguf") });
}, 240_000);

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

type Run = { text: string; chunks: string[]; tokens: number; reason: string; reused: number; sequence: number; firstAt: number; doneAt: number; textAt: number[] };

/** One request on a loop, collected; `onChunk` may cancel. */
function run(on: NativeLoop, req: NativeRequest, onChunk?: (chunk: string, tokens: number, cancel: () => void) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const out: Run = { text: "", chunks: [], tokens: 0, reason: "", reused: 0, sequence: -1, firstAt: 0, doneAt: 0, textAt: [] };
    let cancel = () => {};
    cancel = on.generate(req, {
      onText: (chunk, tokens) => {
        out.firstAt ||= performance.now();
        out.textAt.push(performance.now());
        out.tokens = tokens;
        if (chunk) {
          out.text += chunk;
          out.chunks.push(chunk);
        }
        onChunk?.(chunk, tokens, cancel);
      },
      onDone: (d) => {
        out.doneAt = performance.now();
        Object.assign(out, { tokens: d.tokens, reason: d.reason, reused: d.reusedTokens, sequence: d.sequence });
        if (d.reason === "error") reject(new Error(d.error));
        else resolve(out);
      },
    });
  });
}

/** The starter's chat prompt for one question, as token ids. */
function chatPrompt(question: string): number[] {
  const history = [{ type: "system" as const, text: SYSTEM }, { type: "user" as const, text: question }, { type: "model" as const, response: [] }];
  return native.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(native.model.tokenizer) as number[];
}

const PROMPTS = [
  "What is Atelier?", "How do I train a model?", "What is a LoRA adapter?", "How do I embed the widget?", "Which models can I use?",
  "How do I add knowledge?", "What does the studio do?", "How do I roll back a version?", "Can I use the OpenAI API?", "What is forge?",
  "How do I start Atelier?", "How do I run the tests?", "What is the starter model?", "How are answers evaluated?", "Where is data stored?",
  "What is a persona?", "How do quotas work?", "Can I use a GPU?", "How do I add a Hugging Face model?", "Who can edit assistants?",
];

describe("native generation loop", () => {
  it("passes its start-up self-check: the addon uses the libllama node-llama-cpp loaded", async () => {
    const { checkNativeLoop } = await import("@/server/llm/native-loop");
    const check = checkNativeLoop(llama);
    const expectedDir = path.join("node_modules", "@node-llama-cpp", `${process.platform}-${process.arch}`);
    expect(check.llamaLibrary).toContain(expectedDir);
    expect(check.devices.some((d) => d.startsWith("cpu:"))).toBe(true);
  });

  it("greedy output equals node-llama-cpp's LlamaChat for 20 prompts", async () => {
    const { ModelPool } = await import("@/server/llm/pool");
    const { generateChat } = await import("@/server/llm/generate");
    const { llamaChatRun } = await import("@/server/llm/llamachat-run");
    const { toChatHistory } = await import("@/server/llm/chat-history");
    const reference: ServingContext = await ModelPool.instance().nodeLlamaCppServing({ ...spec, id: "native-test-reference" });
    const sampling: RunSampling = { temperature: 0, topK: 40, topP: 0.9, repeatPenalty: 1.1, maxTokens: 48 };
    let differentAnswers = new Set<string>();
    for (const question of PROMPTS) {
      const events: GenerationEvent[] = await collect(generateChat({ spec, systemPrompt: SYSTEM, turns: [{ role: "user", content: question }], sampling }));
      const end = events.find((e): e is Extract<GenerationEvent, { type: "end" }> => e.type === "end")!;
      const sequence = await reference.acquire();
      let expected = "";
      let expectedTokens = 0;
      try {
        const r = await llamaChatRun({
          sequence, chatWrapper: reference.chatWrapper, history: toChatHistory(SYSTEM, [{ role: "user", content: question }]), sampling,
          signal: new AbortController().signal, onToken: (n) => (expectedTokens = n), onText: (t) => (expected += t),
        });
        expect(end.stats.stopReason, question).toBe(r.stopReason);
      } finally {
        reference.release(sequence);
      }
      expect(end.text, question).toBe(expected);
      expect(end.stats.completionTokens, question).toBe(expectedTokens);
      differentAnswers.add(end.text);
    }
    expect(differentAnswers.size).toBeGreaterThan(5); // the prompts really lead to different answers
    differentAnswers = new Set();
    await ModelPool.instance().unload("native-test-reference");
  });

  it("seeded sampling is reproducible, and seeds change the output", async () => {
    const prompt = chatPrompt("Tell me about Atelier.");
    const req = (seed: number): NativeRequest => ({ prompt, temperature: 1.5, topK: 0, topP: 1, seed, maxTokens: 40, ignoreEog: true });
    // A seed repeats the text when the computation repeats: the same batches (decoded alone here) and the same
    // cached prefix (a batch of N prompt tokens and N single-token decodes round differently, as in llama.cpp).
    // So each seeded run starts after the same other conversation has filled the cache.
    const other = () => run(loop, { prompt: chatPrompt("Something else?"), temperature: 0, topK: 40, topP: 1, maxTokens: 2 });
    await other();
    const a = await run(loop, req(11));
    await other();
    const b = await run(loop, req(11));
    await other();
    const c = await run(loop, req(12));
    expect(a.tokens).toBe(40);
    expect(b.text).toBe(a.text);
    expect(c.text).not.toBe(a.text);
  });

  it("stops at a stop string split across tokens and never shows it", async () => {
    const prompt = chatPrompt("What is Atelier?");
    const free = await run(loop, { prompt, temperature: 0, topK: 40, topP: 1, maxTokens: 40 });
    expect(free.text.length).toBeGreaterThan(20);
    const stop = free.text.slice(8, 15);
    expect(native.model.tokenize(stop).length).toBeGreaterThan(1);
    const stopped = await run(loop, { prompt, temperature: 0, topK: 40, topP: 1, maxTokens: 40, stopStrings: [stop] });
    expect(stopped.reason).toBe("stopGenerationTrigger");
    expect(stopped.text).toBe(free.text.slice(0, free.text.indexOf(stop)));
    for (const chunk of stopped.chunks) expect(chunk).not.toContain(stop);
  });

  it("streams characters split across byte tokens whole, as node-llama-cpp detokenizes them", async () => {
    const model: LlamaModel = await llama.loadModel({ modelPath: bytes.base });
    const { NativeLoop } = await import("@/server/llm/native-loop");
    await using byteLoop = await NativeLoop.open(llama, { modelPath: bytes.base, gpuLayers: 0, sequences: 2, contextPerSequence: 128, batchSize: 64, threads: 1 });
    const ctx = await model.createContext({ contextSize: 128 });
    const sequence = ctx.getSequence();
    try {
      for (const start of ["Caf", "Smile ", "Crème br"]) {
        const prompt = encodeBytes(start);
        const tokens: Token[] = [];
        await sequence.clearHistory();
        for await (const t of sequence.evaluate(prompt as Token[], { temperature: 0 })) {
          tokens.push(t);
          if (tokens.length >= 30) break;
        }
        const expected = model.detokenize(tokens);
        expect(expected, start).toMatch(/[^\x00-\x7f]/); // the model writes non-ASCII characters: several byte tokens each
        const got = await run(byteLoop, { prompt, temperature: 0, topK: 40, topP: 1, maxTokens: 30, ignoreEog: true });
        expect(got.text, start).toBe(expected);
        for (const chunk of got.chunks) expect(chunk).not.toContain("\uFFFD");
      }
    } finally {
      await ctx.dispose();
      await model.dispose();
    }
  });

  it("cancelling mid-stream ends the request at the next step and frees its sequence", async () => {
    const prompt = chatPrompt("Tell me everything about Atelier.");
    const r = await run(loop, { prompt, temperature: 0.8, topK: 40, topP: 0.9, seed: 1, maxTokens: 400, ignoreEog: true }, (_c, tokens, cancel) => {
      if (tokens >= 3) cancel();
    });
    expect(r.reason).toBe("abort");
    expect(r.tokens).toBeGreaterThanOrEqual(3);
    expect(r.tokens).toBeLessThan(400);
    expect(loop.stats().active).toBe(0);
    const next = await run(loop, { prompt, temperature: 0, topK: 40, topP: 1, maxTokens: 5, ignoreEog: true });
    expect(next.tokens).toBe(5);
  });

  it("decodes 8 conversations together and queues a ninth until a sequence frees", async () => {
    const before = loop.stats();
    const long = (i: number, maxTokens: number): NativeRequest => ({ prompt: chatPrompt(`Question number ${i}?`), temperature: 0, topK: 40, topP: 1, maxTokens, ignoreEog: true });
    const first8 = Array.from({ length: 8 }, (_, i) => run(loop, long(i, 40 + i * 10)));
    const ninth = run(loop, long(9, 20));
    const results = await Promise.all(first8);
    const late = await ninth;
    expect(results.every((r, i) => r.tokens === 40 + i * 10)).toBe(true);
    expect(late.tokens).toBe(20);
    const earliestEnd = Math.min(...results.map((r) => r.doneAt));
    expect(late.firstAt).toBeGreaterThan(earliestEnd); // it waited for a free sequence
    expect(late.sequence).toBe(results[0]!.sequence); // the first to finish (the shortest) freed it
    const after = loop.stats();
    expect(after.maxActive).toBe(8);
    expect(after.maxStepSequences).toBe(8);
    // while all 8 generated, each step was one decode of 8 tokens: far fewer decodes than tokens
    expect(after.decodes - before.decodes).toBeLessThan((after.decodedTokens - before.decodedTokens) / 3);
    expect(after.active).toBe(0);
  });

  it("a request joining running streams starts at the next step; its long prompt is prefilled in chunks between their tokens", async () => {
    const { NativeLoop } = await import("@/server/llm/native-loop");
    await using chunked = await NativeLoop.open(llama, { modelPath: starterModelPath(), gpuLayers: 0, sequences: 4, contextPerSequence: 512, batchSize: 512, prefillChunk: 32, threads: 1 });
    let atJoin = chunked.stats();
    let atFirstToken = atJoin;
    let joined: Promise<Run> | undefined;
    const longPrompt = chatPrompt(`Summarise this: ${"Atelier trains and serves your own models. ".repeat(25)}`);
    expect(longPrompt.length).toBeGreaterThan(200);
    const running = [0, 1].map((i) =>
      run(chunked, { prompt: chatPrompt(`Tell me a long story ${i}.`), temperature: 0, topK: 40, topP: 1, maxTokens: 200, ignoreEog: true }, (_c, tokens) => {
        if (i === 0 && tokens >= 10 && !joined) {
          atJoin = chunked.stats();
          joined = run(chunked, { prompt: longPrompt, temperature: 0, topK: 40, topP: 1, maxTokens: 10, ignoreEog: true }, (_c2, t2) => {
            if (t2 === 1) atFirstToken = chunked.stats();
          });
        }
      }),
    );
    const done = await Promise.all(running);
    const late = await joined!;
    expect(late.tokens).toBe(10);
    expect(late.firstAt).toBeLessThan(Math.min(...done.map((d) => d.doneAt)));
    // the prompt (> 200 tokens, at most 32 per step) took several steps, and both running streams decoded in each
    const prefillSteps = Math.ceil(longPrompt.length / 32);
    expect(atFirstToken.steps - atJoin.steps).toBeGreaterThanOrEqual(prefillSteps);
    expect(atFirstToken.prefillTokens - atJoin.prefillTokens).toBeGreaterThanOrEqual(longPrompt.length);
    expect(atFirstToken.decodedTokens - atJoin.decodedTokens).toBeGreaterThanOrEqual(2 * (prefillSteps - 1));
    expect(chunked.stats().maxStepSequences).toBe(3);
  });

  it("reuses the K/V cache of the previous turn: a follow-up evaluates only its new tokens", async () => {
    const first = chatPrompt("What is Atelier?");
    const a = await run(loop, { prompt: first, temperature: 0, topK: 40, topP: 1, maxTokens: 8 });
    const history = [
      { type: "system" as const, text: SYSTEM }, { type: "user" as const, text: "What is Atelier?" },
      { type: "model" as const, response: [a.text] }, { type: "user" as const, text: "And who made it?" }, { type: "model" as const, response: [] },
    ];
    const follow = native.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(native.model.tokenizer) as number[];
    const b = await run(loop, { prompt: follow, temperature: 0, topK: 40, topP: 1, maxTokens: 4 });
    expect(b.reused).toBeGreaterThanOrEqual(first.length);
    expect(b.reused).toBeLessThan(follow.length);
  });

  it("applies a LoRA per sequence: adapter and base requests in one loop match the merged and the base model", async () => {
    const { NativeLoop } = await import("@/server/llm/native-loop");
    const opts = { gpuLayers: 0, sequences: 2, contextPerSequence: 128, batchSize: 64, threads: 1 };
    await using base = await NativeLoop.open(llama, { ...opts, modelPath: bytes.base });
    await using merged = await NativeLoop.open(llama, { ...opts, modelPath: bytes.merged });
    const adapter = await base.loadAdapter(bytes.adapter);
    const req: NativeRequest = { prompt: encodeBytes("The quick brown"), temperature: 0, topK: 40, topP: 1, maxTokens: 24, ignoreEog: true };
    const [withLora, plain] = await Promise.all([run(base, { ...req, adapter }), run(base, req)]);
    const [viaMerge] = await Promise.all([run(merged, req)]);
    const plainAlone = await run(base, req);
    expect(withLora.text).toBe(viaMerge.text);
    expect(plain.text).toBe(plainAlone.text);
    expect(withLora.text).not.toBe(plain.text); // the adapter changes the answer
    expect(base.stats().maxActive).toBe(2);
  });
});
