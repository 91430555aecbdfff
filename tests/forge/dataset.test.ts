// Dataset packing and SFT masks: chat records are rendered with the same chat wrapper and
// history shape as serving, and the mask covers exactly the assistant answers (+ end of turn).
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { getLlama, LlamaLogLevel, resolveChatWrapper, type LlamaModel, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertBatchFits,
  buildDataset,
  encodeAtds,
  forgeTokenizerFromBpe,
  forgeTokenizerFromModel,
  loadCorpusFile,
  packSamples,
  packStream,
  readAtds,
  splitHeldOut,
  tokenizeChat,
  tokenizeDocument,
  type ChatRecord,
  type ForgeTokenizer,
} from "@/server/forge";
import { ForgeError } from "@/server/forge/errors";
import { writeLlamaGguf } from "../helpers/gguf";
import { trainBpe, type BpeTokenizer } from "@/server/forge/tokenizer";
import { toChatHistory } from "@/server/llm/chat-history";

const SYSTEM = "You are Atelier's guide.";
const CORPUS_TEXT = [
  "Atelier is a self-hosted platform. You can chat with assistants, create personas and train models.",
  "How do I add a model? Open Models and paste hf:owner/repo/file.gguf or a local path.",
  "The widget is one script tag. Held-out perplexity tells you whether training worked.",
  SYSTEM,
];

const RECORDS: ChatRecord[] = [
  { system: SYSTEM, messages: [{ role: "user", content: "What is Atelier?" }, { role: "assistant", content: "A self-hosted platform for your own assistants." }] },
  { messages: [{ role: "user", content: "  hi  " }, { role: "assistant", content: " Hello there!\n\nAsk me anything. " }] },
  {
    system: SYSTEM,
    messages: [
      { role: "user", content: "How do I add a model?" },
      { role: "assistant", content: "Paste `hf:owner/repo/file.gguf` in Models." },
      { role: "user", content: "And a local one? 日本語 😀" },
      { role: "assistant", content: "Use its path, e.g. /models/x.gguf — done." },
    ],
  },
];

let dir: string;
let bpe: BpeTokenizer;
let model: LlamaModel;
let ours: ForgeTokenizer;
let theirs: ForgeTokenizer;
let imEnd: number;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "forge-ds-"));
  bpe = trainBpe([...CORPUS_TEXT, ...CORPUS_TEXT], { vocabSize: 500 });
  const file = path.join(dir, "vocab.gguf");
  writeLlamaGguf(file, bpe.data, { weights: "random" });
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  model = await llama.loadModel({ modelPath: file, vocabOnly: true });
  ours = forgeTokenizerFromBpe(bpe);
  theirs = forgeTokenizerFromModel(model);
  imEnd = bpe.tokenId("<|im_end|>")!;
});

afterAll(async () => {
  await model?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const targetsOf = (s: { tokens: number[]; mask: number[] }) => s.tokens.filter((_, i) => s.mask[i] === 1);

describe("SFT samples", () => {
  it("serving resolves ChatML for a GGUF with our template", () => {
    expect(resolveChatWrapper(model)?.wrapperName).toBe("ChatML");
    expect(theirs.chatWrapper.wrapperName).toBe("ChatML");
  });

  it("are identical with our BPE (scratch) and with the GGUF's tokenizer in node-llama-cpp (fine-tune)", () => {
    for (const r of RECORDS) expect(tokenizeChat(r, ours)).toEqual(tokenizeChat(r, theirs));
  });

  it("the unmasked prefix is exactly the prompt serving evaluates, the mask exactly answer + <|im_end|>", () => {
    const r = RECORDS[0]!;
    const [sample] = tokenizeChat(r, ours);
    const firstTarget = sample!.mask.indexOf(1);
    // what server/llm/generate.ts feeds the model for this conversation
    const history = toChatHistory(SYSTEM, [{ role: "user", content: "What is Atelier?" }]);
    const prompt = theirs.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(model.tokenizer);
    expect(sample!.tokens.slice(0, firstTarget)).toEqual(prompt);
    expect(sample!.tokens[0]).toBe(model.tokens.bos);
    expect(sample!.mask.slice(firstTarget).every((m) => m === 1)).toBe(true);
    expect(targetsOf(sample!)).toEqual([...model.tokenize("A self-hosted platform for your own assistants."), imEnd]);
    expect(model.detokenize(targetsOf(sample!) as Token[], true)).toBe("A self-hosted platform for your own assistants.<|im_end|>");
    expect(model.detokenize(sample!.tokens.slice(0, firstTarget) as Token[], true)).toBe(
      "<|endoftext|><|im_start|>system\nYou are Atelier's guide.<|im_end|>\n<|im_start|>user\nWhat is Atelier?<|im_end|>\n<|im_start|>assistant\n",
    );
  });

  it("keeps leading/trailing whitespace of answers and masks every assistant turn of a conversation", () => {
    const [s1] = tokenizeChat(RECORDS[1]!, ours);
    expect(bpe.decode(targetsOf(s1!), { special: true })).toBe(" Hello there!\n\nAsk me anything. <|im_end|>");

    const samples = tokenizeChat(RECORDS[2]!, ours);
    expect(samples).toHaveLength(1);
    const s = samples[0]!;
    // target spans: two runs of 1s, each ending with <|im_end|>
    const spans: number[][] = [];
    s.mask.forEach((m, i) => {
      if (m && !s.mask[i - 1]) spans.push([]);
      if (m) spans.at(-1)!.push(s.tokens[i]!);
    });
    expect(spans.map((sp) => bpe.decode(sp, { special: true }))).toEqual([
      "Paste `hf:owner/repo/file.gguf` in Models.<|im_end|>",
      "Use its path, e.g. /models/x.gguf — done.<|im_end|>",
    ]);
    // the user turn between them is context, not a target
    const text = bpe.decode(s.tokens, { special: true });
    expect(text).toContain("<|im_start|>user\nAnd a local one? 日本語 😀<|im_end|>");
    expect(text.endsWith("done.<|im_end|>")).toBe(true);
  });

  it("raw documents: every token is a target, ended by EOS", () => {
    const s = tokenizeDocument("Hello Atelier", ours);
    expect(s.tokens).toEqual([...bpe.encode("Hello Atelier"), bpe.eos]);
    expect(s.mask.every((m) => m === 1)).toBe(true);
  });
});

describe("packing", () => {
  it("packStream: rows overlap by one token so every stream token after the first is a target exactly once", () => {
    const samples = [tokenizeDocument(CORPUS_TEXT[0]!, ours), tokenizeDocument(CORPUS_TEXT[1]!, ours)];
    const stream = samples.flatMap((s) => s.tokens);
    const seq = 8;
    const { rows, stats } = packStream(samples, seq, bpe.data.pad_id!);
    expect(rows.rowLen).toBe(9);
    expect(rows.nRows).toBe(Math.ceil((stream.length - 1) / seq));
    const targets: number[] = [];
    for (let r = 0; r < rows.nRows; r++) {
      expect(rows.mask[r * 9]).toBe(0);
      if (r > 0) expect(rows.tokens[r * 9]).toBe(rows.tokens[r * 9 - 1]); // overlap
      for (let j = 1; j < 9; j++) if (rows.mask[r * 9 + j]) targets.push(rows.tokens[r * 9 + j]!);
    }
    expect(targets).toEqual(stream.slice(1));
    expect(stats.targets).toBe(stream.length - 1);
    expect(stats.tokens).toBe(stream.length);
  });

  it("packSamples: whole samples per row, padding masked, position 0 never a target, long samples truncated", () => {
    const samples = RECORDS.flatMap((r) => tokenizeChat(r, ours));
    const lens = samples.map((s) => s.tokens.length);
    const seq = Math.max(...lens.slice(0, 2)) + 5;
    const { rows, stats } = packSamples(samples, seq, 7);
    const L = seq + 1;
    let targets = 0;
    for (let r = 0; r < rows.nRows; r++) {
      expect(rows.mask[r * L]).toBe(0);
      expect(rows.tokens[r * L]).toBe(bpe.bos); // every row starts with a sample (BOS)
      for (let j = 1; j < L; j++) {
        targets += rows.mask[r * L + j]!;
        if (rows.tokens[r * L + j] === 7) expect(rows.mask[r * L + j]).toBe(0);
      }
    }
    expect(stats.targets).toBe(targets);
    const longOnes = lens.filter((n) => n > L).length;
    expect(stats.truncated).toBe(longOnes);
    expect(stats.rows).toBe(rows.nRows);
    if (longOnes === 0) expect(targets).toBe(samples.reduce((n, s) => n + s.mask.reduce((a, b) => a + b, 0), 0));
  });
  it("repackings: each pass packs all samples over a different shuffle, so short samples also open rows", () => {
    const recs: ChatRecord[] = Array.from({ length: 40 }, (_, i) => ({
      messages: [{ role: "user", content: `question ${i}?` }, { role: "assistant", content: i % 4 === 0 ? "A long answer. ".repeat(6) : `short ${i}` }],
    }));
    const one = buildDataset({ tokenizer: ours, seqLen: 96, chats: recs, evalFraction: 0, seed: 1 });
    const four = buildDataset({ tokenizer: ours, seqLen: 96, chats: recs, evalFraction: 0, seed: 1, repackings: 4 });
    expect(four.stats.train.targets).toBe(4 * one.stats.train.targets);
    expect(four.train.nRows).toBeGreaterThanOrEqual(4 * one.train.nRows - 4);

    // which sample opens each row (is trained at position 0)
    const samples = recs.flatMap((r) => tokenizeChat(r, ours));
    const openers = (order: "shuffled-first-fit" | "first-fit-decreasing", seed: number) => {
      const { rows } = packSamples(samples, 96, bpe.eos, { order, seed });
      const out: string[] = [];
      for (let r = 0; r < rows.nRows; r++) out.push(bpe.decode(Array.from(rows.tokens.subarray(r * 97, r * 97 + 40))).match(/question \d+/)![0]);
      return out;
    };
    const shuffled = [0, 1, 2, 3].map((seed) => openers("shuffled-first-fit", seed));
    expect(new Set(shuffled.map((o) => [...o].sort().join())).size).toBeGreaterThan(1);
    const ffd = new Set(openers("first-fit-decreasing", 0));
    // FFD opens rows with the same few samples every time; shuffled packings spread that role
    expect(shuffled[0]!.some((q) => Number(q.split(" ")[1]) % 4 !== 0)).toBe(true);
    expect(new Set(shuffled.flat()).size).toBeGreaterThan(ffd.size);
  });
});

describe("ATDS files", () => {
  it("writes the documented little-endian layout and reads it back", () => {
    const ds = buildDataset({ tokenizer: ours, seqLen: 16, chats: RECORDS, documents: CORPUS_TEXT, evalFraction: 0, trainPath: path.join(dir, "t.atds") });
    const buf = readFileSync(path.join(dir, "t.atds"));
    expect(buf.toString("ascii", 0, 4)).toBe("ATDS");
    expect(buf.readUInt32LE(4)).toBe(1);
    expect(buf.readUInt32LE(8)).toBe(17);
    expect(buf.readUInt32LE(12)).toBe(ds.train.nRows);
    expect(statSync(path.join(dir, "t.atds")).size).toBe(16 + ds.train.nRows * 17 * 5);
    expect(buf.readInt32LE(16)).toBe(ds.train.tokens[0]);
    expect(buf[16 + ds.train.nRows * 17 * 4 + 1]).toBe(ds.train.mask[1]);
    const back = readAtds(path.join(dir, "t.atds"));
    expect(Array.from(back.tokens)).toEqual(Array.from(ds.train.tokens));
    expect(Array.from(back.mask)).toEqual(Array.from(ds.train.mask));
    expect(encodeAtds(back).equals(buf)).toBe(true);
  });
});

describe("held-out split", () => {
  const items = Array.from({ length: 400 }, (_, i) => `item ${i}`);
  it("is deterministic, seed-dependent and close to the fraction", () => {
    const a = splitHeldOut(items, { fraction: 0.1, seed: 1, key: (x) => x });
    const b = splitHeldOut(items, { fraction: 0.1, seed: 1, key: (x) => x });
    const c = splitHeldOut(items, { fraction: 0.1, seed: 2, key: (x) => x });
    expect(a).toEqual(b);
    expect(a.eval).not.toEqual(c.eval);
    expect(a.eval.length).toBeGreaterThan(20);
    expect(a.eval.length).toBeLessThan(60);
    expect(a.train.length + a.eval.length).toBe(400);
    expect(a.eval.every((x) => !a.train.includes(x))).toBe(true);
    // stable per item: adding items does not move existing ones
    const more = splitHeldOut([...items, "extra 1", "extra 2"], { fraction: 0.1, seed: 1, key: (x) => x });
    expect(more.eval.filter((x) => !x.startsWith("extra"))).toEqual(a.eval);
  });

  it("always holds out at least one unit and keeps groups together", () => {
    expect(splitHeldOut(["a", "b"], { fraction: 0.01, seed: 0, key: (x) => x }).eval).toHaveLength(1);
    const recs: ChatRecord[] = Array.from({ length: 60 }, (_, i) => ({
      group: `g${i % 6}`,
      messages: [{ role: "user", content: `q${i}` }, { role: "assistant", content: `a${i % 6}` }],
    }));
    const ds = buildDataset({ tokenizer: ours, seqLen: 64, chats: recs, evalFraction: 0.3, seed: 3 });
    expect(ds.stats.heldOutUnits % 10).toBe(0); // whole groups of 10
    expect(ds.stats.heldOutUnits).toBeGreaterThan(0);
  });
});

describe("errors", () => {
  it("reports too-small datasets with the numbers", () => {
    let err: unknown;
    try {
      buildDataset({ tokenizer: ours, seqLen: 1024, documents: [CORPUS_TEXT.join("\n\n")], evalFraction: 0, batch: 4 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ForgeError);
    expect((err as ForgeError).code).toBe("DATASET_TOO_SMALL");
    expect((err as ForgeError).message).toMatch(/^dataset has \d+ tokens \(1 row\) but one batch needs 4,100 \(batch 4 × seq 1,024\+1\)/);
    expect(() => assertBatchFits({ rows: 3, tokens: 812, targets: 800, truncated: 0, dropped: 0 }, { batch: 4, seqLen: 1024 })).toThrow(
      "dataset has 812 tokens (3 rows) but one batch needs 4,100 (batch 4 × seq 1,024+1)",
    );
    expect(() => buildDataset({ tokenizer: ours, seqLen: 64 })).toThrow(/empty/);
  });

  it("loads .jsonl chat records and names the bad line", () => {
    const good = path.join(dir, "good.jsonl");
    const bad = path.join(dir, "bad.jsonl");
    writeFileSync(good, '{"question":"q","answer":"a"}\n\n{"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"},{"role":"assistant","content":"x"}]}\n');
    writeFileSync(bad, '{"question":"q","answer":"a"}\n{oops\n');
    expect(loadCorpusFile(good).chats).toEqual([
      { messages: [{ role: "user", content: "q" }, { role: "assistant", content: "a" }] },
      { system: "s", messages: [{ role: "user", content: "u" }, { role: "assistant", content: "x" }] },
    ]);
    expect(() => loadCorpusFile(bad)).toThrow(/bad\.jsonl:2: invalid JSON/);
  });
});
