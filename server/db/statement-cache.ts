import "server-only";
import type Database from "better-sqlite3";

/*
 * better-sqlite3 compiles SQL on every prepare(), and drizzle prepares every query it runs: on the
 * chat turn's path (auth, quota, conversation, assistant, routing, the stored answer) compiling
 * was the largest single cost of the database work. This keeps the compiled statements of one
 * connection by SQL text (drizzle's text is the same for every call of a query shape; values are
 * bound parameters), least recently used dropped past `max`.
 *
 * A statement handed out again is reset to better-sqlite3's default modes (raw, pluck and expand
 * off; callers that want one switch it on per call, as drizzle does), and one that is busy (an
 * iterate() still running) is never handed out twice: that caller gets a fresh statement.
 */
export function cacheStatements(sqlite: Database.Database, max = 512): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, Database.Statement>();
  const cached = (source: string): Database.Statement => {
    const hit = cache.get(source);
    if (hit && !hit.busy) {
      cache.delete(source);
      cache.set(source, hit);
      if (hit.reader) hit.raw(false).pluck(false).expand(false);
      return hit;
    }
    const fresh = prepare(source);
    if (!hit) {
      cache.set(source, fresh);
      if (cache.size > max) cache.delete(cache.keys().next().value!);
    }
    return fresh;
  };
  sqlite.prepare = cached as typeof sqlite.prepare;
}
