import "server-only";
import type Database from "better-sqlite3";
import type { AtelierDb } from "@/server/db/client";
import { indexGeneration, stmt } from "./statements";
import { queryTerms, quoteTerm } from "./terms";

/** bm25() weights of the FTS columns (text, heading). */
const BM25_WEIGHTS = "bm25(1.0, 1.5)";

export type RankedChunk = { chunkId: number; score: number };

/*
 * Query planning. FTS5 computes bm25() for every row that matches and, for each term, an IDF
 * by walking the term's whole doclist: a query containing a term found in most chunks costs
 * O(chunks) (~150-350 ms at 100k chunks). Such a term has an IDF near zero (bm25 clamps it
 * when it is in more than half the rows), so it barely moves the ranking. The planner counts
 * each term's document frequency (capped, cached) and keeps the rarest terms whose matches
 * add up to DF_BUDGET rows; the rest are left out of the MATCH. When even the rarest term is
 * over budget (every word is common), the terms are AND-ed instead (FTS5 intersects doclists
 * by seeking), falling back to the rarest term alone if nothing contains them all.
 */
export const DF_BUDGET = 8000;
const DF_CACHE_MS = 30_000;
/** df is exact when below cap; otherwise it only says "at least cap". */
const dfCache = new WeakMap<Database.Database, Map<string, { df: number; cap: number; at: number; generation: number }>>();
function documentFrequency(sqlite: Database.Database, term: string, cap: number): number {
  let cache = dfCache.get(sqlite);
  if (!cache) dfCache.set(sqlite, (cache = new Map()));
  const now = Date.now();
  const hit = cache.get(term);
  if (hit && hit.generation === indexGeneration() && now - hit.at < DF_CACHE_MS && (hit.df < hit.cap || hit.cap >= cap)) {
    return Math.min(hit.df, cap);
  }
  const df = stmt(
    sqlite,
    "SELECT count(*) FROM (SELECT 1 FROM knowledge_chunks_fts WHERE knowledge_chunks_fts MATCH ? LIMIT ?)",
  )
    .pluck()
    .get(quoteTerm(term), cap) as number;
  if (cache.size > 5000) cache.clear();
  cache.set(term, { df, cap, at: now, generation: indexGeneration() });
  return df;
}

export type Bm25Plan = { match: string; kept: string[]; dropped: string[]; operator: "OR" | "AND" };

/** Which terms a BM25 query will match on (see above); exhaustive: all of them, OR-ed. */
export function planBm25Query(db: AtelierDb, text: string, options: { exhaustive?: boolean; budget?: number } = {}): Bm25Plan[] {
  const terms = queryTerms(text);
  if (terms.length === 0) return [];
  const all: Bm25Plan = { match: terms.map(quoteTerm).join(" OR "), kept: terms, dropped: [], operator: "OR" };
  if (options.exhaustive || terms.length === 1) return [all];
  const budget = options.budget ?? DF_BUDGET;
  const sqlite = db.$client;
  const withDf = terms
    .map((t, i) => ({ t, i, df: documentFrequency(sqlite, t, budget + 1) }))
    .filter((x) => x.df > 0)
    .sort((a, b) => a.df - b.df || a.i - b.i);
  if (withDf.length === 0) return []; // no term occurs anywhere
  const kept: typeof withDf = [];
  let sum = 0;
  for (const x of withDf) {
    if (kept.length === 0 || sum + x.df <= budget) {
      kept.push(x);
      sum += x.df;
    }
  }
  const keptTerms = kept.sort((a, b) => a.i - b.i).map((x) => x.t);
  const dropped = terms.filter((t) => !keptTerms.includes(t));
  if (sum <= budget || withDf.length === 1) {
    return [{ match: keptTerms.map(quoteTerm).join(" OR "), kept: keptTerms, dropped, operator: "OR" }];
  }
  // Every term is common: all of them together, else the rarest alone.
  const and = withDf.slice(0, 4).map((x) => x.t);
  const rarest = withDf[0]!.t;
  return [
    { match: and.map(quoteTerm).join(" AND "), kept: and, dropped: terms.filter((t) => !and.includes(t)), operator: "AND" },
    { match: quoteTerm(rarest), kept: [rarest], dropped: terms.filter((t) => t !== rarest), operator: "OR" },
  ];
}

const coverageCache = new WeakMap<Database.Database, { generation: number; at: number; collections: Set<string> }>();

/**
 * True when no document lives outside these collections, so the scoped search can skip the
 * per-match filter (the common case: an assistant using the one collection there is).
 */
function coversAllDocuments(sqlite: Database.Database, collectionIds: readonly string[]): boolean {
  let entry = coverageCache.get(sqlite);
  const now = Date.now();
  if (!entry || entry.generation !== indexGeneration() || now - entry.at > DF_CACHE_MS) {
    const ids = stmt(sqlite, "SELECT DISTINCT collection_id FROM knowledge_documents").pluck().all() as string[];
    entry = { generation: indexGeneration(), at: now, collections: new Set(ids) };
    coverageCache.set(sqlite, entry);
  }
  const wanted = new Set(collectionIds);
  for (const c of entry.collections) if (!wanted.has(c)) return false;
  return true;
}

/**
 * BM25 top `limit` chunks (score: lower is better, as FTS5 reports it). Never throws on user
 * text. `exhaustive` skips the query planner (every term matched; slower on large indexes).
 */
export function searchBm25(
  db: AtelierDb,
  query: string,
  options: { collectionIds?: readonly string[]; limit?: number; exhaustive?: boolean; dfBudget?: number } = {},
): RankedChunk[] {
  const limit = Math.max(1, Math.min(200, Math.floor(options.limit ?? 8)));
  const sqlite = db.$client;
  const collections = options.collectionIds;
  if (collections !== undefined && collections.length === 0) return [];
  try {
    const plans = planBm25Query(db, query, { exhaustive: options.exhaustive, budget: options.dfBudget });
    const scoped = collections !== undefined && !coversAllDocuments(sqlite, collections);
    for (const [k, plan] of plans.entries()) {
      const rows =
        !scoped
          ? (stmt(
              sqlite,
              `SELECT rowid AS chunkId, rank AS score FROM knowledge_chunks_fts
               WHERE knowledge_chunks_fts MATCH ? AND rank MATCH '${BM25_WEIGHTS}' ORDER BY rank LIMIT ?`,
            ).all(plan.match, limit) as RankedChunk[])
          : (stmt(
              sqlite,
              `SELECT f.rowid AS chunkId, f.rank AS score FROM knowledge_chunks_fts f
               JOIN knowledge_chunks c ON c.id = f.rowid
               WHERE knowledge_chunks_fts MATCH ? AND f.rank MATCH '${BM25_WEIGHTS}'
                 AND c.collection_id IN (SELECT value FROM json_each(?))
               ORDER BY f.rank LIMIT ?`,
            ).all(plan.match, JSON.stringify([...collections!]), limit) as RankedChunk[]);
      if (rows.length > 0 || k === plans.length - 1) return rows;
    }
    return [];
  } catch (err) {
    // The query is built from quoted words only, so this should be unreachable; a search box
    // must still never turn into a 500.
    if ((err as { code?: string }).code?.startsWith("SQLITE_")) return [];
    throw err;
  }
}

