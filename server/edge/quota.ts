import "server-only";
import { and, eq, lt, sql } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { usageCounters } from "./schema";

export const MINUTE = 60_000;
export const DAY = 86_400_000;

/** One counter to bump: at most `limit` per fixed window of `windowMs` (limit 0 = unlimited). */
export type CounterSpec = { scope: string; subject: string; windowMs: number; limit: number; message: string };

export type QuotaResult = { ok: true } | { ok: false; message: string; retryAfterSec: number };

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
      const windows = active.map((c) => Math.floor(nowMs / c.windowMs) * c.windowMs);
      for (const [i, c] of active.entries()) {
        const row = tx
          .select({ count: usageCounters.count })
          .from(usageCounters)
          .where(and(eq(usageCounters.scope, c.scope), eq(usageCounters.subject, c.subject), eq(usageCounters.window, windows[i]!)))
          .get();
        if ((row?.count ?? 0) >= c.limit) {
          return { ok: false, message: c.message, retryAfterSec: Math.max(1, Math.ceil((windows[i]! + c.windowMs - nowMs) / 1000)) };
        }
      }
      for (const [i, c] of active.entries()) {
        tx.insert(usageCounters)
          .values({ scope: c.scope, subject: c.subject, window: windows[i]!, count: 1 })
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
