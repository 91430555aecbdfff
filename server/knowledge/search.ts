import "server-only";
import type Database from "better-sqlite3";
import { estimateTokens } from "./chunk";
import type { Embedder } from "./embedder";
import type { KnowledgeDb } from "./index";
import { currentVectorSpace, loadVectorExtension, nearestChunks, vectorTableExists } from "./vectors";

/*
 * Retrieval: BM25 over FTS5, optional KNN over sqlite-vec, reciprocal-rank fusion of both,
 * and packing the winners into a cited prompt block.
 */

export const RRF_K = 60;
/** bm25() weights of the FTS columns (text, heading). */
const BM25_WEIGHTS = "bm25(1.0, 1.5)";
const MAX_QUERY_TERMS = 24;

// Function words that match most chunks: they cost time and add nothing to BM25 ranking.
const STOPWORDS = new Set(
  (
    "a about above after again against all am an and any are aren as at be because been before being below between both but by " +
    "can cannot could did do does doing don down during each few for from further had has have having he her here hers herself " +
    "him himself his how i if in into is isn it its itself just let me more most my myself no nor not now of off on once only or " +
    "other ought our ours ourselves out over own same she should so some such than that the their theirs them themselves then " +
    "there these they this those through to too under until up very was we were what when where which while who whom why will " +
    "with would you your yours yourself yourselves s t d ll m re ve tell explain describe please"
  ).split(" "),
);

/** The words of a user's query, normalised, deduplicated, stopwords dropped unless nothing else remains. */
export function queryTerms(text: string): string[] {
  const words = text.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}\p{M}]+/gu) ?? [];
  const unique = [...new Set(words)].filter((w) => w.length <= 64);
  const content = unique.filter((w) => !STOPWORDS.has(w));
  return (content.length > 0 ? content : unique).slice(0, MAX_QUERY_TERMS);
}

/** One term as an FTS5 string: double-quoted, so it is never an operator, column filter or prefix. */
const quoteTerm = (t: string) => `"${t.replace(/"/g, '""')}"`;

/**
 * Turns free user text into a safe FTS5 query: words are extracted (letters, digits, marks),
 * each is double-quoted (so AND/OR/NEAR/NOT, *, ^, :, parentheses and quotes in the user's
 * text are plain words or nothing) and OR-ed, so BM25 ranks by how many and how rare the
 * matched terms are. Stopwords are dropped unless nothing else remains. Null: nothing to search.
 */
export function buildFtsQuery(text: string): string | null {
  const terms = queryTerms(text);
  return terms.length === 0 ? null : terms.map(quoteTerm).join(" OR ");
}

export type RankedChunk = { chunkId: number; score: number };

// Prepared statements per connection (the hot path runs each query shape many times).
const statementCache = new WeakMap<Database.Database, Map<string, Database.Statement>>();
function stmt(sqlite: Database.Database, source: string): Database.Statement {
  let cache = statementCache.get(sqlite);
  if (!cache) statementCache.set(sqlite, (cache = new Map()));
  let s = cache.get(source);
  if (!s) cache.set(source, (s = sqlite.prepare(source)));
  return s;
}

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
let indexGeneration = 0;

/** Called after writes to the index so cached term frequencies are recounted. */
export function noteKnowledgeIndexChanged(): void {
  indexGeneration++;
}

function documentFrequency(sqlite: Database.Database, term: string, cap: number): number {
  let cache = dfCache.get(sqlite);
  if (!cache) dfCache.set(sqlite, (cache = new Map()));
  const now = Date.now();
  const hit = cache.get(term);
  if (hit && hit.generation === indexGeneration && now - hit.at < DF_CACHE_MS && (hit.df < hit.cap || hit.cap >= cap)) {
    return Math.min(hit.df, cap);
  }
  const df = stmt(
    sqlite,
    "SELECT count(*) FROM (SELECT 1 FROM knowledge_chunks_fts WHERE knowledge_chunks_fts MATCH ? LIMIT ?)",
  )
    .pluck()
    .get(quoteTerm(term), cap) as number;
  if (cache.size > 5000) cache.clear();
  cache.set(term, { df, cap, at: now, generation: indexGeneration });
  return df;
}

export type Bm25Plan = { match: string; kept: string[]; dropped: string[]; operator: "OR" | "AND" };

/** Which terms a BM25 query will match on (see above); exhaustive: all of them, OR-ed. */
export function planBm25Query(db: KnowledgeDb, text: string, options: { exhaustive?: boolean; budget?: number } = {}): Bm25Plan[] {
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
  if (!entry || entry.generation !== indexGeneration || now - entry.at > DF_CACHE_MS) {
    const ids = stmt(sqlite, "SELECT DISTINCT collection_id FROM knowledge_documents").pluck().all() as string[];
    entry = { generation: indexGeneration, at: now, collections: new Set(ids) };
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
  db: KnowledgeDb,
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

export type VectorStatus = "used" | "no-embedder" | "unavailable" | "stale" | "empty";

/** Nearest chunks to the query's embedding (score: cosine distance, lower is better). */
export async function searchVector(
  db: KnowledgeDb,
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

export type FusedChunk = { chunkId: number; score: number; ranks: Array<number | null> };

/** Reciprocal-rank fusion: score = Σ 1/(k + rank), rank 1-based, over the lists a chunk is in. */
export function reciprocalRankFusion(lists: ReadonlyArray<ReadonlyArray<{ chunkId: number }>>, k: number = RRF_K): FusedChunk[] {
  const fused = new Map<number, FusedChunk>();
  lists.forEach((list, li) => {
    list.forEach((item, idx) => {
      let f = fused.get(item.chunkId);
      if (!f) fused.set(item.chunkId, (f = { chunkId: item.chunkId, score: 0, ranks: lists.map(() => null) }));
      if (f.ranks[li] !== null) return; // duplicates within a list count once
      f.ranks[li] = idx + 1;
      f.score += 1 / (k + idx + 1);
    });
  });
  // Ties: the better best rank first, then the lower chunk id (stable output).
  const best = (f: FusedChunk) => Math.min(...f.ranks.map((r) => r ?? Infinity));
  return [...fused.values()].sort((a, b) => b.score - a.score || best(a) - best(b) || a.chunkId - b.chunkId);
}

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
export async function search(db: KnowledgeDb, query: string, options: SearchOptions = {}): Promise<SearchResponse> {
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

export type Citation = {
  /** The number used in the prompt: [n]. */
  n: number;
  documentId: string;
  title: string;
  chunkId: number;
  ordinal: number;
  heading: string | null;
  snippet: string;
};

export type BuiltContext = { text: string; citations: Citation[]; tokenEstimate: number };

function cutAtWord(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, maxChars);
  const space = cut.search(/\s\S*$/);
  return `${(space > maxChars * 0.5 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** Trims a passage to about `tokens` tokens, on a word boundary. */
function trimToTokens(text: string, tokens: number): string {
  let total = 0;
  let end = 0;
  for (const m of text.matchAll(/\S+/g)) {
    const t = estimateTokens(m[0]);
    if (total + t > tokens) break;
    total += t;
    end = m.index + m[0].length;
  }
  return end >= text.length ? text : `${text.slice(0, end)}…`;
}

/**
 * Packs search hits, best first, into a prompt block within `tokenBudget` (approximate
 * tokens), numbering them [1], [2]... for citation. A passage that does not fit is skipped
 * (a later, shorter one may still fit); if not even the first fits, it is trimmed to fit.
 */
export function buildContext(
  hits: ReadonlyArray<Pick<SearchHit, "chunkId" | "documentId" | "title" | "ordinal" | "heading" | "text">>,
  tokenBudget: number,
  options: { snippetChars?: number; header?: string } = {},
): BuiltContext {
  const header = options.header ?? "Sources (cite as [n]):";
  const snippetChars = options.snippetChars ?? 240;
  const blocks: string[] = [];
  const citations: Citation[] = [];
  let used = estimateTokens(header);
  const seen = new Set<number>();
  for (const hit of hits) {
    if (seen.has(hit.chunkId)) continue;
    const n = citations.length + 1;
    // The heading path usually starts with the document's title: do not repeat it.
    const section = hit.heading?.startsWith(`${hit.title} > `) ? hit.heading.slice(hit.title.length + 3) : hit.heading;
    const label = `[${n}] ${hit.title}${section && section !== hit.title ? ` — ${section}` : ""}`;
    const labelTokens = estimateTokens(label) + 2;
    let body = hit.text.trim();
    let cost = labelTokens + estimateTokens(body);
    if (used + cost > tokenBudget) {
      if (citations.length > 0) continue;
      const room = tokenBudget - used - labelTokens;
      if (room < 16) break;
      body = trimToTokens(body, room - 1); // -1: the ellipsis may add a token
      cost = labelTokens + estimateTokens(body);
    }
    seen.add(hit.chunkId);
    blocks.push(`${label}\n${body}`);
    citations.push({
      n,
      documentId: hit.documentId,
      title: hit.title,
      chunkId: hit.chunkId,
      ordinal: hit.ordinal,
      heading: hit.heading,
      snippet: cutAtWord(hit.text.replace(/\s+/g, " ").trim(), snippetChars),
    });
    used += cost;
  }
  if (citations.length === 0) return { text: "", citations, tokenEstimate: 0 };
  return { text: `${header}\n\n${blocks.join("\n\n")}`, citations, tokenEstimate: used };
}
