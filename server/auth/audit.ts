import "server-only";
import { and, desc, eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { auditLog, type AuditRow } from "../db/auth-tables";
import type { Session } from "./sessions";

/** Appends who did what to which entity; `detail` is small JSON such as { field: [before, after] }. */
export function recordAudit(
  db: AtelierDb,
  session: Session | null,
  action: string,
  entity: { type: string; id?: string | null },
  detail?: Record<string, unknown>,
): void {
  db.insert(auditLog).values({ userId: session?.user.id ?? null, action, entityType: entity.type, entityId: entity.id ?? null, detail }).run();
}

export function auditTrail(db: AtelierDb, entityType: string, entityId: string, limit = 100): AuditRow[] {
  return db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.entityType, entityType), eq(auditLog.entityId, entityId)))
    .orderBy(desc(auditLog.id))
    .limit(limit)
    .all();
}

/** The fields whose values differ, as { field: [before, after] } (JSON-compared). */
export function diffFields<T extends Record<string, unknown>>(before: T, after: Partial<T>): Record<string, [unknown, unknown]> {
  const out: Record<string, [unknown, unknown]> = {};
  for (const [k, v] of Object.entries(after)) {
    if (v !== undefined && JSON.stringify(before[k]) !== JSON.stringify(v)) out[k] = [before[k], v];
  }
  return out;
}
