import "server-only";
import { asc, desc, eq } from "drizzle-orm";
import type { AtelierDb } from "@/server/db/client";
import { notFound } from "@/server/errors";
import { getCollection } from "./collections";
import type { OutlineEntry } from "../documents";
import { knowledgeChunks, knowledgeDocuments, type KnowledgeChunkRow, type KnowledgeDocumentRow } from "./schema";
import { noteKnowledgeIndexChanged } from "./search/statements";
import { deleteVectors, loadVectorsIfPresent } from "./vectors";

/* Documents and their chunks, as stored (indexing.ts writes them). */

/** A document as listed (its extracted text left out). */
export type KnowledgeDocument = Omit<KnowledgeDocumentRow, "content" | "outline">;

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

export function listDocuments(db: AtelierDb, collectionId: string): KnowledgeDocument[] {
  getCollection(db, collectionId);
  return db
    .select(documentColumns)
    .from(knowledgeDocuments)
    .where(eq(knowledgeDocuments.collectionId, collectionId))
    .orderBy(desc(knowledgeDocuments.createdAt), asc(knowledgeDocuments.title))
    .all();
}

export function getDocument(db: AtelierDb, id: string): KnowledgeDocument {
  const row = db.select(documentColumns).from(knowledgeDocuments).where(eq(knowledgeDocuments.id, id)).get();
  if (!row) throw notFound("knowledge", "Document", id);
  return row;
}

/** The extracted text and headings of a document (what its chunks point into). */
export function getDocumentText(db: AtelierDb, id: string): { text: string; outline: OutlineEntry[] } {
  const row = db
    .select({ text: knowledgeDocuments.content, outline: knowledgeDocuments.outline })
    .from(knowledgeDocuments)
    .where(eq(knowledgeDocuments.id, id))
    .get();
  if (!row) throw notFound("knowledge", "Document", id);
  return row;
}

export function listChunks(db: AtelierDb, documentId: string): KnowledgeChunkRow[] {
  getDocument(db, documentId);
  return db.select().from(knowledgeChunks).where(eq(knowledgeChunks.documentId, documentId)).orderBy(asc(knowledgeChunks.ordinal)).all();
}

/** Deletes a document: its chunks and FTS rows (cascade + triggers) and its vectors. */
export async function deleteDocument(db: AtelierDb, id: string): Promise<void> {
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

