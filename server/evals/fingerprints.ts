import "server-only";
import { inArray } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { fingerprintsOf } from "./normalize";
import { evalFingerprints, evalRows, evalSets } from "./schema";

/*
 * No leakage: every accepted eval row's question and reference answer are fingerprinted
 * (normalised-text hashes, see normalize.ts). A training record that contains one is left out
 * when a run is prepared, and the studio's upload and preview say how many were found.
 */

type Tx = Pick<AtelierDb, "insert" | "delete" | "select">;

/** Replaces the fingerprints of these rows (accepted rows get them; candidates do not count yet). */
export function refreshFingerprints(db: Tx, rows: { id: string; question: string; reference: string | null; status: string }[]): void {
  if (rows.length === 0) return;
  const ids = rows.map((r) => r.id);
  for (let i = 0; i < ids.length; i += 500) db.delete(evalFingerprints).where(inArray(evalFingerprints.rowId, ids.slice(i, i + 500))).run();
  const values: { hash: string; rowId: string; kind: "question" | "answer" }[] = [];
  for (const r of rows) {
    if (r.status !== "accepted") continue;
    for (const hash of fingerprintsOf(r.question)) values.push({ hash, rowId: r.id, kind: "question" });
    if (r.reference) for (const hash of fingerprintsOf(r.reference)) values.push({ hash, rowId: r.id, kind: "answer" });
  }
  for (let i = 0; i < values.length; i += 300) db.insert(evalFingerprints).values(values.slice(i, i + 300)).run();
}

/** A training record as the studio stores it (structurally; the studio's own type). */
export type TrainingRecord = { kind: "text"; text: string } | { kind: "chat"; system?: string; messages: { role: string; content: string }[] };

function recordUnits(r: TrainingRecord): string[] {
  return r.kind === "text" ? [r.text] : r.messages.map((m) => m.content);
}

export type Leakage = {
  /** records that contain an eval question or answer */
  records: number;
  /** distinct eval rows found in them */
  evalRows: number;
  /** the names of the eval sets those rows belong to */
  sets: string[];
};

/** Which records contain an eval question or answer (true = leaks), with counts. */
export function findLeakage(db: AtelierDb, records: readonly TrainingRecord[]): { leaks: boolean[]; leakage: Leakage } {
  const known = new Map<string, string[]>();
  for (const f of db.select({ hash: evalFingerprints.hash, rowId: evalFingerprints.rowId }).from(evalFingerprints).all()) {
    const list = known.get(f.hash);
    if (list) list.push(f.rowId);
    else known.set(f.hash, [f.rowId]);
  }
  const leaks = new Array<boolean>(records.length).fill(false);
  if (known.size === 0) return { leaks, leakage: { records: 0, evalRows: 0, sets: [] } };
  const rowIds = new Set<string>();
  records.forEach((r, i) => {
    for (const unit of recordUnits(r)) {
      for (const h of fingerprintsOf(unit)) {
        const hit = known.get(h);
        if (!hit) continue;
        leaks[i] = true;
        for (const id of hit) rowIds.add(id);
      }
    }
  });
  const ids = [...rowIds];
  const sets = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    for (const r of db.select({ setId: evalRows.setId }).from(evalRows).where(inArray(evalRows.id, ids.slice(i, i + 500))).all()) sets.add(r.setId);
  }
  const names = setNames(db, [...sets]);
  return { leaks, leakage: { records: leaks.filter(Boolean).length, evalRows: rowIds.size, sets: names } };
}

function setNames(db: AtelierDb, ids: string[]): string[] {
  if (ids.length === 0) return [];
  return db.select({ name: evalSets.name }).from(evalSets).where(inArray(evalSets.id, ids)).all().map((r) => r.name).sort();
}

/** The records minus those that contain an eval question or answer (what training may use). */
export function excludeEvalLeakage<T extends TrainingRecord>(db: AtelierDb, records: T[]): { kept: T[]; leakage: Leakage } {
  const { leaks, leakage } = findLeakage(db, records);
  return { kept: leakage.records === 0 ? records : records.filter((_, i) => !leaks[i]), leakage };
}

/** The studio's sentence about leakage, or null when there is none. */
export function leakageWarning(leakage: Leakage): string | null {
  if (leakage.records === 0) return null;
  const sets = leakage.sets.length ? ` (eval set${leakage.sets.length === 1 ? "" : "s"} ${leakage.sets.map((s) => `"${s}"`).join(", ")})` : "";
  return `${leakage.records} record${leakage.records === 1 ? " contains" : "s contain"} a question or answer of ${leakage.evalRows} eval row${leakage.evalRows === 1 ? "" : "s"}${sets}; ${leakage.records === 1 ? "it is" : "they are"} left out of training so the evaluation stays fair.`;
}
