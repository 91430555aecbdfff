import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  addDocument,
  createCollection,
  createHashingEmbedder,
  deleteCollection,
  deleteDocument,
  listChunks,
  listCollections,
  listDocuments,
  recoverInterruptedIndexing,
  reindexDocument,
  search,
  syncVectors,
  type Embedder,
  type IndexProgress,
} from "@/server/knowledge";
import { countVectors, loadVectorExtension } from "@/server/knowledge/vectors";
import { bytes, ftsMatch, ftsState, lighthouseGuide, tempDb } from "./helpers";

const GUIDE = lighthouseGuide(30);

let ctx: ReturnType<typeof tempDb>;
beforeEach(() => {
  ctx = tempDb();
});
afterEach(() => ctx.close());

describe("indexing", () => {
  it("adds a document: chunks stored, FTS in sync, progress reported", async () => {
    const col = createCollection(ctx.db, { name: "  Coastal   manuals ", description: "Keeping lights" });
    expect(col.name).toBe("Coastal manuals");
    const events: IndexProgress[] = [];
    const { document, warnings } = await addDocument(
      ctx.db,
      { collectionId: col.id, fileName: "uploads/lighthouse.md", bytes: bytes(GUIDE) },
      { chunking: { targetTokens: 120 }, onProgress: (p) => events.push(p) },
    );
    expect(warnings).toEqual([]);
    expect(document).toMatchObject({ title: "Lighthouse keeping", fileName: "lighthouse.md", mime: "text/markdown", status: "ready", error: null });
    expect(document.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(document.chunkCount).toBeGreaterThan(4);
    const chunks = listChunks(ctx.db, document.id);
    expect(chunks.map((c) => c.ordinal)).toEqual(chunks.map((_, i) => i));
    expect(chunks[0]!.heading).toBe("Lighthouse keeping > Lamps");
    expect(chunks.at(-1)!.heading).toBe("Lighthouse keeping > Fog signals");
    expect(ftsState(ctx.db)).toEqual({ chunks: document.chunkCount, fts: document.chunkCount });
    expect(ftsMatch(ctx.db, "chamois").length).toBeGreaterThan(0);
    expect(events.map((e) => e.phase)).toEqual(["parsing", "chunking", "storing", "storing", "done"]);
    expect(events.at(-1)).toMatchObject({ documentId: document.id, done: document.chunkCount, total: document.chunkCount });

    expect(listDocuments(ctx.db, col.id).map((d) => d.id)).toEqual([document.id]);
    expect(listDocuments(ctx.db, col.id)[0]).not.toHaveProperty("content");
    expect(listCollections(ctx.db)).toEqual([expect.objectContaining({ id: col.id, documentCount: 1, chunkCount: document.chunkCount })]);
  });

  it("refuses a parse error or a duplicate before writing anything", async () => {
    const col = createCollection(ctx.db, { name: "c" });
    await expect(addDocument(ctx.db, { collectionId: col.id, fileName: "empty.txt", bytes: new Uint8Array() })).rejects.toThrow(
      '"empty.txt": the file is empty (0 bytes).',
    );
    await expect(addDocument(ctx.db, { collectionId: col.id, fileName: "bad.jsonl", bytes: bytes('{"a":"b"}\n{oops}\n') })).rejects.toMatchObject({
      errorCode: "bad_request:knowledge",
      message: expect.stringMatching(/^"bad\.jsonl" line 2: invalid JSON/),
    });
    expect(listDocuments(ctx.db, col.id)).toEqual([]);
    await addDocument(ctx.db, { collectionId: col.id, fileName: "a.txt", bytes: bytes("same words") });
    await expect(addDocument(ctx.db, { collectionId: col.id, fileName: "b.txt", bytes: bytes("same words") })).rejects.toMatchObject({
      errorCode: "conflict:knowledge",
      message: '"b.txt" is already in this collection (as "a").',
    });
    await expect(addDocument(ctx.db, { collectionId: "nope", fileName: "x.txt", bytes: bytes("x") })).rejects.toMatchObject({ errorCode: "not_found:knowledge" });
  });

  it("a failure during embedding or storing leaves no chunk behind (one transaction), and reindex recovers", async () => {
    const col = createCollection(ctx.db, { name: "c" });
    const good = createHashingEmbedder(32);
    // Fails after the first batch has been embedded.
    let calls = 0;
    const flaky: Embedder = {
      id: good.id,
      dimensions: 32,
      embed: async (t) => {
        if (++calls > 1) throw new Error("GPU fell off the bus");
        return good.embed(t);
      },
    };
    await expect(
      addDocument(ctx.db, { collectionId: col.id, fileName: "g.md", bytes: bytes(GUIDE) }, { embedder: flaky, chunking: { targetTokens: 60 }, embedBatchSize: 2 }),
    ).rejects.toThrow('Indexing "g.md" failed: GPU fell off the bus');
    const [doc] = listDocuments(ctx.db, col.id);
    expect(doc).toMatchObject({ status: "error", error: "GPU fell off the bus", chunkCount: 0 });
    expect(ftsState(ctx.db)).toEqual({ chunks: 0, fts: 0 });
    expect(countVectors(ctx.db.$client)).toBe(0);

    // Wrong vector size: detected while writing, inside the transaction → everything rolled back.
    const wrong: Embedder = { id: good.id, dimensions: 32, embed: async (t) => t.map(() => new Float32Array(8)) };
    await expect(reindexDocument(ctx.db, doc!.id, { embedder: wrong })).rejects.toThrow(/8 dimensions, expected 32/);
    expect(ftsState(ctx.db)).toEqual({ chunks: 0, fts: 0 });
    expect(countVectors(ctx.db.$client)).toBe(0);

    const { document } = await reindexDocument(ctx.db, doc!.id, { embedder: good, chunking: { targetTokens: 60 } });
    expect(document).toMatchObject({ status: "ready", error: null });
    expect(ftsState(ctx.db).chunks).toBe(document.chunkCount);
    expect(countVectors(ctx.db.$client)).toBe(document.chunkCount);
  });

  it("reindex replaces chunks, FTS rows and vectors; delete removes them all", async () => {
    const embedder = createHashingEmbedder(64);
    const col = createCollection(ctx.db, { name: "c" });
    const other = await addDocument(ctx.db, { collectionId: col.id, fileName: "other.txt", bytes: bytes("Unrelated notes about sourdough bread.") }, { embedder });
    const { document } = await addDocument(ctx.db, { collectionId: col.id, fileName: "g.md", bytes: bytes(GUIDE) }, { embedder, chunking: { targetTokens: 200 } });
    const before = listChunks(ctx.db, document.id).map((c) => c.id);
    expect(countVectors(ctx.db.$client)).toBe(document.chunkCount + 1);

    const { document: re } = await reindexDocument(ctx.db, document.id, { embedder, chunking: { targetTokens: 50 } });
    const after = listChunks(ctx.db, document.id).map((c) => c.id);
    expect(re.chunkCount).toBe(after.length);
    expect(after.length).toBeGreaterThan(before.length);
    expect(after.some((id) => before.includes(id))).toBe(false); // ids are never reused
    expect(ftsState(ctx.db)).toEqual({ chunks: after.length + 1, fts: after.length + 1 });
    const hornHits = ftsMatch(ctx.db, "horn");
    expect(hornHits.every((id) => after.includes(id))).toBe(true);
    expect(countVectors(ctx.db.$client)).toBe(after.length + 1);

    await deleteDocument(ctx.db, document.id);
    expect(ftsState(ctx.db)).toEqual({ chunks: 1, fts: 1 });
    expect(ftsMatch(ctx.db, "horn")).toEqual([]);
    expect(countVectors(ctx.db.$client)).toBe(1);
    const res = await search(ctx.db, "fog horn lamp wick", { embedder });
    expect(res.mode).toBe("hybrid");
    expect(res.hits.every((h) => h.documentId === other.document.id)).toBe(true);
    await expect(deleteDocument(ctx.db, document.id)).rejects.toMatchObject({ errorCode: "not_found:knowledge" });

    await deleteCollection(ctx.db, col.id);
    expect(ftsState(ctx.db)).toEqual({ chunks: 0, fts: 0 });
    expect(countVectors(ctx.db.$client)).toBe(0);
    expect(listCollections(ctx.db)).toEqual([]);
  });

  it("vectors survive a connection without sqlite-vec; syncVectors repairs and switches embedders", async () => {
    const col = createCollection(ctx.db, { name: "c" });
    const e1 = createHashingEmbedder(16, "hash-a");
    const a = await addDocument(ctx.db, { collectionId: col.id, fileName: "a.txt", bytes: bytes("Alpha document about kites.") }, { embedder: e1 });
    await addDocument(ctx.db, { collectionId: col.id, fileName: "b.txt", bytes: bytes("Beta document about boats.") }, { embedder: e1 });
    expect(countVectors(ctx.db.$client)).toBe(2);

    // Another connection, no extension loaded: deleting chunks must not fail.
    const Database = (await import("better-sqlite3")).default;
    const plain = new Database(ctx.file);
    plain.pragma("foreign_keys = ON");
    plain.prepare("DELETE FROM knowledge_documents WHERE id = ?").run(a.document.id);
    plain.close();
    expect(countVectors(ctx.db.$client)).toBe(2); // stray vector left behind...
    const r = await search(ctx.db, "kites", { embedder: e1, mode: "vector" });
    expect(r.mode).toBe("vector");
    expect(r.hits.map((h) => h.title)).toEqual(["b"]); // ...but never returned

    const s1 = await syncVectors(ctx.db, e1);
    expect(s1).toEqual({ embedded: 0, pruned: 1, rebuilt: false });
    expect(countVectors(ctx.db.$client)).toBe(1);

    const e2 = createHashingEmbedder(24, "hash-b");
    expect((await search(ctx.db, "boats", { embedder: e2 })).vector).toBe("stale");
    const s2 = await syncVectors(ctx.db, e2);
    expect(s2).toEqual({ embedded: 1, pruned: 0, rebuilt: true });
    expect((await search(ctx.db, "boats", { embedder: e2 })).vector).toBe("used");
  });

  it("marks documents interrupted mid-indexing as failed", async () => {
    const col = createCollection(ctx.db, { name: "c" });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: Embedder = { id: "slow", dimensions: 4, embed: async (t) => (await gate, t.map(() => new Float32Array([1, 0, 0, 0]))) };
    const pending = addDocument(ctx.db, { collectionId: col.id, fileName: "s.txt", bytes: bytes("slow text") }, { embedder: slow });
    await new Promise((r) => setTimeout(r, 20));
    expect(listDocuments(ctx.db, col.id)[0]!.status).toBe("indexing");
    expect(recoverInterruptedIndexing(ctx.db)).toBe(1);
    expect(listDocuments(ctx.db, col.id)[0]).toMatchObject({ status: "error", error: expect.stringMatching(/interrupted/) });
    release();
    await pending; // finishing afterwards still lands cleanly
    expect(listDocuments(ctx.db, col.id)[0]!.status).toBe("ready");
  });

  it("cancelling an import removes it", async () => {
    const col = createCollection(ctx.db, { name: "c" });
    const ac = new AbortController();
    const embedder: Embedder = {
      id: "e",
      dimensions: 4,
      embed: async (t) => {
        ac.abort();
        return t.map(() => new Float32Array([0, 1, 0, 0]));
      },
    };
    await expect(
      addDocument(ctx.db, { collectionId: col.id, fileName: "g.md", bytes: bytes(GUIDE) }, { embedder, signal: ac.signal, chunking: { targetTokens: 40 }, embedBatchSize: 1 }),
    ).rejects.toThrow("Indexing was cancelled.");
    expect(listDocuments(ctx.db, col.id)).toEqual([]);
    expect(ftsState(ctx.db)).toEqual({ chunks: 0, fts: 0 });
  });

  it("loads sqlite-vec", async () => {
    expect(await loadVectorExtension(ctx.db.$client)).toBe(true);
  });
});
