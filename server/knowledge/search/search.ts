import "server-only";
import type Database from "better-sqlite3";
import type { AtelierDb } from "@/server/db/client";
import type { Embedder } from "../embedder";
import { searchBm25, type RankedChunk } from "./bm25";
import { reciprocalRankFusion } from "./fusion";
import { stmt } from "./statements";
import { searchVector, type VectorStatus } from "./vector";

/* Search: BM25 over FTS5, optional KNN over sqlite-vec, reciprocal-rank fusion of both. */

export type SearchHit = {
  chunkId: number;
  documentId: string;
  collectionId: string;
  title: string;
  fileName: string;
  ordinal: number;
  heading: string | null;
  text: string;
  startOffset: number;
  endOffset: number;
  tokenEstimate: number;
  /** Fused RRF score (higher is better); in single-list modes, the RRF score of that list. */
  score: number;
  bm25Rank: number | null;
  vectorRank: number | null;
};

export type SearchMode = "auto" | "bm25" | "vector" | "hybrid";
export type SearchOptions = {
  collectionIds?: readonly string[];
  limit?: number;
  /** Enables vector search (and fusion) when given. */
  embedder?: Embedder | null;
  /** auto: hybrid when an embedder is given and its vectors exist, else BM25. */
  mode?: SearchMode;
  /** Candidates taken from each list before fusion (default max(3×limit, 24)). */
  candidates?: number;
  /** BM25 on every query term, without the planner's pruning of very common terms. */
  exhaustive?: boolean;
};
export type SearchResponse = {
  hits: SearchHit[];
  mode: "bm25" | "vector" | "hybrid";
  vector: VectorStatus;
};

type HitRow = Omit<SearchHit, "score" | "bm25Rank" | "vectorRank">;

function hydrate(sqlite: Database.Database, ids: number[]): Map<number, HitRow> {
  const rows = stmt(
    sqlite,
    `SELECT c.id AS chunkId, c.document_id AS documentId, d.collection_id AS collectionId, d.title, d.file_name AS fileName,
            c.ordinal, c.heading, c.text, c.start_offset AS startOffset, c.end_offset AS endOffset, c.token_estimate AS tokenEstimate
     FROM knowledge_chunks c JOIN knowledge_documents d ON d.id = c.document_id
     WHERE c.id IN (SELECT value FROM json_each(?))`,
  ).all(JSON.stringify(ids)) as HitRow[];
  return new Map(rows.map((r) => [r.chunkId, r]));
}

/** Searches the knowledge base: BM25, vectors, or both fused with RRF (k=60). */
export async function search(db: AtelierDb, query: string, options: SearchOptions = {}): Promise<SearchResponse> {
  const limit = Math.max(1, Math.min(100, Math.floor(options.limit ?? 8)));
  const candidates = Math.max(limit, Math.floor(options.candidates ?? Math.max(limit * 3, 24)));
  const mode = options.mode ?? "auto";
  const embedder = options.embedder ?? null;
  const scope = { collectionIds: options.collectionIds, limit: candidates };

  let vector: { status: VectorStatus; results: RankedChunk[] } = { status: "no-embedder", results: [] };
  if (embedder && mode !== "bm25") vector = await searchVector(db, embedder, query, scope);
  const useVector = vector.status === "used";
  const effective: SearchResponse["mode"] = mode === "bm25" || !useVector ? "bm25" : mode === "vector" ? "vector" : "hybrid";
  const bm25 = effective === "vector" ? [] : searchBm25(db, query, { ...scope, exhaustive: options.exhaustive });

  const lists = effective === "bm25" ? [bm25, []] : effective === "vector" ? [[], vector.results] : [bm25, vector.results];
  const fused = reciprocalRankFusion(lists).slice(0, limit);
  const rows = hydrate(db.$client, fused.map((f) => f.chunkId));
  const hits: SearchHit[] = [];
  for (const f of fused) {
    const row = rows.get(f.chunkId);
    if (!row) continue; // deleted between the two reads
    hits.push({ ...row, score: f.score, bm25Rank: f.ranks[0] ?? null, vectorRank: f.ranks[1] ?? null });
  }
  return { hits, mode: effective, vector: vector.status };
}

