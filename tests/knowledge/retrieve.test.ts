import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assistantCollections, assistants } from "@/server/db/schema";
import { addDocument, createCollection, estimateTokens } from "@/server/knowledge";
import { retrieveForAssistant } from "@/server/knowledge/retrieve";
import { CORPUS, QUESTIONS } from "./corpus";
import { bytes, tempDb } from "./helpers";

/*
 * The chat's retrieval (retrieveForAssistant) on the fixed corpus: an assistant linked to the
 * corpus collection gets the answering document among its first 5 citations, and never a
 * passage from a collection it is not linked to.
 */

let ctx: ReturnType<typeof tempDb>;
const keyByDocId = new Map<string, string>();
let decoyId = "";

const sampling = { temperature: 0.3, topP: 0.9, topK: 40, repeatPenalty: 1.1, maxTokens: 64 };

beforeAll(async () => {
  ctx = tempDb();
  const corpus = createCollection(ctx.db, { name: "Corpus" }).id;
  const other = createCollection(ctx.db, { name: "Other" }).id;
  for (const doc of CORPUS) {
    const { document } = await addDocument(ctx.db, { collectionId: corpus, fileName: doc.fileName, bytes: bytes(doc.content) });
    keyByDocId.set(document.id, doc.key);
  }
  decoyId = (await addDocument(ctx.db, { collectionId: other, fileName: "decoy.md", bytes: bytes("# Espresso decoy\n\nGrind espresso finer when the shot runs fast; decoy edition.") }))
    .document.id;
  ctx.db.insert(assistants).values([
    { id: "linked", name: "Linked", sampling },
    { id: "unlinked", name: "Unlinked", sampling },
  ]).run();
  ctx.db.insert(assistantCollections).values({ assistantId: "linked", collectionId: corpus }).run();
});
afterAll(() => ctx.close());

describe("retrieveForAssistant on the fixed corpus", () => {
  it("recall@5 of the citations >= 0.9, only from the assistant's collections, within budget", async () => {
    const misses: string[] = [];
    for (const q of QUESTIONS) {
      const r = await retrieveForAssistant(ctx.db, "linked", q.question, 2000);
      expect(r.citations.map((c) => c.n)).toEqual(r.citations.map((_, i) => i + 1));
      expect(r.citations.some((c) => c.documentId === decoyId)).toBe(false);
      const keys = [...new Set(r.citations.map((c) => keyByDocId.get(c.documentId)))].slice(0, 5);
      if (!keys.includes(q.answer)) misses.push(`${q.question} → ${keys.join(", ")}`);
    }
    expect(1 - misses.length / QUESTIONS.length, misses.join("\n")).toBeGreaterThanOrEqual(0.9);
  });

  it("a small budget keeps fewer passages; no collections, no sources", async () => {
    const q = QUESTIONS[0]!.question;
    const big = await retrieveForAssistant(ctx.db, "linked", q, 2000);
    const small = await retrieveForAssistant(ctx.db, "linked", q, 120);
    expect(small.citations.length).toBeGreaterThanOrEqual(1);
    expect(small.citations.length).toBeLessThan(big.citations.length);
    expect(estimateTokens(small.contextText)).toBeLessThanOrEqual(120);
    expect(await retrieveForAssistant(ctx.db, "unlinked", q)).toEqual({ contextText: "", citations: [], mode: "none" });
  });
});
