import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addDocument,
  buildContext,
  buildFtsQuery,
  createCollection,
  createHashingEmbedder,
  reciprocalRankFusion,
  search,
  searchBm25,
  type SearchHit,
} from "@/server/knowledge";
import { CORPUS, QUESTIONS } from "./corpus";
import { bytes, tempDb } from "./helpers";

const HOSTILE = [
  "C++",
  "c++ templates",
  '"unbalanced quote',
  'he said "hi"',
  "AND",
  "OR OR OR",
  "NOT",
  "sourdough AND",
  "NEAR(starter feed, 2)",
  "NEAR/3",
  "a NOT b",
  "*",
  "feed*",
  "^start",
  "text:sourdough",
  "heading: foo",
  "{text heading}: lamp",
  "(((",
  ")",
  "'",
  "-",
  "--",
  "+",
  ":",
  "'; DROP TABLE knowledge_chunks; --",
  "\u0000",
  "🍕🍕 pizza",
  "日本語のテキスト",
  "Ωμέγα καφές",
  "rank",
  "bm25(knowledge_chunks_fts)",
  "x".repeat(5000),
  Array.from({ length: 500 }, (_, i) => `word${i}`).join(" "),
  "",
  "   ",
  "\n\t",
];

let ctx: ReturnType<typeof tempDb>;
let collectionId: string;
let otherCollectionId: string;
const docIdByKey = new Map<string, string>();
const keyByDocId = new Map<string, string>();
const embedder = createHashingEmbedder(256);

beforeAll(async () => {
  ctx = tempDb();
  collectionId = createCollection(ctx.db, { name: "Corpus" }).id;
  otherCollectionId = createCollection(ctx.db, { name: "Other" }).id;
  for (const doc of CORPUS) {
    const { document } = await addDocument(ctx.db, { collectionId, fileName: doc.fileName, bytes: bytes(doc.content) }, { embedder });
    docIdByKey.set(doc.key, document.id);
    keyByDocId.set(document.id, doc.key);
  }
  await addDocument(
    ctx.db,
    { collectionId: otherCollectionId, fileName: "decoy.md", bytes: bytes("# Sourdough decoy\n\nFeed the sourdough starter in the fridge weekly, decoy edition.") },
    { embedder },
  );
});
afterAll(() => ctx.close());

function recallAt5(rank: (q: string) => Promise<SearchHit[]>): Promise<{ recall: number; misses: string[] }> {
  return (async () => {
    const misses: string[] = [];
    for (const q of QUESTIONS) {
      const hits = await rank(q.question);
      const keys = [...new Set(hits.map((h) => keyByDocId.get(h.documentId)))].slice(0, 5);
      if (!keys.includes(q.answer)) misses.push(`${q.question} → ${keys.join(", ")}`);
    }
    return { recall: 1 - misses.length / QUESTIONS.length, misses };
  })();
}

describe("retrieval quality on a fixed corpus", () => {
  it("has the corpus the questions expect", () => {
    expect(CORPUS.length).toBe(30);
    expect(QUESTIONS.length).toBeGreaterThanOrEqual(20);
    for (const q of QUESTIONS) expect(docIdByKey.has(q.answer)).toBe(true);
  });

  it("BM25 recall@5 >= 0.9", async () => {
    const r = await recallAt5(async (q) => (await search(ctx.db, q, { collectionIds: [collectionId], limit: 5, mode: "bm25" })).hits);
    expect(r.misses).toEqual([]);
    expect(r.recall).toBeGreaterThanOrEqual(0.9);
  });

  it("hybrid (BM25 + hashing vectors, RRF) recall@5 >= 0.9", async () => {
    const r = await recallAt5(async (q) => {
      const res = await search(ctx.db, q, { collectionIds: [collectionId], limit: 5, embedder });
      expect(res.mode).toBe("hybrid");
      expect(res.vector).toBe("used");
      return res.hits;
    });
    console.info(`hybrid recall@5 = ${r.recall.toFixed(3)}`, r.misses);
    expect(r.recall).toBeGreaterThanOrEqual(0.9);
  });

  it("vector-only search finds the answer too (hashing embedder, informative)", async () => {
    const r = await recallAt5(async (q) => (await search(ctx.db, q, { collectionIds: [collectionId], limit: 5, embedder, mode: "vector" })).hits);
    console.info(`vector-only recall@5 = ${r.recall.toFixed(3)}`, r.misses);
    expect(r.recall).toBeGreaterThanOrEqual(0.8);
  });

  it("collections scope the search", async () => {
    const q = "feed sourdough starter fridge";
    const all = await search(ctx.db, q, { limit: 10, embedder });
    expect(new Set(all.hits.map((h) => h.collectionId))).toEqual(new Set([collectionId, otherCollectionId]));
    const only = await search(ctx.db, q, { collectionIds: [otherCollectionId], limit: 10, embedder });
    expect(only.hits.length).toBeGreaterThan(0);
    expect(only.hits.every((h) => h.collectionId === otherCollectionId)).toBe(true);
    expect((await search(ctx.db, q, { collectionIds: [], embedder })).hits).toEqual([]);
  });
});

describe("hostile queries never throw", () => {
  it("buildFtsQuery quotes every term and drops FTS syntax", () => {
    expect(buildFtsQuery("C++")).toBe('"c"');
    expect(buildFtsQuery('NEAR(a b) AND "x" OR y*')).toBe('"near" OR "b" OR "x" OR "y"'); // "a" is a stopword
    expect(buildFtsQuery("what is the")).toBe('"what" OR "is" OR "the"'); // only stopwords: keep them
    expect(buildFtsQuery("how do I feed the starter")).toBe('"feed" OR "starter"');
    expect(buildFtsQuery("!!! ??? ...")).toBeNull();
    expect(buildFtsQuery(Array.from({ length: 100 }, (_, i) => `w${i}`).join(" "))!.split(" OR ")).toHaveLength(24);
  });

  it.each(HOSTILE.map((q) => [q.length > 40 ? `${q.slice(0, 40)}…` : q, q]))("%j", async (_label, q) => {
    expect(() => searchBm25(ctx.db, q)).not.toThrow();
    expect(Array.isArray(searchBm25(ctx.db, q, { collectionIds: [collectionId] }))).toBe(true);
    const res = await search(ctx.db, q, { embedder, collectionIds: [collectionId, otherCollectionId] });
    expect(Array.isArray(res.hits)).toBe(true);
  });

  it("quoted syntax still finds the words", async () => {
    const res = await search(ctx.db, 'pizza AND "dough" NEAR(hydration)', { limit: 3, mode: "bm25" });
    expect(keyByDocId.get(res.hits[0]!.documentId)).toBe("pizza");
  });
});

describe("fusion and context", () => {
  it("reciprocal-rank fusion with k=60", () => {
    const fused = reciprocalRankFusion([
      [{ chunkId: 1 }, { chunkId: 2 }, { chunkId: 3 }],
      [{ chunkId: 3 }, { chunkId: 4 }, { chunkId: 1 }, { chunkId: 3 }],
    ]);
    expect(fused.map((f) => f.chunkId)).toEqual([1, 3, 2, 4]);
    expect(fused[0]).toEqual({ chunkId: 1, score: 1 / 61 + 1 / 63, ranks: [1, 3] });
    expect(fused[1]).toEqual({ chunkId: 3, score: 1 / 63 + 1 / 61, ranks: [3, 1] }); // tie: same best rank → lower id first
    expect(fused[3]).toEqual({ chunkId: 4, score: 1 / 62, ranks: [null, 2] });
    expect(reciprocalRankFusion([[], []])).toEqual([]);
  });

  it("buildContext numbers passages, maps citations and respects the budget", async () => {
    const { hits } = await search(ctx.db, "How do I return a widget for a refund?", { limit: 6, embedder });
    expect(hits.length).toBeGreaterThan(2);
    const big = buildContext(hits, 10_000);
    expect(big.citations.map((c) => c.n)).toEqual(hits.map((_, i) => i + 1));
    expect(big.citations[0]).toEqual({
      n: 1,
      documentId: hits[0]!.documentId,
      title: hits[0]!.title,
      chunkId: hits[0]!.chunkId,
      ordinal: hits[0]!.ordinal,
      heading: hits[0]!.heading,
      snippet: expect.any(String),
    });
    expect(big.text.startsWith("Sources (cite as [n]):\n\n[1] ")).toBe(true);
    for (const c of big.citations) expect(big.text).toContain(`[${c.n}] ${c.title}`);
    expect(big.citations[0]!.snippet.length).toBeLessThanOrEqual(241);

    const small = buildContext(hits, 80);
    expect(small.tokenEstimate).toBeLessThanOrEqual(80);
    expect(small.citations.length).toBeGreaterThanOrEqual(1);
    expect(small.citations.length).toBeLessThan(big.citations.length);

    // The first passage alone is over budget: trimmed at a word, still cited.
    const long = { ...hits[0]!, text: "lorem ipsum ".repeat(400).trim() };
    const trimmed = buildContext([long], 60);
    expect(trimmed.citations).toHaveLength(1);
    expect(trimmed.tokenEstimate).toBeLessThanOrEqual(60);
    expect(trimmed.text.endsWith("…")).toBe(true);

    expect(buildContext([], 100)).toEqual({ text: "", citations: [], tokenEstimate: 0 });
    expect(buildContext([hits[0]!, hits[0]!], 10_000).citations).toHaveLength(1);
  });
});
