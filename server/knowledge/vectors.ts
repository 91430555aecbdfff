import "server-only";
import type Database from "better-sqlite3";
import type { Embedder } from "./embedder";

/**
 * The sqlite-vec side of the knowledge base: a vec0 table `knowledge_vec` (rowid = chunk id,
 * partitioned by collection, cosine distance) created at runtime because its dimension is the
 * embedder's. Which embedder filled it is recorded in knowledge_vector_space.
 *
 * Vectors are removed by application code (deleteDocument, reindex, deleteCollection), not by
 * triggers: a trigger touching a vec0 table would make every chunk delete fail on a
 * connection that has not loaded the extension. Chunk ids are never reused (AUTOINCREMENT)
 * and searches join vectors back to live chunks, so a stray vector is invisible, and
 * pruneOrphanVectors() sweeps them.
 */

export const VEC_TABLE = "knowledge_vec";

type VecModule = { getLoadablePath(): string };

let modulePromise: Promise<VecModule | null> | undefined;
let loadError: string | null = null;
const loaded = new WeakMap<Database.Database, boolean>();

async function vecModule(): Promise<VecModule | null> {
  modulePromise ??= import("sqlite-vec").then(
    (m: VecModule) => m,
    (err: unknown) => {
      loadError = `sqlite-vec is not installed (${(err as Error).message})`;
      return null;
    },
  );
  return modulePromise;
}

/** Loads sqlite-vec into this connection (once). False when the package or platform is missing. */
export async function loadVectorExtension(sqlite: Database.Database): Promise<boolean> {
  const known = loaded.get(sqlite);
  if (known !== undefined) return known;
  const mod = await vecModule();
  let ok = false;
  if (mod) {
    try {
      sqlite.loadExtension(mod.getLoadablePath());
      ok = true;
    } catch (err) {
      loadError = `sqlite-vec failed to load: ${(err as Error).message}`;
    }
  }
  loaded.set(sqlite, ok);
  return ok;
}

export function vectorExtensionError(): string | null {
  return loadError;
}

export function isVectorExtensionLoaded(sqlite: Database.Database): boolean {
  return loaded.get(sqlite) === true;
}

export function vectorTableExists(sqlite: Database.Database): boolean {
  return sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(VEC_TABLE) !== undefined;
}

export type VectorSpace = { embedderId: string; dimensions: number };

export function currentVectorSpace(sqlite: Database.Database): VectorSpace | null {
  const row = sqlite.prepare("SELECT embedder_id AS embedderId, dimensions FROM knowledge_vector_space WHERE id = 1").get() as
    | VectorSpace
    | undefined;
  return row ?? null;
}

/**
 * Makes knowledge_vec match this embedder. Returns "fresh" when the table was (re)created
 * empty, so every chunk needs embedding; "kept" when the existing vectors are usable.
 * The extension must be loaded.
 */
export function ensureVectorSpace(sqlite: Database.Database, embedder: Embedder): "kept" | "fresh" {
  const dims = Math.floor(embedder.dimensions);
  if (!(dims > 0 && dims <= 8192)) throw new Error(`Embedder ${embedder.id} reports an invalid dimension (${embedder.dimensions}).`);
  const space = currentVectorSpace(sqlite);
  const exists = vectorTableExists(sqlite);
  if (exists && space && space.embedderId === embedder.id && space.dimensions === dims) return "kept";
  sqlite.transaction(() => {
    if (exists) sqlite.exec(`DROP TABLE ${VEC_TABLE}`);
    sqlite.exec(
      `CREATE VIRTUAL TABLE ${VEC_TABLE} USING vec0(collection_id text partition key, embedding float[${dims}] distance_metric=cosine)`,
    );
    sqlite
      .prepare(
        "INSERT INTO knowledge_vector_space (id, embedder_id, dimensions) VALUES (1, ?, ?) " +
          "ON CONFLICT(id) DO UPDATE SET embedder_id = excluded.embedder_id, dimensions = excluded.dimensions, " +
          "created_at = cast(unixepoch('subsec') * 1000 as integer)",
      )
      .run(embedder.id, dims);
  })();
  return "fresh";
}

export const toBlob = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

export function insertVectors(
  sqlite: Database.Database,
  rows: Array<{ chunkId: number; collectionId: string; vector: Float32Array }>,
  dimensions: number,
): void {
  const stmt = sqlite.prepare(`INSERT OR REPLACE INTO ${VEC_TABLE} (rowid, collection_id, embedding) VALUES (?, ?, ?)`);
  for (const r of rows) {
    if (r.vector.length !== dimensions) {
      throw new Error(`Embedding has ${r.vector.length} dimensions, expected ${dimensions}.`);
    }
    stmt.run(BigInt(r.chunkId), r.collectionId, toBlob(r.vector));
  }
}

/** Removes the vectors of these chunks, if there is a vector table this connection can touch. */
export function deleteVectors(sqlite: Database.Database, chunkIds: number[]): void {
  if (chunkIds.length === 0 || !isVectorExtensionLoaded(sqlite) || !vectorTableExists(sqlite)) return;
  const stmt = sqlite.prepare(`DELETE FROM ${VEC_TABLE} WHERE rowid = ?`);
  for (const id of chunkIds) stmt.run(id);
}

/** Deletes vectors whose chunk no longer exists; returns how many. */
export function pruneOrphanVectors(sqlite: Database.Database): number {
  if (!isVectorExtensionLoaded(sqlite) || !vectorTableExists(sqlite)) return 0;
  const orphans = sqlite
    .prepare(`SELECT v.rowid AS id FROM ${VEC_TABLE} v LEFT JOIN knowledge_chunks c ON c.id = v.rowid WHERE c.id IS NULL`)
    .pluck()
    .all() as number[];
  deleteVectors(sqlite, orphans);
  return orphans.length;
}

export function countVectors(sqlite: Database.Database): number {
  if (!isVectorExtensionLoaded(sqlite) || !vectorTableExists(sqlite)) return 0;
  return sqlite.prepare(`SELECT count(*) FROM ${VEC_TABLE}`).pluck().get() as number;
}

/** k nearest chunks by cosine distance, optionally within some collections. */
export function nearestChunks(
  sqlite: Database.Database,
  query: Float32Array,
  k: number,
  collectionIds?: readonly string[],
): Array<{ chunkId: number; distance: number }> {
  const blob = toBlob(query);
  let rows: Array<{ chunkId: number; distance: number }>;
  if (collectionIds === undefined) {
    rows = sqlite
      .prepare(`SELECT rowid AS chunkId, distance FROM ${VEC_TABLE} WHERE embedding MATCH ? AND k = ?`)
      .all(blob, k) as typeof rows;
  } else {
    if (collectionIds.length === 0) return [];
    // One KNN per partition (vec0 visits only that collection's vectors), merged by distance.
    const stmt = sqlite.prepare(
      `SELECT rowid AS chunkId, distance FROM ${VEC_TABLE} WHERE embedding MATCH ? AND k = ? AND collection_id = ?`,
    );
    rows = [];
    for (const c of new Set(collectionIds)) rows.push(...(stmt.all(blob, k, c) as typeof rows));
  }
  return rows.sort((a, b) => a.distance - b.distance).slice(0, k);
}

/** Loads sqlite-vec when a vector table exists (deleting chunks must delete their vectors too). */
export async function loadVectorsIfPresent(sqlite: Database.Database): Promise<void> {
  if (vectorTableExists(sqlite)) await loadVectorExtension(sqlite);
}

