import "server-only";
import type Database from "better-sqlite3";

// Prepared statements per connection (the hot path runs each query shape many times).
const statementCache = new WeakMap<Database.Database, Map<string, Database.Statement>>();
export function stmt(sqlite: Database.Database, source: string): Database.Statement {
  let cache = statementCache.get(sqlite);
  if (!cache) statementCache.set(sqlite, (cache = new Map()));
  let s = cache.get(source);
  if (!s) cache.set(source, (s = sqlite.prepare(source)));
  return s;
}


// Bumped after every write to the index, so caches derived from it (term frequencies, coverage) are recounted.
let generation = 0;

/** Called after writes to the index so cached term frequencies are recounted. */
export function noteKnowledgeIndexChanged(): void {
  generation++;
}

/** The current index generation (see noteKnowledgeIndexChanged). */
export function indexGeneration(): number {
  return generation;
}
