import "server-only";
import { createHash } from "node:crypto";
import type Database from "better-sqlite3";
import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { AtelierDb } from "@/server/db/client";
import { AppError, notFound } from "@/server/errors";
import { newId } from "@/server/ids";
import { chunkText, type Chunk, type ChunkOptions } from "./chunk";
import type { Embedder } from "./embedder";
import { FORMAT_MIME, parseDocument, type OutlineEntry } from "./parse";
import {
  knowledgeChunks,
  knowledgeCollections,
  knowledgeDocuments,
  type KnowledgeChunkRow,
  type KnowledgeCollectionRow,
  type KnowledgeDocumentRow,
} from "./schema";
import { noteKnowledgeIndexChanged } from "./search";
import {
  currentVectorSpace,
  deleteVectors,
  ensureVectorSpace,
  insertVectors,
  loadVectorExtension,
  pruneOrphanVectors,
  vectorExtensionError,
  vectorTableExists,
} from "./vectors";

/*
 * The knowledge base: collections of documents, split into chunks indexed by FTS5 (triggers
 * in the migration keep knowledge_chunks_fts in sync) and, when an embedder is given, by
 * sqlite-vec. A document's chunks, FTS rows and vectors are always written or replaced in one
 * transaction, so a failed import or reindex leaves nothing half-done.
 */

export type KnowledgeDb = AtelierDb;

export type IndexPhase = "parsing" | "chunking" | "embedding" | "storing" | "done";
export type IndexProgress = { phase: IndexPhase; done: number; total: number; documentId: string | null; fileName: string };

export type IndexOptions = {
  /** Also embed chunks into the vector index (skipped with a warning when sqlite-vec is missing). */
  embedder?: Embedder | null;
  chunking?: ChunkOptions;
  /** Largest accepted file, in bytes (default 20 MiB). */
  maxBytes?: number;
  onProgress?: (p: IndexProgress) => void;
  signal?: AbortSignal;
  /** Importing the same bytes twice into one collection is refused unless this is true. */
  allowDuplicate?: boolean;
  /** Texts per embed() call. */
  embedBatchSize?: number;
};

/** A document as listed (its extracted text left out). */
export type KnowledgeDocument = Omit<KnowledgeDocumentRow, "content" | "outline">;
export type KnowledgeCollection = KnowledgeCollectionRow & { documentCount: number; chunkCount: number };
export type IndexResult = { document: KnowledgeDocument; warnings: string[] };

const documentColumns = {
  id: knowledgeDocuments.id,
  collectionId: knowledgeDocuments.collectionId,
  title: knowledgeDocuments.title,
  fileName: knowledgeDocuments.fileName,
  mime: knowledgeDocuments.mime,
  sha256: knowledgeDocuments.sha256,
  sizeBytes: knowledgeDocuments.sizeBytes,
  status: knowledgeDocuments.status,
  error: knowledgeDocuments.error,
  chunkCount: knowledgeDocuments.chunkCount,
  createdAt: knowledgeDocuments.createdAt,
  updatedAt: knowledgeDocuments.updatedAt,
};

const nowMs = () => Date.now();

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AppError("BAD_REQUEST", "Indexing was cancelled.", { cause: signal.reason });
}

// ---------------------------------------------------------------------------------------------
// Collections

function cleanName(name: string): string {
  const n = name.replace(/\s+/g, " ").trim();
  if (n === "") throw new AppError("BAD_REQUEST", "A collection needs a name.");
  if (n.length > 200) throw new AppError("BAD_REQUEST", "A collection name is at most 200 characters.");
  return n;
}

export function createCollection(db: KnowledgeDb, input: { name: string; description?: string }): KnowledgeCollectionRow {
  const row = { id: newId(), name: cleanName(input.name), description: (input.description ?? "").trim(), createdAt: nowMs() };
  db.insert(knowledgeCollections).values(row).run();
  return row;
}

export function listCollections(db: KnowledgeDb): KnowledgeCollection[] {
  return db
    .select({
      id: knowledgeCollections.id,
      name: knowledgeCollections.name,
      description: knowledgeCollections.description,
      createdAt: knowledgeCollections.createdAt,
      // Fully qualified: inside the subquery a bare "id" would be the document's.
      documentCount: sql<number>`(SELECT count(*) FROM knowledge_documents d WHERE d.collection_id = knowledge_collections.id)`,
      chunkCount: sql<number>`(SELECT coalesce(sum(d.chunk_count), 0) FROM knowledge_documents d WHERE d.collection_id = knowledge_collections.id)`,
    })
    .from(knowledgeCollections)
    .orderBy(asc(knowledgeCollections.name))
    .all();
}

export function getCollection(db: KnowledgeDb, id: string): KnowledgeCollectionRow {
  const row = db.select().from(knowledgeCollections).where(eq(knowledgeCollections.id, id)).get();
  if (!row) throw notFound("Collection", id);
  return row;
}

export function updateCollection(
  db: KnowledgeDb,
  id: string,
  patch: { name?: string; description?: string },
): KnowledgeCollectionRow {
  getCollection(db, id);
  const set: Partial<KnowledgeCollectionRow> = {};
  if (patch.name !== undefined) set.name = cleanName(patch.name);
  if (patch.description !== undefined) set.description = patch.description.trim();
  if (Object.keys(set).length > 0) db.update(knowledgeCollections).set(set).where(eq(knowledgeCollections.id, id)).run();
  return getCollection(db, id);
}

/** Deletes a collection with its documents, chunks, FTS rows and vectors. */
export async function deleteCollection(db: KnowledgeDb, id: string): Promise<void> {
  getCollection(db, id);
  const sqlite = db.$client;
  await loadVectorsIfPresent(sqlite);
  sqlite.transaction(() => {
    const ids = sqlite
      .prepare("SELECT c.id FROM knowledge_chunks c JOIN knowledge_documents d ON d.id = c.document_id WHERE d.collection_id = ?")
      .pluck()
      .all(id) as number[];
    deleteVectors(sqlite, ids);
    sqlite.prepare("DELETE FROM knowledge_collections WHERE id = ?").run(id);
  })();
  noteKnowledgeIndexChanged();
}

// ---------------------------------------------------------------------------------------------
// Documents

export function listDocuments(db: KnowledgeDb, collectionId: string): KnowledgeDocument[] {
  getCollection(db, collectionId);
  return db
    .select(documentColumns)
    .from(knowledgeDocuments)
    .where(eq(knowledgeDocuments.collectionId, collectionId))
    .orderBy(desc(knowledgeDocuments.createdAt), asc(knowledgeDocuments.title))
    .all();
}

export function getDocument(db: KnowledgeDb, id: string): KnowledgeDocument {
  const row = db.select(documentColumns).from(knowledgeDocuments).where(eq(knowledgeDocuments.id, id)).get();
  if (!row) throw notFound("Document", id);
  return row;
}

/** The extracted text and headings of a document (what its chunks point into). */
export function getDocumentText(db: KnowledgeDb, id: string): { text: string; outline: OutlineEntry[] } {
  const row = db
    .select({ text: knowledgeDocuments.content, outline: knowledgeDocuments.outline })
    .from(knowledgeDocuments)
    .where(eq(knowledgeDocuments.id, id))
    .get();
  if (!row) throw notFound("Document", id);
  return row;
}

export function listChunks(db: KnowledgeDb, documentId: string): KnowledgeChunkRow[] {
  getDocument(db, documentId);
  return db.select().from(knowledgeChunks).where(eq(knowledgeChunks.documentId, documentId)).orderBy(asc(knowledgeChunks.ordinal)).all();
}

async function loadVectorsIfPresent(sqlite: Database.Database): Promise<void> {
  if (vectorTableExists(sqlite)) await loadVectorExtension(sqlite);
}

/** What embedding a chunk sees: where it comes from, then its text. */
export function embeddingInput(title: string, chunk: Pick<Chunk, "heading" | "text">): string {
  return `${title}${chunk.heading ? `\n${chunk.heading}` : ""}\n\n${chunk.text}`;
}

type PreparedVectors = { embedder: Embedder; vectors: Float32Array[] } | null;

/** Embeds the chunks (before any write), or explains why vectors are skipped. */
async function embedChunks(
  sqlite: Database.Database,
  title: string,
  chunks: Chunk[],
  options: IndexOptions,
  progress: (phase: IndexPhase, done: number, total: number) => void,
  warnings: string[],
): Promise<PreparedVectors> {
  const embedder = options.embedder;
  if (!embedder) return null;
  if (!(await loadVectorExtension(sqlite))) {
    warnings.push(`Vector index skipped: ${vectorExtensionError() ?? "sqlite-vec is unavailable"}.`);
    return null;
  }
  if (ensureVectorSpace(sqlite, embedder) === "fresh") {
    const others = sqlite.prepare("SELECT count(*) FROM knowledge_chunks").pluck().get() as number;
    if (others > 0) warnings.push(
        "The embedding model changed: documents indexed before have no vectors until they are re-indexed (Re-index all, or syncVectors()); keyword search still finds them.",
      );
  }
  const batch = Math.max(1, options.embedBatchSize ?? 16);
  const vectors: Float32Array[] = [];
  progress("embedding", 0, chunks.length);
  for (let i = 0; i < chunks.length; i += batch) {
    throwIfAborted(options.signal);
    const slice = chunks.slice(i, i + batch);
    const out = await embedder.embed(slice.map((c) => embeddingInput(title, c)));
    if (out.length !== slice.length) throw new Error(`Embedder returned ${out.length} vectors for ${slice.length} texts.`);
    vectors.push(...out);
    progress("embedding", vectors.length, chunks.length);
  }
  return { embedder, vectors };
}

/** Replaces a document's chunks (FTS follows by trigger) and vectors; the caller holds a transaction. */
function writeChunks(
  sqlite: Database.Database,
  documentId: string,
  collectionId: string,
  chunks: Chunk[],
  prepared: PreparedVectors,
): void {
  const oldIds = sqlite.prepare("SELECT id FROM knowledge_chunks WHERE document_id = ?").pluck().all(documentId) as number[];
  deleteVectors(sqlite, oldIds);
  sqlite.prepare("DELETE FROM knowledge_chunks WHERE document_id = ?").run(documentId);
  const insert = sqlite.prepare(
    "INSERT INTO knowledge_chunks (document_id, collection_id, ordinal, text, token_estimate, start_offset, end_offset, heading) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const ids: number[] = [];
  for (const c of chunks) {
    const r = insert.run(documentId, collectionId, c.ordinal, c.text, c.tokenEstimate, c.startOffset, c.endOffset, c.heading);
    ids.push(Number(r.lastInsertRowid));
  }
  if (prepared) {
    // The vector space may have been rebuilt by another import since we embedded.
    const space = currentVectorSpace(sqlite);
    if (space && space.embedderId === prepared.embedder.id && vectorTableExists(sqlite)) {
      insertVectors(
        sqlite,
        ids.map((chunkId, k) => ({ chunkId, collectionId, vector: prepared.vectors[k]! })),
        space.dimensions,
      );
    }
  }
  sqlite
    .prepare("UPDATE knowledge_documents SET status = 'ready', error = NULL, chunk_count = ?, updated_at = ? WHERE id = ?")
    .run(chunks.length, nowMs(), documentId);
  noteKnowledgeIndexChanged();
}

function markFailed(sqlite: Database.Database, documentId: string, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  sqlite
    .prepare("UPDATE knowledge_documents SET status = 'error', error = ?, updated_at = ? WHERE id = ?")
    .run(message.slice(0, 2000), nowMs(), documentId);
}

function asAppError(err: unknown, fileName: string): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AppError("INTERNAL_SERVER_ERROR", `Indexing "${fileName}" failed: ${message}`, { cause: err });
}

export type AddDocumentInput = {
  collectionId: string;
  fileName: string;
  bytes: Uint8Array;
  mime?: string | null;
  /** Overrides the title found in the file (else: front matter / <title> / H1 / file name). */
  title?: string;
};

/**
 * Imports one file: parse → chunk → (embed) → store. Parse errors (empty, binary, too large,
 * invalid JSON/CSV...) are thrown as KnowledgeParseError (an AppError) before anything is
 * written. Later failures (embedding) leave the document with status "error" and no chunks;
 * its text is kept so reindexDocument() can retry.
 */
export async function addDocument(db: KnowledgeDb, input: AddDocumentInput, options: IndexOptions = {}): Promise<IndexResult> {
  const sqlite = db.$client;
  const { fileName } = input;
  let documentId: string | null = null;
  const progress = (phase: IndexPhase, done: number, total: number) =>
    options.onProgress?.({ phase, done, total, documentId, fileName });

  getCollection(db, input.collectionId);
  throwIfAborted(options.signal);
  progress("parsing", 0, 1);
  const parsed = await parseDocument({ fileName, bytes: input.bytes, mime: input.mime ?? null }, { maxBytes: options.maxBytes });
  const sha256 = createHash("sha256").update(input.bytes).digest("hex");
  if (!options.allowDuplicate) {
    const dup = db
      .select({ id: knowledgeDocuments.id, title: knowledgeDocuments.title })
      .from(knowledgeDocuments)
      .where(and(eq(knowledgeDocuments.collectionId, input.collectionId), eq(knowledgeDocuments.sha256, sha256)))
      .get();
    if (dup) throw new AppError("CONFLICT", `"${fileName}" is already in this collection (as "${dup.title}").`);
  }
  progress("chunking", 0, 1);
  const chunks = chunkText(parsed, options.chunking);
  const baseName = fileName.split(/[\\/]/).pop() ?? fileName;
  const title = (input.title?.trim() || parsed.title?.trim() || baseName.replace(/\.[^.]+$/, "") || baseName).slice(0, 300);
  const warnings = [...parsed.warnings];

  documentId = newId();
  const id = documentId;
  const now = nowMs();
  db.insert(knowledgeDocuments)
    .values({
      id,
      collectionId: input.collectionId,
      title,
      fileName: baseName,
      mime: FORMAT_MIME[parsed.format],
      sha256,
      sizeBytes: input.bytes.length,
      status: "indexing",
      chunkCount: 0,
      content: parsed.text,
      outline: parsed.outline,
      createdAt: now,
      updatedAt: now,
    })
    .run();

  try {
    const prepared = await embedChunks(sqlite, title, chunks, options, progress, warnings);
    throwIfAborted(options.signal);
    progress("storing", 0, chunks.length);
    sqlite.transaction(() => {
      const exists = sqlite.prepare("SELECT 1 FROM knowledge_documents WHERE id = ?").get(id);
      if (!exists) throw new AppError("CONFLICT", `"${fileName}" was deleted while it was being indexed.`);
      writeChunks(sqlite, id, input.collectionId, chunks, prepared);
    })();
  } catch (err) {
    if (options.signal?.aborted) sqlite.prepare("DELETE FROM knowledge_documents WHERE id = ?").run(id);
    else markFailed(sqlite, id, err);
    throw asAppError(err, fileName);
  }
  progress("storing", chunks.length, chunks.length);
  progress("done", chunks.length, chunks.length);
  return { document: getDocument(db, id), warnings };
}

/**
 * Re-chunks a document from its stored text (e.g. after changing chunk settings) and
 * re-embeds it; the old chunks, FTS rows and vectors are replaced in one transaction, so the
 * document stays searchable (with its old chunks) until then.
 */
export async function reindexDocument(db: KnowledgeDb, id: string, options: IndexOptions = {}): Promise<IndexResult> {
  const sqlite = db.$client;
  const doc = db.select().from(knowledgeDocuments).where(eq(knowledgeDocuments.id, id)).get();
  if (!doc) throw notFound("Document", id);
  const progress = (phase: IndexPhase, done: number, total: number) =>
    options.onProgress?.({ phase, done, total, documentId: id, fileName: doc.fileName });
  const warnings: string[] = [];
  progress("chunking", 0, 1);
  const chunks = chunkText({ text: doc.content, outline: doc.outline }, options.chunking);
  await loadVectorsIfPresent(sqlite);
  try {
    const prepared = await embedChunks(sqlite, doc.title, chunks, options, progress, warnings);
    throwIfAborted(options.signal);
    progress("storing", 0, chunks.length);
    sqlite.transaction(() => {
      if (!sqlite.prepare("SELECT 1 FROM knowledge_documents WHERE id = ?").get(id)) throw notFound("Document", id);
      writeChunks(sqlite, id, doc.collectionId, chunks, prepared);
    })();
  } catch (err) {
    // A failed reindex keeps the previous chunks; only a document that had none is marked failed.
    if (doc.status !== "ready" && !options.signal?.aborted) markFailed(sqlite, id, err);
    throw asAppError(err, doc.fileName);
  }
  progress("done", chunks.length, chunks.length);
  return { document: getDocument(db, id), warnings };
}

/** Reindexes every document (of one collection, or all); returns how many. */
export async function reindexAll(db: KnowledgeDb, options: IndexOptions & { collectionId?: string } = {}): Promise<number> {
  const q = db.select({ id: knowledgeDocuments.id }).from(knowledgeDocuments);
  const rows = options.collectionId ? q.where(eq(knowledgeDocuments.collectionId, options.collectionId)).all() : q.all();
  for (const r of rows) {
    throwIfAborted(options.signal);
    await reindexDocument(db, r.id, options);
  }
  return rows.length;
}

/** Deletes a document: its chunks and FTS rows (cascade + triggers) and its vectors. */
export async function deleteDocument(db: KnowledgeDb, id: string): Promise<void> {
  const sqlite = db.$client;
  getDocument(db, id);
  await loadVectorsIfPresent(sqlite);
  sqlite.transaction(() => {
    const ids = sqlite.prepare("SELECT id FROM knowledge_chunks WHERE document_id = ?").pluck().all(id) as number[];
    deleteVectors(sqlite, ids);
    sqlite.prepare("DELETE FROM knowledge_documents WHERE id = ?").run(id);
  })();
  noteKnowledgeIndexChanged();
}

/**
 * Brings the vector index up to date with this embedder: (re)creates it if the embedder
 * changed, embeds every chunk that has no vector and drops vectors of deleted chunks.
 */
export async function syncVectors(
  db: KnowledgeDb,
  embedder: Embedder,
  options: { onProgress?: (p: { done: number; total: number }) => void; signal?: AbortSignal; batchSize?: number } = {},
): Promise<{ embedded: number; pruned: number; rebuilt: boolean }> {
  const sqlite = db.$client;
  if (!(await loadVectorExtension(sqlite))) throw new AppError("PRECONDITION_FAILED", vectorExtensionError() ?? "sqlite-vec is unavailable.");
  const rebuilt = ensureVectorSpace(sqlite, embedder) === "fresh";
  const pruned = pruneOrphanVectors(sqlite);
  const missing = sqlite
    .prepare(
      `SELECT c.id, c.text, c.heading, d.title, d.collection_id AS collectionId FROM knowledge_chunks c
       JOIN knowledge_documents d ON d.id = c.document_id
       WHERE NOT EXISTS (SELECT 1 FROM knowledge_vec v WHERE v.rowid = c.id) ORDER BY c.id`,
    )
    .all() as Array<{ id: number; text: string; heading: string | null; title: string; collectionId: string }>;
  const batch = Math.max(1, options.batchSize ?? 32);
  let done = 0;
  options.onProgress?.({ done, total: missing.length });
  for (let i = 0; i < missing.length; i += batch) {
    throwIfAborted(options.signal);
    const slice = missing.slice(i, i + batch);
    const vectors = await embedder.embed(slice.map((r) => embeddingInput(r.title, r)));
    sqlite.transaction(() => {
      const live = slice.filter((r) => sqlite.prepare("SELECT 1 FROM knowledge_chunks WHERE id = ?").get(r.id));
      const space = currentVectorSpace(sqlite);
      if (!space || space.embedderId !== embedder.id) throw new AppError("CONFLICT", "The embedding model changed during syncVectors.");
      insertVectors(
        sqlite,
        live.map((r) => ({ chunkId: r.id, collectionId: r.collectionId, vector: vectors[slice.indexOf(r)]! })),
        space.dimensions,
      );
    })();
    done += slice.length;
    options.onProgress?.({ done, total: missing.length });
  }
  return { embedded: missing.length, pruned, rebuilt };
}

/**
 * After a crash or restart, documents left "indexing" have no chunks: mark them failed so the
 * UI offers a retry. Call once at startup.
 */
export function recoverInterruptedIndexing(db: KnowledgeDb): number {
  return db.$client
    .prepare(
      "UPDATE knowledge_documents SET status = 'error', error = 'Indexing was interrupted (the server stopped); reindex to retry.', updated_at = ? WHERE status = 'indexing'",
    )
    .run(nowMs()).changes;
}

/** Merges FTS5 index segments (run after bulk imports; makes queries faster). */
export function optimizeKnowledgeIndex(db: KnowledgeDb): void {
  db.$client.exec("INSERT INTO knowledge_chunks_fts(knowledge_chunks_fts) VALUES ('optimize')");
}

/** Rebuilds the FTS index from knowledge_chunks (repair tool; triggers normally keep it in sync). */
export function rebuildKnowledgeFts(db: KnowledgeDb): void {
  db.$client.exec("INSERT INTO knowledge_chunks_fts(knowledge_chunks_fts) VALUES ('rebuild')");
}

export { previewChunks, chunkText, estimateTokens } from "./chunk";
export type { Chunk, ChunkOptions, ChunkPreview } from "./chunk";
export { createHashingEmbedder, createLlamaEmbedder } from "./embedder";
export type { Embedder } from "./embedder";
export { KnowledgeParseError, parseDocument, SUPPORTED_EXTENSIONS } from "./parse";
export type { ParsedDocument } from "./parse";
export { buildContext, buildFtsQuery, planBm25Query, queryTerms, reciprocalRankFusion, search, searchBm25, searchVector, DF_BUDGET, RRF_K } from "./search";
export type { Bm25Plan, BuiltContext, Citation, SearchHit, SearchMode, SearchOptions, SearchResponse, VectorStatus } from "./search";
