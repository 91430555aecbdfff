import "server-only";
import { and, eq, lt, sql } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { usageCounters } from "./schema";

export const MINUTE = 60_000;
export const DAY = 86_400_000;

/** One counter to bump: at most `limit` per fixed window of `windowMs` (limit 0 = unlimited). */
export type CounterSpec = { scope: string; subject: string; windowMs: number; limit: number; message: string };

export type QuotaResult = { ok: true } | { ok: false; message: string; retryAfterSec: number };

const windowOf = (c: CounterSpec, nowMs: number) => Math.floor(nowMs / c.windowMs) * c.windowMs;

/** The refusal when counter `c` is already at its limit in the current window, else null. */
function atLimit(db: AtelierDb, c: CounterSpec, nowMs: number): QuotaResult | null {
  const window = windowOf(c, nowMs);
  const row = db
    .select({ count: usageCounters.count })
    .from(usageCounters)
    .where(and(eq(usageCounters.scope, c.scope), eq(usageCounters.subject, c.subject), eq(usageCounters.window, window)))
    .get();
  if ((row?.count ?? 0) < c.limit) return null;
  return { ok: false, message: c.message, retryAfterSec: Math.max(1, Math.ceil((window + c.windowMs - nowMs) / 1000)) };
}

/** The first counter already at its limit, or ok: a read-only check for requests that must not write (GETs). */
export function check(db: AtelierDb, counters: CounterSpec[], nowMs = Date.now()): QuotaResult {
  for (const c of counters) {
    const refused = c.limit > 0 ? atLimit(db, c, nowMs) : null;
    if (refused) return refused;
  }
  return { ok: true };
}

/**
 * Checks every counter and, only if all have room, increments all of them, inside one SQLite
 * transaction (better-sqlite3 runs it synchronously, and BEGIN IMMEDIATE serialises writers
 * across processes), so N concurrent requests against a limit of L admit exactly min(N, L).
 */
export function consume(db: AtelierDb, counters: CounterSpec[], nowMs = Date.now()): QuotaResult {
  const active = counters.filter((c) => c.limit > 0);
  if (active.length === 0) return { ok: true };
  const result = db.transaction(
    (tx): QuotaResult => {
      for (const c of active) {
        const refused = atLimit(tx as unknown as AtelierDb, c, nowMs);
        if (refused) return refused;
      }
      for (const c of active) {
        tx.insert(usageCounters)
          .values({ scope: c.scope, subject: c.subject, window: windowOf(c, nowMs), count: 1 })
          .onConflictDoUpdate({ target: [usageCounters.scope, usageCounters.subject, usageCounters.window], set: { count: sql`${usageCounters.count} + 1` } })
          .run();
      }
      return { ok: true };
    },
    { behavior: "immediate" },
  );
  prune(db, nowMs);
  return result;
}

let lastPrune = 0;
/** Old windows are useless; drop them now and then (at most once a minute per process). */
function prune(db: AtelierDb, nowMs: number) {
  if (nowMs - lastPrune < MINUTE) return;
  lastPrune = nowMs;
  db.delete(usageCounters).where(lt(usageCounters.window, nowMs - 2 * DAY)).run();
}
