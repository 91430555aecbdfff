import "server-only";
import { asc, eq, sql } from "drizzle-orm";
import type { AtelierDb } from "@/server/db/client";
import { AtelierError, notFound } from "@/server/errors";
import { newId } from "@/server/ids";
import { knowledgeCollections, type KnowledgeCollectionRow } from "./schema";
import { noteKnowledgeIndexChanged } from "./search/statements";
import { deleteVectors, loadVectorsIfPresent } from "./vectors";

/* Collections: named sets of documents an assistant can draw on. */

export type KnowledgeCollection = KnowledgeCollectionRow & { documentCount: number; chunkCount: number };

function cleanName(name: string): string {
  const n = name.replace(/\s+/g, " ").trim();
  if (n === "") throw new AtelierError("bad_request:knowledge", "A collection needs a name.");
  if (n.length > 200) throw new AtelierError("bad_request:knowledge", "A collection name is at most 200 characters.");
  return n;
}

export function createCollection(db: AtelierDb, input: { name: string; description?: string }): KnowledgeCollectionRow {
  const row = { id: newId(), name: cleanName(input.name), description: (input.description ?? "").trim(), createdAt: Date.now() };
  db.insert(knowledgeCollections).values(row).run();
  return row;
}

export function listCollections(db: AtelierDb): KnowledgeCollection[] {
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

export function getCollection(db: AtelierDb, id: string): KnowledgeCollectionRow {
  const row = db.select().from(knowledgeCollections).where(eq(knowledgeCollections.id, id)).get();
  if (!row) throw notFound("knowledge", "Collection", id);
  return row;
}

export function updateCollection(
  db: AtelierDb,
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
export async function deleteCollection(db: AtelierDb, id: string): Promise<void> {
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

