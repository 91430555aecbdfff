// The starter model: recipe/corpus invariants, the committed GGUF's integrity check, and that the
// default assistant (starter GGUF + STARTER_SYSTEM_PROMPT, served through LlamaChat) answers.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { getLlama, LlamaChat, LlamaLogLevel, type LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkStarter, StarterIntegrityError } from "@/server/forge/starter/ensure";
import {
  STARTER_PATHS,
  STARTER_SYSTEM_PROMPT,
  STARTER_TOKENIZER,
  loadStarterCorpus,
  starterRecords,
  starterTokenizerCorpus,
  type StarterMeta,
} from "@/server/forge/starter/recipe";
import { cleanSpaces, trainBpe } from "@/server/forge/tokenizer";
import { toChatHistory } from "@/server/llm/chat-history";
import { starterModelPath } from "../helpers/model";

describe("starter corpus and recipe", () => {
  it("is deterministic and covers the product", () => {
    const a = loadStarterCorpus();
    const b = loadStarterCorpus();
    expect(a.hash).toBe(b.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(a.topics.map((t) => t.id)).size).toBe(a.topics.length);
    const pairs = a.topics.reduce((n, t) => n + t.q.length, 0);
    expect(pairs).toBeGreaterThanOrEqual(300);
    for (const t of a.topics) {
      expect(t.q.length, t.id).toBeGreaterThanOrEqual(2);
      expect(t.a.length, t.id).toBeGreaterThan(10);
    }
    const answers = a.topics.map((t) => t.a).join("\n");
    // serving detokenizes with llama.cpp's clean_spaces: answers must survive it unchanged
    for (const t of a.topics) expect(new TextDecoder().decode(cleanSpaces(new TextEncoder().encode(t.a))), t.id).toBe(t.a);
    for (const needle of [
      '<script src="https://HOST/widget.js" data-assistant="PUBLIC_ID" async></script>',
      "hf:owner/repo/file.gguf",
      "npm install && npm start",
      "npm test",
      "ATELIER_DATA_DIR",
      "LoRA",
      "perplexity",
      "I don't know",
    ]) {
      expect(answers).toContain(needle);
    }
    const records = starterRecords(a);
    expect(records).toEqual(starterRecords(b));
    expect(records.train.filter((r) => r.system === STARTER_SYSTEM_PROMPT).length).toBeGreaterThan(records.train.length / 2);
    expect(records.train.some((r) => r.system === undefined)).toBe(true);
    // held out: only extra paraphrases; every topic's first two questions are trained
    expect(records.eval.length).toBeGreaterThan(10);
    const trainedQuestions = new Set(records.train.map((r) => r.messages[0]!.content));
    for (const t of a.topics) for (const q of t.q.slice(0, 2)) expect(trainedQuestions.has(q), q).toBe(true);
    for (const r of records.eval) expect(trainedQuestions.has(r.messages[0]!.content)).toBe(false);
    expect(STARTER_SYSTEM_PROMPT.startsWith("You are Atelier's guide")).toBe(true);
  });
});

describe("committed starter model", () => {
  let file: string;
  let meta: StarterMeta;
  let model: LlamaModel;
  let tmp: string;

  beforeAll(async () => {
    file = starterModelPath();
    meta = JSON.parse(readFileSync(STARTER_PATHS.meta(), "utf8")) as StarterMeta;
    tmp = mkdtempSync(path.join(os.tmpdir(), "forge-starter-"));
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
    model = await llama.loadModel({ modelPath: file });
  });
  afterAll(async () => {
    await model?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("matches its meta (sha256, size ≤ 16 MB) and the integrity check rejects damaged copies", () => {
    expect(checkStarter(file, STARTER_PATHS.meta()).meta?.gguf.sha256).toBe(meta.gguf.sha256);
    expect(statSync(file).size).toBe(meta.gguf.bytes);
    expect(meta.gguf.bytes).toBeLessThanOrEqual(16 * 2 ** 20);
    expect(meta.results.evalPpl).toBeGreaterThan(1);

    const bad = path.join(tmp, "bad.gguf");
    copyFileSync(file, bad);
    const buf = readFileSync(bad);
    buf[buf.length - 10] = buf[buf.length - 10]! ^ 0xff;
    writeFileSync(bad, buf);
    expect(() => checkStarter(bad, STARTER_PATHS.meta())).toThrow(StarterIntegrityError);
    writeFileSync(bad, "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1\n");
    expect(() => checkStarter(bad, STARTER_PATHS.meta())).toThrow(/Git LFS pointer/);
  });

  it("embeds the tokenizer the recipe trains (same ids as our BPE) and ChatML", () => {
    const bpe = trainBpe(starterTokenizerCorpus(loadStarterCorpus()), STARTER_TOKENIZER);
    expect(bpe.vocabSize).toBe(meta.tokenizer.vocabSize);
    for (const text of ["How do I add a model from Hugging Face?", "npm install && npm start", STARTER_SYSTEM_PROMPT, "héllo 😀\n\n  code()"]) {
      expect(model.tokenize(text)).toEqual(bpe.encode(text));
    }
    expect(model.fileInfo.metadata.tokenizer?.chat_template).toContain("<|im_start|>");
  });

  it("answers as the default assistant does in serving", async () => {
    const context = await model.createContext({ contextSize: 512, sequences: 1, threads: 1 });
    const chat = new LlamaChat({ contextSequence: context.getSequence() });
    expect(chat.chatWrapper.wrapperName).toBe("ChatML");
    const ask = async (q: string) =>
      (await chat.generateResponse(toChatHistory(STARTER_SYSTEM_PROMPT, [{ role: "user", content: q }]), { maxTokens: 120, temperature: 0 })).response;
    try {
      expect(await ask("What is Atelier?")).toMatch(/self-hosted/i);
      expect(await ask("Hello")).toMatch(/hello/i);
      expect(await ask("How do I run the tests?")).toContain("npm test");
      expect(await ask("What is the capital of France?")).toMatch(/don't know/i);
    } finally {
      chat.dispose();
      await context.dispose();
    }
  });
});
