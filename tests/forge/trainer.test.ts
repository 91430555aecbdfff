// Trainer API end to end on a tiny scratch model: progress events, stop()/resume, evaluate,
// quantize, and native error codes surfacing as ForgeError.
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { getLlama, LlamaChat, LlamaLogLevel, type Llama } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forgeBinaryAvailable } from "@/server/forge/binary";
import { buildDataset, encodeAtds, forgeTokenizerFromBpe } from "@/server/forge";
import { ForgeError } from "@/server/forge/errors";
import { ProgressPrinter } from "@/server/forge/progress";
import { trainBpe, type BpeTokenizer } from "@/server/forge/tokenizer";
import {
  evaluate,
  parseProgressLine,
  quantize,
  readCheckpointInfo,
  resumeTraining,
  startTraining,
  type ProgressEvent,
  type TrainConfigInput,
} from "@/server/forge/trainer";

const TEXT = Array.from({ length: 40 }, (_, i) =>
  [
    `Note ${i}: the atelier keeps its brushes in jar ${i % 7} and its paints on shelf ${i % 5}.`,
    `Every morning the painter mixes ${["red", "blue", "ochre", "green"][i % 4]} with white and works until noon.`,
  ].join(" "),
).join("\n\n");
const CHATS = Array.from({ length: 30 }, (_, i) => ({
  messages: [
    { role: "user" as const, content: `Where are the brushes of note ${i}?` },
    { role: "assistant" as const, content: `In jar ${i % 7}.` },
  ],
}));

let dir: string;
let tok: BpeTokenizer;
let llama: Llama;
const MODEL = { n_embd: 32, n_layer: 2, n_head: 2, n_ff: 64, n_ctx: 64 };

function config(name: string, extra: Partial<TrainConfigInput> = {}): TrainConfigInput {
  return {
    mode: "scratch",
    out: path.join(dir, name, "out.gguf"),
    checkpointDir: path.join(dir, name, "ckpt"),
    train: path.join(dir, "train.atds"),
    eval: path.join(dir, "eval.atds"),
    model: { ...MODEL, n_vocab: tok.vocabSize },
    tokenizer: tok.data,
    batch: 4,
    steps: 30,
    lr: 5e-3,
    warmup_steps: 3,
    eval_every: 10,
    seed: 7,
    threads: 1,
    ...extra,
  };
}

beforeAll(async () => {
  if (!forgeBinaryAvailable()) throw new Error("native trainer not built: run `node server/forge/native/build.mjs` (npm run setup)");
  dir = mkdtempSync(path.join(os.tmpdir(), "forge-trainer-"));
  tok = trainBpe([TEXT, ...CHATS.flatMap((c) => c.messages.map((m) => m.content))], { vocabSize: 400 });
  buildDataset({
    tokenizer: forgeTokenizerFromBpe(tok),
    seqLen: 32,
    documents: [TEXT],
    chats: CHATS,
    evalFraction: 0.15,
    seed: 1,
    trainPath: path.join(dir, "train.atds"),
    evalPath: path.join(dir, "eval.atds"),
  });
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("startTraining", () => {
  it("streams typed progress, finishes, and writes a GGUF node-llama-cpp serves with our tokenizer and ChatML", async () => {
    const run = startTraining(config("e2e", { out_type: "f32" }));
    const events: ProgressEvent[] = [];
    for await (const ev of run.progress) events.push(ev);
    const result = await run.done;

    expect(events[0]).toMatchObject({ type: "start", steps: 30 });
    expect((events[0] as { mem_estimate_bytes: number }).mem_estimate_bytes).toBeGreaterThan(0);
    const steps = events.filter((e) => e.type === "step");
    expect(steps.map((s) => s.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(steps.filter((s) => s.eval_loss != null).map((s) => s.step)).toEqual([10, 20, 30]);
    expect(steps.every((s) => s.steps === 30 && s.tok_s > 0 && Number.isFinite(s.lr))).toBe(true);
    expect(steps.at(-1)!.loss!).toBeLessThan(steps[0]!.loss!);
    expect(events.at(-1)).toMatchObject({ type: "done", steps: 30 });
    expect(events.some((e) => e.type === "checkpoint")).toBe(true);

    expect(result.status).toBe("done");
    expect(result.out).toBe(path.join(dir, "e2e", "out.gguf"));
    expect(result.start?.steps).toBe(30);
    expect(result.evalPpl).toBeCloseTo(Math.exp(result.evalLoss!), 4);
    expect(statSync(result.out).size).toBeGreaterThan(10_000);
    expect(ProgressPrinter.barText(steps[14]!, 10)).toMatch(/^train █{5}░{5} 15\/30 loss \d+\.\d{3} .*tok\/s ETA /);

    // evaluate() on the same held-out file agrees with the trainer's final eval
    const ev = await evaluate({ model: result.out, data: path.join(dir, "eval.atds"), threads: 1 });
    expect(ev.loss).toBeCloseTo(result.evalLoss!, 3);
    expect(ev.tokens).toBeGreaterThan(0);

    const model = await llama.loadModel({ modelPath: result.out });
    try {
      for (const text of [TEXT.slice(0, 300), "Where are the brushes of note 3?", "  x\n\n😀 ok"]) expect(model.tokenize(text)).toEqual(tok.encode(text));
      expect(model.tokens.bos).toBe(tok.bos);
      expect(model.tokens.eot).toBe(tok.eot);
      const ctx = await model.createContext({ contextSize: 64 });
      const chat = new LlamaChat({ contextSequence: ctx.getSequence() });
      expect(chat.chatWrapper.wrapperName).toBe("ChatML");
      const r = await chat.generateResponse([{ type: "user", text: "Where?" }, { type: "model", response: [] }], { maxTokens: 8, temperature: 0 });
      expect(typeof r.response).toBe("string");
      chat.dispose();
      await ctx.dispose();
    } finally {
      await model.dispose();
    }
  });

  it("stop() ends after the current step with a checkpoint, and resumeTraining() continues to the end", async () => {
    const run = startTraining(config("stop", { steps: 1500, eval_every: 0, save_every: 0 }));
    let seen = 0;
    for await (const ev of run.progress) {
      if (ev.type === "step" && ++seen === 1) run.stop();
    }
    const stopped = await run.done;
    expect(stopped.status).toBe("stopped");
    expect(stopped.steps).toBeGreaterThanOrEqual(1);
    expect(stopped.steps).toBeLessThan(1500);
    expect(readCheckpointInfo(stopped.checkpointDir)?.step).toBe(stopped.steps);
    expect(existsSync(stopped.out)).toBe(true);

    const resumed = resumeTraining(stopped.checkpointDir);
    let first: ProgressEvent | undefined;
    for await (const ev of resumed.progress) if (ev.type === "step") first ??= ev;
    const done = await resumed.done;
    expect(done.start?.start_step).toBe(stopped.steps);
    expect(first).toMatchObject({ step: stopped.steps + 1 });
    expect(done).toMatchObject({ status: "done", steps: 1500 });
  });

  it("an AbortSignal stops the run gracefully", async () => {
    const ac = new AbortController();
    const run = startTraining(config("abort", { steps: 1500, eval_every: 0 }), { signal: ac.signal, onEvent: (ev) => ev.type === "step" && ac.abort() });
    expect((await run.done).status).toBe("stopped");
  });

  it("quantize() writes a smaller q8_0 GGUF that loads", async () => {
    const src = path.join(dir, "e2e", "out.gguf");
    const out = path.join(dir, "q8.gguf");
    expect(await quantize({ in: src, out, type: "q8_0" })).toEqual({ out, type: "q8_0" });
    expect(statSync(out).size).toBeLessThan(statSync(src).size);
    const m = await llama.loadModel({ modelPath: out });
    expect(m.tokenize("Every morning")).toEqual(tok.encode("Every morning"));
    await m.dispose();
  });
});

describe("errors surface as ForgeError with the trainer's codes", () => {
  async function codeOf(p: Promise<unknown>) {
    try {
      await p;
    } catch (err) {
      expect(err).toBeInstanceOf(ForgeError);
      return (err as ForgeError).code;
    }
    throw new Error("expected a ForgeError");
  }

  it("CONTEXT_TOO_LONG, DATASET_TOO_SMALL, BAD_GGUF, IO", async () => {
    expect(await codeOf(startTraining(config("ctx", { model: { ...MODEL, n_vocab: tok.vocabSize, n_ctx: 16 } })).done)).toBe("CONTEXT_TOO_LONG");

    const empty = path.join(dir, "empty.atds");
    writeFileSync(empty, encodeAtds({ rowLen: 33, nRows: 2, tokens: new Int32Array(66), mask: new Uint8Array(66) }));
    expect(await codeOf(startTraining(config("small", { train: empty, eval: undefined })).done)).toBe("DATASET_TOO_SMALL");

    const notGguf = path.join(dir, "not.gguf");
    writeFileSync(notGguf, "hello, not a model");
    expect(await codeOf(startTraining(config("badgguf", { mode: "full", base: notGguf, model: undefined, tokenizer: undefined })).done)).toBe("BAD_GGUF");
    expect(await codeOf(evaluate({ model: notGguf, data: path.join(dir, "eval.atds") }))).toBe("BAD_GGUF");
    expect(await codeOf(evaluate({ model: path.join(dir, "missing.gguf"), data: path.join(dir, "eval.atds") }))).toBe("IO");
  });

  it("BAD_CONFIG before spawning, NOT_BUILT and CRASHED from the process", async () => {
    expect(() => startTraining(config("cfg", { model: { ...MODEL, n_vocab: 12 } }))).toThrow(/model\.n_vocab is 12 but the tokenizer has \d+ tokens/);
    expect(() => startTraining({ ...config("cfg2"), mode: "lora" } as TrainConfigInput)).toThrow(ForgeError);
    expect(await codeOf(evaluate({ model: "a.gguf", data: "b.atds" }, { binary: path.join(dir, "no-such-binary") }))).toBe("NOT_BUILT");
    expect(await codeOf(evaluate({ model: "a.gguf", data: "b.atds" }, { binary: "/bin/false" }))).toBe("CRASHED");
  });

  it("parses progress lines strictly", () => {
    expect(parseProgressLine('{"type":"checkpoint","step":3,"path":"/x"}')).toEqual({ type: "checkpoint", step: 3, path: "/x" });
    expect(parseProgressLine("loading model...")).toBeNull();
    expect(parseProgressLine('{"type":"future-event"}')).toBeNull();
    expect(() => parseProgressLine('{"type":"step","step":"three"}')).toThrow(ForgeError);
  });
});
