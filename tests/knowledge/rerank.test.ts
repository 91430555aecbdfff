import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_RETRIEVAL as UI_DEFAULT_RETRIEVAL, RETRIEVAL_LIMITS as UI_LIMITS } from "@/app/(console)/assistants/_lib/draft";
import { resetEnvForTests } from "@/server/env";
import { trainBpe } from "@/server/forge/tokenizer";
import { addDocument, createCollection, DEFAULT_RETRIEVAL, RETRIEVAL_LIMITS, rerankerStatus, retrieveFromCollections, search } from "@/server/knowledge";
import { writeRerankerGguf } from "../helpers/reranker-gguf";
import { bytes, tempDb } from "./helpers";

/*
 * Retrieval settings per assistant (passages, minimum score) and the optional reranker, through
 * node-llama-cpp's ranking API on a real GGUF. No reranker can be downloaded here, so the test
 * crafts one offline (tests/helpers/reranker-gguf.ts: llama.cpp's Qwen3 reranker layout with small
 * random weights). Its scores are genuine model outputs but carry no meaning, so this checks the
 * wiring — candidates scored by the model, reordered by those scores, cut at the minimum score —
 * and the "off" paths, not ranking quality.
 */

const PAGES: [string, string][] = [
  ["gate.md", "# Harbour gate\n\nThe harbour gate opens two hours before high water and closes at dusk."],
  ["ferry.md", "# Ferries\n\nThe island ferry leaves the harbour every hour from pier four."],
  ["fuel.md", "# Fuel\n\nThe harbour fuel dock sells diesel only; pay at the harbour office."],
  ["tides.md", "# Tides\n\nSpring tides rise higher in the harbour than neap tides."],
  ["moor.md", "# Moorings\n\nVisitors moor on pontoon C in the inner harbour."],
];
const QUESTION = "When does the harbour gate open?";

let ctx: ReturnType<typeof tempDb>;
let collectionId = "";
let rerankerPath = "";
const savedEnv = process.env.ATELIER_RERANKER_MODEL;

function useReranker(file: string | undefined) {
  if (file === undefined) delete process.env.ATELIER_RERANKER_MODEL;
  else process.env.ATELIER_RERANKER_MODEL = file;
  resetEnvForTests();
}

beforeAll(async () => {
  ctx = tempDb();
  collectionId = createCollection(ctx.db, { name: "Harbour" }).id;
  for (const [fileName, text] of PAGES) await addDocument(ctx.db, { collectionId, fileName, bytes: bytes(text) });
  const bpe = trainBpe([...PAGES.map((p) => p[1]), QUESTION], { vocabSize: 300 });
  rerankerPath = path.join(ctx.dir, "tiny-reranker.gguf");
  writeRerankerGguf(rerankerPath, bpe.data, { seed: 11 });
});
afterAll(() => {
  useReranker(savedEnv);
  ctx.close();
});

describe("retrieval settings", () => {
  it("the editor's defaults and bounds are the server's", () => {
    expect(UI_DEFAULT_RETRIEVAL).toEqual(DEFAULT_RETRIEVAL);
    expect(UI_LIMITS).toEqual(RETRIEVAL_LIMITS);
  });

  it("passages caps the sources; the minimum score drops weak keyword matches", async () => {
    useReranker(undefined);
    const all = await retrieveFromCollections(ctx.db, [collectionId], QUESTION, 2000);
    expect(all.citations.length).toBe(5); // every page says "harbour"
    const two = await retrieveFromCollections(ctx.db, [collectionId], QUESTION, 2000, { passages: 2, minScore: 0, rerank: false });
    expect(two.citations.map((c) => c.chunkId)).toEqual(all.citations.slice(0, 2).map((c) => c.chunkId));
    // by hand from the BM25 scores: keep those at least 60% as good as the best match
    const hits = (await search(ctx.db, QUESTION, { collectionIds: [collectionId], limit: 8 })).hits;
    const strong = hits.filter((h) => (h.bm25Relative ?? 0) >= 0.6).map((h) => h.chunkId);
    expect(strong.length).toBeGreaterThan(0);
    expect(strong.length).toBeLessThan(hits.length);
    const strict = await retrieveFromCollections(ctx.db, [collectionId], QUESTION, 2000, { passages: 8, minScore: 0.6, rerank: false });
    expect(strict.citations.map((c) => c.chunkId)).toEqual(strong);
    expect(strict.citations[0]!.documentTitle).toBe("Harbour gate");
  });
});

describe("the reranker", () => {
  it("is off when none is configured: rerank on keeps the search order and nothing fails", async () => {
    useReranker(undefined);
    expect(await rerankerStatus()).toEqual({ configured: false, model: null, error: null });
    const plain = await retrieveFromCollections(ctx.db, [collectionId], QUESTION, 2000, { passages: 5, minScore: 0, rerank: false });
    const asked = await retrieveFromCollections(ctx.db, [collectionId], QUESTION, 2000, { passages: 5, minScore: 0, rerank: true });
    expect(asked.citations.map((c) => c.chunkId)).toEqual(plain.citations.map((c) => c.chunkId));
  });

  it("a model without a ranking head is refused with the reason; retrieval falls back to the search order", async () => {
    useReranker(path.resolve("models/starter/atelier-starter.gguf"));
    const status = await rerankerStatus();
    expect(status.configured).toBe(true);
    expect(status.error).toMatch(/cannot rank passages: it has no ranking \(classifier\) head/);
    const r = await retrieveFromCollections(ctx.db, [collectionId], QUESTION, 2000, { passages: 3, minScore: 0, rerank: true });
    expect(r.citations.length).toBe(3);
    useReranker(path.join(os.tmpdir(), "no-such-reranker.gguf"));
    expect((await rerankerStatus()).error).toMatch(/does not exist/);
  });

  it("orders candidates by the model's relevance scores and cuts at the minimum score", async () => {
    useReranker(rerankerPath);
    expect(await rerankerStatus()).toEqual({ configured: true, model: "tiny-reranker.gguf", error: null });
    // The scores, asked of the model directly (a separate ranking context on the same file).
    const { llamaInstance } = await import("@/server/llm/llama");
    const llama = await llamaInstance();
    const model = await llama.loadModel({ modelPath: rerankerPath });
    const direct = await model.createRankingContext({ contextSize: 512 });
    const candidates = (await search(ctx.db, QUESTION, { collectionIds: [collectionId], limit: 15 })).hits;
    const scores = await direct.rankAll(QUESTION, candidates.map((h) => h.text));
    await direct.dispose();
    await model.dispose();
    expect(new Set(scores.map((s) => s.toFixed(6))).size).toBeGreaterThan(1); // the model tells them apart
    const byScore = candidates.map((h, i) => ({ id: h.chunkId, s: scores[i]! })).sort((a, b) => b.s - a.s);

    const r = await retrieveFromCollections(ctx.db, [collectionId], QUESTION, 2000, { passages: 3, minScore: 0, rerank: true });
    expect(r.citations.map((c) => c.chunkId)).toEqual(byScore.slice(0, 3).map((x) => x.id));

    const cut = (byScore[1]!.s + byScore[2]!.s) / 2; // between the 2nd and 3rd scores
    const strict = await retrieveFromCollections(ctx.db, [collectionId], QUESTION, 2000, { passages: 5, minScore: cut, rerank: true });
    expect(strict.citations.map((c) => c.chunkId)).toEqual(byScore.slice(0, 2).map((x) => x.id));
  }, 120_000);
});

afterAll(() => {
  if (rerankerPath) fs.rmSync(rerankerPath, { force: true });
});
