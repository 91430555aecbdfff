import "server-only";
import { and, asc, desc, eq, inArray, isNull, or, sql } from "drizzle-orm";
import { recordAudit, type Session } from "../auth";
import type { AtelierDb } from "../db/client";
import { assistants } from "../db/schema";
import { AtelierError, notFound } from "../errors";
import { newId } from "../ids";
import { refreshFingerprints } from "./fingerprints";
import { evalRows, evalSets, type EvalRowOrigin, type EvalRowRow, type EvalRowStatus, type EvalSetRow, type RowProvenance } from "./schema";
import { EVAL_LIMITS, type Coverage, type EvalRowView, type EvalSetDetail, type EvalSetView, type RowInput } from "./types";

/*
 * Eval sets and their rows: create, edit, delete, review. A set belongs to an assistant (or is
 * shared); one set per assistant is its default (the activation gate scores on it). Rows that
 * were generated or taken from conversations start as "candidate" and count nowhere until a
 * reviewer accepts them (as they are or edited) — or drops them.
 */

type Tx = Parameters<Parameters<AtelierDb["transaction"]>[0]>[0];

export function getSetRow(db: AtelierDb, id: string): EvalSetRow {
  const row = db.select().from(evalSets).where(eq(evalSets.id, id)).get();
  if (!row) throw notFound("eval", "Eval set", id);
  return row;
}

function assistantExists(db: AtelierDb, id: string) {
  if (!db.select({ id: assistants.id }).from(assistants).where(eq(assistants.id, id)).get()) throw notFound("assistant", "Assistant", id);
}

export function toRowView(r: EvalRowRow): EvalRowView {
  return {
    id: r.id,
    position: r.position,
    question: r.question,
    reference: r.reference,
    facts: r.facts,
    expectedSource: r.expectedSource ?? null,
    shouldRefuse: r.shouldRefuse,
    status: r.status,
    origin: r.origin,
    provenance: r.provenance ?? null,
  };
}

/** What a run on these rows can measure; each metric it cannot compute is named with the reason. */
export function coverageOf(rows: Pick<EvalRowRow, "reference" | "facts" | "expectedSource" | "shouldRefuse" | "status">[]): Coverage {
  const accepted = rows.filter((r) => r.status === "accepted");
  const c: Coverage = {
    rows: accepted.length,
    candidates: rows.length - accepted.length,
    withReference: accepted.filter((r) => !!r.reference).length,
    withFacts: accepted.filter((r) => r.facts.length > 0).length,
    withSource: accepted.filter((r) => !!r.expectedSource).length,
    shouldRefuse: accepted.filter((r) => r.shouldRefuse).length,
    cannotCompute: [],
  };
  if (c.rows === 0) {
    c.cannotCompute.push({ metric: "all metrics", reason: "The set has no accepted rows, so no metric can be computed; add rows or accept candidates." });
    return c;
  }
  if (c.withFacts === 0) c.cannotCompute.push({ metric: "required facts", reason: "No row lists required facts, so the required-facts hit rate cannot be computed." });
  if (c.withReference === 0) c.cannotCompute.push({ metric: "token-F1 and ROUGE-L", reason: "No row has a reference answer, so token-F1 and ROUGE-L cannot be computed." });
  if (c.withSource === 0) c.cannotCompute.push({ metric: "citation hit", reason: "No row names an expected source, so citation hit (and whether retrieval found the source) cannot be computed." });
  return c;
}

function toSetView(row: EvalSetRow, rows: Pick<EvalRowRow, "reference" | "facts" | "expectedSource" | "shouldRefuse" | "status">[]): EvalSetView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    assistantId: row.assistantId,
    isDefault: row.isDefault,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    coverage: coverageOf(rows),
  };
}

/** Sets of an assistant (its own and the shared ones), or every set. */
export function listSets(db: AtelierDb, assistantId?: string | null): EvalSetView[] {
  const sets = db
    .select()
    .from(evalSets)
    .where(assistantId ? or(eq(evalSets.assistantId, assistantId), isNull(evalSets.assistantId)) : undefined)
    .orderBy(desc(evalSets.isDefault), desc(evalSets.updatedAt))
    .all();
  if (sets.length === 0) return [];
  const rows = db
    .select({ setId: evalRows.setId, reference: evalRows.reference, facts: evalRows.facts, expectedSource: evalRows.expectedSource, shouldRefuse: evalRows.shouldRefuse, status: evalRows.status })
    .from(evalRows)
    .where(inArray(evalRows.setId, sets.map((s) => s.id)))
    .all();
  const bySet = new Map<string, typeof rows>();
  for (const r of rows) bySet.set(r.setId, [...(bySet.get(r.setId) ?? []), r]);
  return sets.map((s) => toSetView(s, bySet.get(s.id) ?? []));
}

export function setRows(db: AtelierDb, setId: string, status?: EvalRowStatus): EvalRowRow[] {
  return db
    .select()
    .from(evalRows)
    .where(status ? and(eq(evalRows.setId, setId), eq(evalRows.status, status)) : eq(evalRows.setId, setId))
    .orderBy(asc(evalRows.position))
    .all();
}

export function getSet(db: AtelierDb, id: string): EvalSetDetail {
  const row = getSetRow(db, id);
  const rows = setRows(db, id);
  return { ...toSetView(row, rows), rows: rows.map(toRowView) };
}

/** The assistant's default set (null when it has none). */
export function defaultSetOf(db: AtelierDb, assistantId: string): EvalSetRow | null {
  return db.select().from(evalSets).where(and(eq(evalSets.assistantId, assistantId), eq(evalSets.isDefault, true))).get() ?? null;
}

function clearOtherDefaults(tx: Tx, assistantId: string, keep: string) {
  tx.update(evalSets)
    .set({ isDefault: false })
    .where(and(eq(evalSets.assistantId, assistantId), sql`${evalSets.id} <> ${keep}`))
    .run();
}

export function createSet(db: AtelierDb, input: { name: string; description: string; assistantId: string | null; isDefault: boolean }, session: Session | null): EvalSetView {
  if (input.assistantId) assistantExists(db, input.assistantId);
  if (input.isDefault && !input.assistantId) throw new AtelierError("bad_request:eval", "Only a set that belongs to an assistant can be its default.");
  const id = newId();
  // an assistant's first set is its default
  const isDefault = input.isDefault || (!!input.assistantId && !defaultSetOf(db, input.assistantId));
  db.transaction((tx) => {
    tx.insert(evalSets).values({ id, name: input.name, description: input.description, assistantId: input.assistantId, isDefault, createdBy: session?.user.id ?? null }).run();
    if (isDefault && input.assistantId) clearOtherDefaults(tx, input.assistantId, id);
  });
  recordAudit(db, session, "eval.set.create", { type: "eval_set", id }, { name: input.name, assistantId: input.assistantId });
  return toSetView(getSetRow(db, id), []);
}

export function updateSet(db: AtelierDb, input: { id: string; name?: string; description?: string; isDefault?: boolean }, session: Session | null): EvalSetView {
  const row = getSetRow(db, input.id);
  if (input.isDefault && !row.assistantId) throw new AtelierError("bad_request:eval", "Only a set that belongs to an assistant can be its default.");
  db.transaction((tx) => {
    tx.update(evalSets)
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.isDefault !== undefined ? { isDefault: input.isDefault } : {}),
        updatedAt: Date.now(),
      })
      .where(eq(evalSets.id, row.id))
      .run();
    if (input.isDefault && row.assistantId) clearOtherDefaults(tx, row.assistantId, row.id);
  });
  recordAudit(db, session, "eval.set.update", { type: "eval_set", id: row.id }, { name: input.name, isDefault: input.isDefault });
  return listSets(db).find((s) => s.id === row.id)!;
}

export function deleteSet(db: AtelierDb, id: string, session: Session | null): { id: string } {
  const row = getSetRow(db, id);
  db.delete(evalSets).where(eq(evalSets.id, id)).run(); // rows and fingerprints cascade; runs keep their snapshot
  recordAudit(db, session, "eval.set.delete", { type: "eval_set", id }, { name: row.name });
  return { id };
}

function nextPosition(tx: Pick<AtelierDb, "select">, setId: string): number {
  const r = tx.select({ max: sql<number | null>`max(${evalRows.position})` }).from(evalRows).where(eq(evalRows.setId, setId)).get();
  return (r?.max ?? -1) + 1;
}

/** Inserts rows (in one transaction, with their fingerprints); returns their ids. */
export function insertRows(
  db: AtelierDb,
  setId: string,
  rows: (RowInput & { status?: EvalRowStatus; origin?: EvalRowOrigin; provenance?: RowProvenance | null })[],
): string[] {
  getSetRow(db, setId);
  const count = db.select({ n: sql<number>`count(*)` }).from(evalRows).where(eq(evalRows.setId, setId)).get()!.n;
  if (count + rows.length > EVAL_LIMITS.rowsPerSet) {
    throw new AtelierError("bad_request:eval", `A set holds at most ${EVAL_LIMITS.rowsPerSet.toLocaleString("en")} rows; this one has ${count} and ${rows.length} more were given.`);
  }
  return db.transaction((tx) => {
    let position = nextPosition(tx, setId);
    const values = rows.map((r) => ({
      id: newId(),
      setId,
      position: position++,
      question: r.question,
      reference: r.reference,
      facts: r.facts,
      expectedSource: r.expectedSource,
      shouldRefuse: r.shouldRefuse,
      status: r.status ?? ("accepted" as const),
      origin: r.origin ?? ("manual" as const),
      provenance: r.provenance ?? null,
    }));
    for (let i = 0; i < values.length; i += 100) tx.insert(evalRows).values(values.slice(i, i + 100)).run();
    refreshFingerprints(tx, values);
    tx.update(evalSets).set({ updatedAt: Date.now() }).where(eq(evalSets.id, setId)).run();
    return values.map((v) => v.id);
  });
}

export function addRows(db: AtelierDb, input: { setId: string; rows: RowInput[] }, session: Session | null): EvalRowView[] {
  const ids = insertRows(db, input.setId, input.rows);
  recordAudit(db, session, "eval.rows.add", { type: "eval_set", id: input.setId }, { count: ids.length });
  return db.select().from(evalRows).where(inArray(evalRows.id, ids)).orderBy(asc(evalRows.position)).all().map(toRowView);
}

function rowById(db: AtelierDb, id: string): EvalRowRow {
  const row = db.select().from(evalRows).where(eq(evalRows.id, id)).get();
  if (!row) throw notFound("eval", "Eval row", id);
  return row;
}

export function updateRow(db: AtelierDb, input: { id: string; row: RowInput }, session: Session | null): EvalRowView {
  const before = rowById(db, input.id);
  const updated = db.transaction((tx) => {
    const r = tx
      .update(evalRows)
      .set({ ...input.row, updatedAt: Date.now() })
      .where(eq(evalRows.id, before.id))
      .returning()
      .get();
    refreshFingerprints(tx, [r]);
    tx.update(evalSets).set({ updatedAt: Date.now() }).where(eq(evalSets.id, before.setId)).run();
    return r;
  });
  recordAudit(db, session, "eval.row.update", { type: "eval_set", id: before.setId }, { rowId: before.id });
  return toRowView(updated);
}

export function deleteRows(db: AtelierDb, ids: string[], session: Session | null): { deleted: number } {
  const rows = db.select({ id: evalRows.id, setId: evalRows.setId }).from(evalRows).where(inArray(evalRows.id, ids)).all();
  if (rows.length === 0) throw notFound("eval", "Eval row", ids[0]!);
  db.delete(evalRows).where(inArray(evalRows.id, rows.map((r) => r.id))).run();
  for (const setId of new Set(rows.map((r) => r.setId))) recordAudit(db, session, "eval.rows.delete", { type: "eval_set", id: setId }, { count: rows.filter((r) => r.setId === setId).length });
  return { deleted: rows.length };
}

/** Review of candidates: accept (as they are or edited) or drop. Only candidate rows of this set are touched. */
export function reviewRows(db: AtelierDb, input: { setId: string; accept: { id: string; row?: RowInput }[]; drop: string[] }, session: Session | null): { accepted: number; dropped: number } {
  getSetRow(db, input.setId);
  const ids = [...input.accept.map((a) => a.id), ...input.drop];
  const found = new Map(
    (ids.length ? db.select().from(evalRows).where(and(eq(evalRows.setId, input.setId), inArray(evalRows.id, ids))).all() : []).map((r) => [r.id, r]),
  );
  const missing = ids.find((id) => !found.has(id));
  if (missing) throw new AtelierError("not_found:eval", `Row ${missing} is not in this set.`);
  const notCandidate = ids.find((id) => found.get(id)!.status !== "candidate");
  if (notCandidate) throw new AtelierError("conflict:eval", `Row ${notCandidate} was already reviewed.`);
  db.transaction((tx) => {
    const accepted: EvalRowRow[] = [];
    for (const a of input.accept) {
      const edits = a.row ?? {};
      accepted.push(tx.update(evalRows).set({ ...edits, status: "accepted", updatedAt: Date.now() }).where(eq(evalRows.id, a.id)).returning().get());
    }
    refreshFingerprints(tx, accepted);
    if (input.drop.length) tx.delete(evalRows).where(inArray(evalRows.id, input.drop)).run();
    tx.update(evalSets).set({ updatedAt: Date.now() }).where(eq(evalSets.id, input.setId)).run();
  });
  recordAudit(db, session, "eval.rows.review", { type: "eval_set", id: input.setId }, { accepted: input.accept.length, edited: input.accept.filter((a) => a.row).length, dropped: input.drop.length });
  return { accepted: input.accept.length, dropped: input.drop.length };
}
