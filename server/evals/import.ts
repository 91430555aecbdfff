import "server-only";
import { recordAudit, type Session } from "../auth";
import type { AtelierDb } from "../db/client";
import { exportRows, parseEvalFile } from "./io";
import { getSetRow, insertRows, setRows } from "./sets";

/** Imports an eval file into a set: every line parsed and checked first, then all rows in one transaction (or none). */
export function importFile(db: AtelierDb, input: { setId: string; fileName: string; content: string }, session: Session | null): { added: number } {
  getSetRow(db, input.setId);
  const rows = parseEvalFile(db, input.fileName, input.content);
  insertRows(db, input.setId, rows.map((r) => ({ ...r, origin: "import" as const })));
  recordAudit(db, session, "eval.rows.import", { type: "eval_set", id: input.setId }, { file: input.fileName, rows: rows.length });
  return { added: rows.length };
}

/** The set's accepted rows as a file (same shape import reads). */
export function exportFile(db: AtelierDb, input: { setId: string; format: "jsonl" | "csv" }) {
  const set = getSetRow(db, input.setId);
  const base = set.name.replace(/[^\w.-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 80) || "eval-set";
  return { fileName: `${base}.${input.format}`, mime: input.format === "csv" ? "text/csv" : "application/x-ndjson", content: exportRows(setRows(db, set.id, "accepted"), input.format) };
}
