import "server-only";
import { createHash } from "node:crypto";
import { and, asc, desc, eq, inArray } from "drizzle-orm";
import { recordAudit } from "../auth";
import type { Session } from "../auth";
import type { AtelierDb } from "../db/client";
import { env } from "../env";
import { findLeakage, leakageWarning } from "../evals";
import { AtelierError, notFound } from "../errors";
import { newId } from "../ids";
import { DocumentParseError } from "../documents";
import { estimateTokens, parseUpload, recordText, type ParsedUpload } from "./ingest";
import { studioDatasetFiles, studioDatasets, studioRecords, studioRuns, type StudioDatasetRow, type StudioRecordRow } from "./schema";
import type { DatasetDetail, DatasetStats, DatasetView, StudioRecord, UploadResult } from "./types";

export const MAX_UPLOAD_FILES = 100;

/** One failing file of an upload (the first is also the error's message). */
export type UploadProblem = { file: string; line?: number; message: string };

/** An upload that was refused (nothing was stored); `details` carries the first failing file and line, and every problem. */
function uploadRefused(code: "bad_request:studio" | "too_large:studio", message: string, problems: UploadProblem[] = []): AtelierError {
  const first = problems[0];
  return new AtelierError(code, message, {
    details: {
      ...(first ? { file: first.file } : {}),
      ...(first?.line !== undefined ? { line: first.line } : {}),
      ...(problems.length ? { problems } : {}),
    },
  });
}

const MB = 1024 * 1024;
export const maxUploadBytes = () => env().ATELIER_MAX_UPLOAD_MB * MB;

export type UploadFile = { name: string; bytes: Uint8Array; mime?: string | null };

/**
 * Parses every file first and stores nothing unless all of them are good; then the dataset, its
 * provenance and its records go in one transaction.
 */
export async function createDataset(db: AtelierDb, input: { name?: string | null; files: UploadFile[] }, session: Session | null): Promise<UploadResult> {
  const files = input.files;
  if (files.length === 0) throw uploadRefused("bad_request:studio", "Choose at least one file to upload.");
  if (files.length > MAX_UPLOAD_FILES) throw uploadRefused("bad_request:studio", `At most ${MAX_UPLOAD_FILES} files per upload (got ${files.length}).`);
  const limit = maxUploadBytes();
  const total = files.reduce((n, f) => n + f.bytes.length, 0);
  if (total > limit) {
    throw uploadRefused("too_large:studio", `The upload is ${(total / MB).toFixed(1)} MB; the limit is ${env().ATELIER_MAX_UPLOAD_MB} MB (ATELIER_MAX_UPLOAD_MB).`);
  }
  const name = (input.name ?? "").trim() || files[0]!.name.replace(/\.[^.]+$/, "");
  if (name.length > 200) throw uploadRefused("bad_request:studio", "The dataset name is longer than 200 characters.");

  const parsed: ParsedUpload[] = [];
  const problems: UploadProblem[] = [];
  for (const f of files) {
    try {
      parsed.push(await parseUpload(f, limit));
    } catch (err) {
      if (!(err instanceof DocumentParseError)) throw err;
      problems.push({ file: f.name, ...(err.line !== undefined ? { line: err.line } : {}), message: err.message });
    }
  }
  if (problems.length > 0) {
    const first = problems[0]!;
    const more = problems.length > 1 ? ` (${problems.length - 1} more file${problems.length === 2 ? "" : "s"} failed too)` : "";
    const code = problems.some((p) => /over the .* limit/.test(p.message)) ? "too_large:studio" : "bad_request:studio";
    throw uploadRefused(code, `${first.message}${more} Nothing was imported.`, problems);
  }

  for (const p of parsed) {
    const warning = leakageWarning(findLeakage(db, p.records).leakage);
    if (warning) p.warnings.push(warning);
  }
  const records = parsed.flatMap((p) => p.records);
  const kind = records.some((r) => r.kind === "chat") ? "chat" : "text";
  const tokenCount = records.reduce((n, r) => n + estimateTokens(recordText(r)), 0);
  const id = newId();
  db.transaction((tx) => {
    tx.insert(studioDatasets).values({ id, name, kind, recordCount: records.length, bytes: total, tokenEstimate: tokenCount, createdBy: session?.user.id ?? null }).run();
    let position = 0;
    files.forEach((f, i) => {
      const p = parsed[i]!;
      const fileId = newId();
      tx.insert(studioDatasetFiles)
        .values({ id: fileId, datasetId: id, name: f.name, sha256: createHash("sha256").update(f.bytes).digest("hex"), bytes: f.bytes.length, format: p.format, records: p.records.length, warnings: p.warnings })
        .run();
      // Chunked multi-row inserts: SQLite caps bound variables per statement.
      for (let k = 0; k < p.records.length; k += 200) {
        tx.insert(studioRecords)
          .values(
            p.records.slice(k, k + 200).map((r) => ({
              datasetId: id,
              fileId,
              position: position++,
              kind: r.kind,
              text: r.kind === "text" ? r.text : null,
              chat: r.kind === "chat" ? { ...(r.system ? { system: r.system } : {}), messages: r.messages } : null,
            })),
          )
          .run();
      }
    });
  });
  recordAudit(db, session, "dataset.create", { type: "dataset", id }, { name, files: files.map((f) => f.name), records: records.length });
  return {
    dataset: { id, name, format: kind, recordCount: records.length, tokenCount },
    files: files.map((f, i) => ({ name: f.name, records: parsed[i]!.records.length, warnings: parsed[i]!.warnings })),
  };
}

function filesOf(db: AtelierDb, ids: string[]) {
  if (ids.length === 0) return new Map<string, DatasetView["files"]>();
  const rows = db.select().from(studioDatasetFiles).where(inArray(studioDatasetFiles.datasetId, ids)).orderBy(asc(studioDatasetFiles.uploadedAt)).all();
  const out = new Map<string, DatasetView["files"]>();
  for (const r of rows) {
    const list = out.get(r.datasetId) ?? [];
    list.push({ name: r.name, sha256: r.sha256, bytes: r.bytes, format: r.format, records: r.records, warnings: r.warnings, uploadedAt: r.uploadedAt });
    out.set(r.datasetId, list);
  }
  return out;
}

function toView(row: StudioDatasetRow, files: DatasetView["files"]): DatasetView {
  return { id: row.id, name: row.name, kind: row.kind, recordCount: row.recordCount, bytes: row.bytes, tokenEstimate: row.tokenEstimate, createdAt: row.createdAt, files };
}

export function listDatasets(db: AtelierDb): DatasetView[] {
  const rows = db.select().from(studioDatasets).orderBy(desc(studioDatasets.createdAt)).all();
  const files = filesOf(db, rows.map((r) => r.id));
  return rows.map((r) => toView(r, files.get(r.id) ?? []));
}

export function getDatasetRow(db: AtelierDb, id: string): StudioDatasetRow {
  const row = db.select().from(studioDatasets).where(eq(studioDatasets.id, id)).get();
  if (!row) throw notFound("studio", "Dataset", id);
  return row;
}

export function toRecord(r: StudioRecordRow): StudioRecord {
  return r.kind === "chat" ? { kind: "chat", ...r.chat! } : { kind: "text", text: r.text ?? "" };
}

/** Every record of a dataset, in upload order. */
export function loadRecords(db: AtelierDb, datasetId: string): StudioRecord[] {
  return db.select().from(studioRecords).where(eq(studioRecords.datasetId, datasetId)).orderBy(asc(studioRecords.position)).all().map(toRecord);
}

export function getDataset(db: AtelierDb, id: string): DatasetDetail {
  const row = getDatasetRow(db, id);
  const records = loadRecords(db, id);
  const lengths = records.map((r) => recordText(r).length);
  const chars = lengths.reduce((a, b) => a + b, 0);
  // A loop, not Math.min(...lengths): spreading 150k arguments overflows the stack.
  let minChars = lengths.length ? Infinity : 0;
  let maxChars = 0;
  for (const n of lengths) {
    if (n < minChars) minChars = n;
    if (n > maxChars) maxChars = n;
  }
  const stats: DatasetStats = {
    textRecords: records.filter((r) => r.kind === "text").length,
    chatRecords: records.filter((r) => r.kind === "chat").length,
    chars,
    avgChars: records.length ? Math.round(chars / records.length) : 0,
    minChars,
    maxChars,
    turns: records.reduce((n, r) => n + (r.kind === "chat" ? r.messages.length : 0), 0),
  };
  return { ...toView(row, filesOf(db, [id]).get(id) ?? []), samples: records.slice(0, 5), stats };
}

export function deleteDataset(db: AtelierDb, id: string, session: Session | null): { id: string } {
  const row = getDatasetRow(db, id);
  const active = db
    .select({ id: studioRuns.id, name: studioRuns.name })
    .from(studioRuns)
    .where(and(eq(studioRuns.datasetId, id), inArray(studioRuns.status, ["queued", "running"])))
    .all();
  if (active.length > 0) throw new AtelierError("conflict:studio", `Dataset ${row.name} is used by ${active.map((r) => `"${r.name}"`).join(", ")}, which ${active.length === 1 ? "is" : "are"} queued or running; cancel first.`);
  db.delete(studioDatasets).where(eq(studioDatasets.id, id)).run();
  recordAudit(db, session, "dataset.delete", { type: "dataset", id }, { name: row.name });
  return { id };
}
