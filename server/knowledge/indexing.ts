import "server-only";
import { createHash } from "node:crypto";
import type Database from "better-sqlite3";
import { and, eq } from "drizzle-orm";
import type { AtelierDb } from "@/server/db/client";
import { AtelierError, notFound } from "@/server/errors";
import { newId } from "@/server/ids";
import { chunkText, type Chunk, type ChunkOptions } from "./chunk";
import { getCollection } from "./collections";
import { getDocument, type KnowledgeDocument } from "./documents";
import type { Embedder } from "./embedder";
import { FORMAT_MIME, parseDocument } from "../documents";
import { knowledgeDocuments } from "./schema";
import { noteKnowledgeIndexChanged } from "./search/statements";
import { currentVectorSpace, deleteVectors, ensureVectorSpace, insertVectors, loadVectorExtension, loadVectorsIfPresent, vectorExtensionError, vectorTableExists } from "./vectors";

/*
 * Indexing: parse → chunk → (embed) → store. Chunks are indexed by FTS5 (triggers in the
 * migration keep knowledge_chunks_fts in sync) and, when an embedder is given, by sqlite-vec. A
 * document's chunks, FTS rows and vectors are always written or replaced in one transaction, so a
 * failed import or reindex leaves nothing half-done.
 */

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

export type IndexResult = { document: KnowledgeDocument; warnings: string[] };

const nowMs = () => Date.now();

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AtelierError("bad_request:knowledge", "Indexing was cancelled.", { cause: signal.reason });
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

function indexingError(err: unknown, fileName: string): AtelierError {
  if (err instanceof AtelierError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AtelierError("internal:knowledge", `Indexing "${fileName}" failed: ${message}`, { cause: err });
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
 * invalid JSON/CSV...) are thrown as DocumentParseError (an AtelierError) before anything is
 * written. Later failures (embedding) leave the document with status "error" and no chunks;
 * its text is kept so reindexDocument() can retry.
 */
export async function addDocument(db: AtelierDb, input: AddDocumentInput, options: IndexOptions = {}): Promise<IndexResult> {
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
    if (dup) throw new AtelierError("conflict:knowledge", `"${fileName}" is already in this collection (as "${dup.title}").`);
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
      if (!exists) throw new AtelierError("conflict:knowledge", `"${fileName}" was deleted while it was being indexed.`);
      writeChunks(sqlite, id, input.collectionId, chunks, prepared);
    })();
  } catch (err) {
    if (options.signal?.aborted) sqlite.prepare("DELETE FROM knowledge_documents WHERE id = ?").run(id);
    else markFailed(sqlite, id, err);
    throw indexingError(err, fileName);
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
export async function reindexDocument(db: AtelierDb, id: string, options: IndexOptions = {}): Promise<IndexResult> {
  const sqlite = db.$client;
  const doc = db.select().from(knowledgeDocuments).where(eq(knowledgeDocuments.id, id)).get();
  if (!doc) throw notFound("knowledge", "Document", id);
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
      if (!sqlite.prepare("SELECT 1 FROM knowledge_documents WHERE id = ?").get(id)) throw notFound("knowledge", "Document", id);
      writeChunks(sqlite, id, doc.collectionId, chunks, prepared);
    })();
  } catch (err) {
    // A failed reindex keeps the previous chunks; only a document that had none is marked failed.
    if (doc.status !== "ready" && !options.signal?.aborted) markFailed(sqlite, id, err);
    throw indexingError(err, doc.fileName);
  }
  progress("done", chunks.length, chunks.length);
  return { document: getDocument(db, id), warnings };
}

/**
 * After a crash or restart, documents left "indexing" have no chunks: mark them failed so the
 * UI offers a retry. Call once at startup.
 */
export function recoverInterruptedIndexing(db: AtelierDb): number {
  return db.$client
    .prepare(
      "UPDATE knowledge_documents SET status = 'error', error = 'Indexing was interrupted (the server stopped); reindex to retry.', updated_at = ? WHERE status = 'indexing'",
    )
    .run(nowMs()).changes;
}

