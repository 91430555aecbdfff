import "server-only";
import type { AtelierDb } from "@/server/db/client";
import type { Embedder } from "../embedder";
import { currentVectorSpace, loadVectorExtension, nearestChunks, vectorTableExists } from "../vectors";
import type { RankedChunk } from "./bm25";
import { stmt } from "./statements";

export type VectorStatus = "used" | "no-embedder" | "unavailable" | "stale" | "empty";

/** Nearest chunks to the query's embedding (score: cosine distance, lower is better). */
export async function searchVector(
  db: AtelierDb,
  embedder: Embedder,
  query: string,
  options: { collectionIds?: readonly string[]; limit?: number } = {},
): Promise<{ status: VectorStatus; results: RankedChunk[] }> {
  const sqlite = db.$client;
  if (!(await loadVectorExtension(sqlite))) return { status: "unavailable", results: [] };
  if (!vectorTableExists(sqlite)) return { status: "empty", results: [] };
  const space = currentVectorSpace(sqlite);
  if (!space || space.embedderId !== embedder.id || space.dimensions !== embedder.dimensions) return { status: "stale", results: [] };
  if (query.trim() === "") return { status: "used", results: [] };
  const limit = Math.max(1, Math.min(200, Math.floor(options.limit ?? 8)));
  const [vector] = await embedder.embed([query]);
  if (!vector || vector.length !== space.dimensions) throw new Error(`Embedder ${embedder.id} returned a vector of the wrong size.`);
  // Over-fetch: vectors of chunks deleted by a connection without sqlite-vec may linger.
  const rows = nearestChunks(sqlite, vector, limit + 8, options.collectionIds);
  const ids = rows.map((r) => r.chunkId);
  const live = new Set(
    stmt(sqlite, "SELECT id FROM knowledge_chunks WHERE id IN (SELECT value FROM json_each(?))").pluck().all(JSON.stringify(ids)) as number[],
  );
  return { status: "used", results: rows.filter((r) => live.has(r.chunkId)).slice(0, limit).map((r) => ({ chunkId: r.chunkId, score: r.distance })) };
}

