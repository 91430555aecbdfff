import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assistantCollections } from "@/server/db/schema";
import { countVectors } from "@/server/knowledge/vectors";
import { collect, freshApp } from "../helpers/app";
import { lighthouseGuide } from "../knowledge/helpers";
import { starterModelPath } from "../helpers/model";

/*
 * The knowledge router through the tRPC caller, with the starter GGUF as the configured
 * embedding model (ATELIER_EMBEDDING_MODEL), so uploads write vectors and search is hybrid.
 */

let app: Awaited<ReturnType<typeof freshApp>>;
const b64 = (s: string | Uint8Array) => Buffer.from(s).toString("base64");

const GUIDE = lighthouseGuide(12);

function counts() {
  const sqlite = app.db.$client;
  const one = (q: string) => sqlite.prepare(q).pluck().get() as number;
  return {
    documents: one("SELECT count(*) FROM knowledge_documents"),
    chunks: one("SELECT count(*) FROM knowledge_chunks"),
    fts: one("SELECT count(*) FROM knowledge_chunks_fts_docsize"),
  };
}

async function upload(collectionId: string, fileName: string, content: string | Uint8Array, chunking?: { targetTokens?: number }) {
  return collect(await app.caller().knowledge.upload({ collectionId, fileName, data: b64(content), chunking }));
}

async function expectError(p: Promise<unknown> | (() => Promise<unknown>), code: TRPCError["code"], message?: RegExp) {
  const err = await (typeof p === "function" ? p() : p).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TRPCError);
  expect((err as TRPCError).code).toBe(code);
  if (message) expect((err as TRPCError).message).toMatch(message);
}

beforeAll(async () => {
  app = await freshApp({ ATELIER_EMBEDDING_MODEL: starterModelPath(), ATELIER_KNOWLEDGE_MAX_FILE_MB: "1" });
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe("knowledge router: access", () => {
  it("viewers read, editors write, anonymous callers are refused", async () => {
    const anon = await app.callerAs(null);
    await expectError(anon.knowledge.collections(), "UNAUTHORIZED");
    const viewer = await app.callerAs("viewer");
    expect(await viewer.knowledge.collections()).toEqual([]);
    await expectError(viewer.knowledge.createCollection({ name: "Nope" }), "FORBIDDEN", /editor/);
    const editor = await app.callerAs("editor");
    const col = await editor.knowledge.createCollection({ name: "  Handbook  " });
    expect(col.name).toBe("Handbook");
    await expectError(viewer.knowledge.updateCollection({ id: col.id, name: "x" }), "FORBIDDEN");
    await expectError(viewer.knowledge.deleteCollection({ id: col.id }), "FORBIDDEN");
    await expectError(async () => collect(await viewer.knowledge.upload({ collectionId: col.id, fileName: "a.txt", data: b64("hello") })), "FORBIDDEN");
    await expectError(viewer.knowledge.deleteDocument({ id: "x" }), "FORBIDDEN");
    expect((await editor.knowledge.updateCollection({ id: col.id, name: "Handbook 2" })).name).toBe("Handbook 2");
    await expectError(editor.knowledge.updateCollection({ id: col.id, name: "   " }), "BAD_REQUEST", /needs a name/);
    expect((await viewer.knowledge.collections()).map((c) => c.name)).toEqual(["Handbook 2"]);
    // Deleting a collection unlinks it from the assistants that used it.
    const [assistant] = await app.caller().assistants.list();
    app.db.insert(assistantCollections).values({ assistantId: assistant!.id, collectionId: col.id }).run();
    await editor.knowledge.deleteCollection({ id: col.id });
    expect(await viewer.knowledge.collections()).toEqual([]);
    expect(app.db.select().from(assistantCollections).all()).toEqual([]);
    await expectError(editor.knowledge.deleteCollection({ id: col.id }), "NOT_FOUND");
  });
});

describe("knowledge router: documents", () => {
  it("previews chunks without storing anything", async () => {
    const col = await app.caller().knowledge.createCollection({ name: "Preview" });
    const before = counts();
    const p = await app.caller().knowledge.preview({ fileName: "guide.md", data: b64(GUIDE), chunking: { targetTokens: 60, overlap: 0.1 }, show: 3 });
    expect(p.title).toBe("Lighthouse keeping");
    expect(p.format).toBe("markdown");
    expect(p.chunkCount).toBeGreaterThan(3);
    expect(p.chunks).toHaveLength(3);
    for (const c of p.chunks) expect(c.tokenEstimate).toBeGreaterThan(0);
    expect(counts()).toEqual(before);
    await app.caller().knowledge.deleteCollection({ id: col.id });
  });

  it("uploads with streamed progress, writes chunks and vectors, searches hybrid; delete removes chunks and vectors", async () => {
    const col = await app.caller().knowledge.createCollection({ name: "Lighthouse" });
    const events = await upload(col.id, "guide.md", GUIDE, { targetTokens: 60 });
    const phases = events.flatMap((e) => (e.type === "progress" ? [e.progress.phase] : []));
    for (const phase of ["parsing", "chunking", "embedding", "storing", "done"]) expect(phases).toContain(phase);
    const done = events.at(-1);
    if (done?.type !== "done") throw new Error("no done event");
    const doc = done.result.document;
    expect(doc.status).toBe("ready");
    expect(doc.chunkCount).toBeGreaterThan(1);
    expect(await app.caller().knowledge.documents({ collectionId: col.id })).toMatchObject([{ id: doc.id, title: "Lighthouse keeping" }]);
    expect(counts().chunks).toBe(doc.chunkCount);
    expect(countVectors(app.db.$client)).toBe(doc.chunkCount);

    const view = await app.caller().knowledge.document({ id: doc.id });
    expect(view.text).toContain("horn pattern 3");
    expect(view.chunks).toHaveLength(doc.chunkCount);
    expect(view.text.slice(view.chunks[0]!.startOffset, view.chunks[0]!.endOffset)).toContain("lamp wick");

    const found = await app.caller().knowledge.search({ query: "fog horn", collectionIds: [col.id] });
    expect(found.mode).toBe("hybrid");
    expect(found.hits[0]?.text).toContain("horn");

    // Reindex with smaller chunks: more chunks, vectors follow.
    const re = await collect(await app.caller().knowledge.reindexDocument({ id: doc.id, chunking: { targetTokens: 40 } }));
    expect(re.at(-1)?.type).toBe("done");
    const after = (await app.caller().knowledge.documents({ collectionId: col.id }))[0]!;
    expect(after.chunkCount).toBeGreaterThan(doc.chunkCount);
    expect(countVectors(app.db.$client)).toBe(after.chunkCount);

    await app.caller().knowledge.deleteDocument({ id: doc.id });
    expect(counts()).toEqual({ documents: 0, chunks: 0, fts: 0 });
    expect(countVectors(app.db.$client)).toBe(0);
    expect((await app.caller().knowledge.search({ query: "fog horn" })).hits).toEqual([]);
    await expectError(app.caller().knowledge.document({ id: doc.id }), "NOT_FOUND");
    await app.caller().knowledge.deleteCollection({ id: col.id });
  });

  it("indexing goes on in the background when the client stops listening", async () => {
    const col = await app.caller().knowledge.createCollection({ name: "Background" });
    const stream = await app.caller().knowledge.upload({ collectionId: col.id, fileName: "guide.md", data: b64(GUIDE), chunking: { targetTokens: 30 } });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ type: "progress", progress: { phase: "parsing" } });
    await it.return?.(undefined); // the browser navigated away
    await expect
      .poll(async () => (await app.caller().knowledge.documents({ collectionId: col.id }))[0]?.status, { timeout: 30_000 })
      .toBe("ready");
    expect((await app.caller().knowledge.documents({ collectionId: col.id }))[0]!.chunkCount).toBeGreaterThan(1);
    await app.caller().knowledge.deleteCollection({ id: col.id });
  });

  it("reindexes a whole collection, reporting document steps", async () => {
    const col = await app.caller().knowledge.createCollection({ name: "Two" });
    await upload(col.id, "a.md", "# A\n\nThe anchor chain is checked every spring.");
    await upload(col.id, "b.txt", "Buoys are painted red on the port side.");
    const events = await collect(await app.caller().knowledge.reindexCollection({ collectionId: col.id }));
    const steps = new Set(events.flatMap((e) => (e.type === "progress" ? [`${e.progress.step}/${e.progress.steps}`] : [])));
    expect([...steps]).toEqual(["1/2", "2/2"]);
    expect(events.at(-1)).toMatchObject({ type: "done", result: { documents: 2 } });
    await app.caller().knowledge.deleteCollection({ id: col.id });
    expect(counts()).toEqual({ documents: 0, chunks: 0, fts: 0 });
  });

  it("a bad file gets a clear error naming it, and nothing is stored", async () => {
    const col = await app.caller().knowledge.createCollection({ name: "Bad" });
    const before = counts();
    const cases: Array<[string, string | Uint8Array, TRPCError["code"], RegExp]> = [
      ["empty.txt", "", "BAD_REQUEST", /"empty\.txt".*empty/],
      ["broken.json", '{"a": [1, 2', "BAD_REQUEST", /"broken\.json"/],
      ["scan.pdf", "%PDF-1.7 binary", "BAD_REQUEST", /"scan\.pdf".*PDF/],
      ["photo.txt", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 1, 2, 3]), "BAD_REQUEST", /"photo\.txt"/],
      ["big.txt", "word ".repeat(300_000), "PAYLOAD_TOO_LARGE", /"big\.txt" is 1\.4 MiB; the limit is 1\.0 MiB per file/],
    ];
    for (const [name, content, code, message] of cases) {
      await expectError(upload(col.id, name, content), code, message);
      await expectError(app.caller().knowledge.preview({ fileName: name, data: b64(content) }), code, message);
    }
    await expectError(
      async () => collect(await app.caller().knowledge.upload({ collectionId: col.id, fileName: "x.txt", data: "not base64!" })),
      "BAD_REQUEST",
      /"x\.txt" was not sent as valid base64/,
    );
    await expectError(upload("missing", "a.txt", "hello"), "NOT_FOUND");
    expect(counts()).toEqual(before);
    expect(await app.caller().knowledge.documents({ collectionId: col.id })).toEqual([]);

    // The same file twice is refused, and the first copy stays.
    await upload(col.id, "ok.txt", "Tide tables are printed each January.");
    await expectError(upload(col.id, "again.txt", "Tide tables are printed each January."), "CONFLICT", /already in this collection/);
    expect(await app.caller().knowledge.documents({ collectionId: col.id })).toHaveLength(1);
  });
});

describe("embedding model", () => {
  it("a configured model that cannot load: indexing and search fall back to BM25 with a warning", async () => {
    const { resetEnvForTests } = await import("@/server/env");
    const before = process.env.ATELIER_EMBEDDING_MODEL;
    process.env.ATELIER_EMBEDDING_MODEL = "/nonexistent/embedder.gguf";
    resetEnvForTests();
    try {
      const col = await app.caller().knowledge.createCollection({ name: "No vectors" });
      const events = await upload(col.id, "buoys.txt", "Cardinal buoys mark the safe side of a hazard.");
      const done = events.at(-1);
      if (done?.type !== "done") throw new Error("no done event");
      expect(done.result.warnings.join(" ")).toMatch(/\/nonexistent\/embedder\.gguf \(ATELIER_EMBEDDING_MODEL\) does not exist.*BM25/);
      expect(done.result.document.status).toBe("ready");
      const found = await app.caller().knowledge.search({ query: "cardinal buoys", collectionIds: [col.id] });
      expect(found.mode).toBe("bm25");
      expect(found.hits[0]?.documentId).toBe(done.result.document.id);
      await app.caller().knowledge.deleteCollection({ id: col.id });
    } finally {
      process.env.ATELIER_EMBEDDING_MODEL = before;
      resetEnvForTests();
    }
  });
});
