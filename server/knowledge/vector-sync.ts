import "server-only";
import type { AtelierDb } from "@/server/db/client";
import { AtelierError } from "@/server/errors";
import type { Embedder } from "./embedder";
import { embeddingInput, throwIfAborted } from "./indexing";
import { currentVectorSpace, ensureVectorSpace, insertVectors, loadVectorExtension, pruneOrphanVectors, vectorExtensionError } from "./vectors";

/**
 * Brings the vector index up to date with this embedder: (re)creates it if the embedder
 * changed, embeds every chunk that has no vector and drops vectors of deleted chunks.
 */
export async function syncVectors(
  db: AtelierDb,
  embedder: Embedder,
  options: { onProgress?: (p: { done: number; total: number }) => void; signal?: AbortSignal; batchSize?: number } = {},
): Promise<{ embedded: number; pruned: number; rebuilt: boolean }> {
  const sqlite = db.$client;
  if (!(await loadVectorExtension(sqlite))) throw new AtelierError("precondition:knowledge", vectorExtensionError() ?? "sqlite-vec is unavailable.");
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
      if (!space || space.embedderId !== embedder.id) throw new AtelierError("conflict:knowledge", "The embedding model changed during syncVectors.");
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

