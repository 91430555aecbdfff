import "server-only";
import type { AtelierDb } from "../db/client";
import { AtelierError } from "../errors";
import { listCollections, listDocuments } from "../knowledge";
import type { EvalRowRow, ExpectedSource } from "./schema";
import { EVAL_LIMITS, rowInput, type RowInput } from "./types";

/*
 * Eval files in and out. JSONL (one object a line) and CSV (a header row) with the fields
 * question, answer (alias reference), facts, expected_source, should_refuse; JSONL also takes
 * OpenAI {"messages": [...]} records. Import is all-or-nothing: the first bad line is named
 * (file and line) and nothing is stored. Export writes the same shape, so a file round-trips —
 * and, since it uses "question"/"answer", the studio recognises it (and its leakage check fires
 * when someone uploads it as training data).
 */

const MAX_ERRORS = 5;
const FIELD_ALIASES: Record<string, string> = {
  question: "question",
  prompt: "question",
  answer: "reference",
  reference: "reference",
  facts: "facts",
  required_facts: "facts",
  requiredfacts: "facts",
  expected_source: "expectedSource",
  expectedsource: "expectedSource",
  source: "expectedSource",
  should_refuse: "shouldRefuse",
  shouldrefuse: "shouldRefuse",
  out_of_scope: "shouldRefuse",
};
const KNOWN = "question, answer (or reference), facts, expected_source, should_refuse";

type Problem = { line: number; message: string };
export type ImportedRow = RowInput;

function fieldName(key: string): string | undefined {
  return FIELD_ALIASES[key.trim().toLowerCase().replace(/[\s-]+/g, "_")] ?? FIELD_ALIASES[key.trim().toLowerCase().replace(/[\s_-]+/g, "")];
}

function parseBool(v: unknown): boolean | string {
  if (v === undefined || v === null || v === "") return false;
  if (typeof v === "boolean") return v;
  if (v === 1 || v === 0) return v === 1;
  const s = String(v).trim().toLowerCase();
  if (["true", "yes", "y", "1"].includes(s)) return true;
  if (["false", "no", "n", "0"].includes(s)) return false;
  return `should_refuse must be true or false (got "${String(v).slice(0, 40)}")`;
}

function parseFacts(v: unknown): string[] | string {
  if (v === undefined || v === null || v === "") return [];
  if (Array.isArray(v)) return v.every((f) => typeof f === "string") ? (v as string[]).filter((f) => f.trim()) : "facts must be a list of strings";
  if (typeof v !== "string") return "facts must be a list of strings";
  const s = v.trim();
  if (s.startsWith("[")) {
    try {
      return parseFacts(JSON.parse(s));
    } catch {
      return "the facts cell starts with [ but is not a JSON list";
    }
  }
  return s.split(";").map((f) => f.trim()).filter(Boolean);
}

/** The knowledge base's collections and documents, looked up by id or name (case-insensitive) for expected sources. */
export type SourceIndex = {
  collection: (ref: string) => { id: string; name: string } | null;
  document: (ref: string) => { id: string; title: string } | null;
};

export function sourceIndex(db: AtelierDb): SourceIndex {
  const cols = listCollections(db);
  const docs = cols.flatMap((c) => listDocuments(db, c.id));
  const low = (x: string) => x.trim().toLowerCase();
  return {
    collection: (ref) => cols.find((c) => c.id === ref || low(c.name) === low(ref)) ?? null,
    document: (ref) => docs.find((d) => d.id === ref || low(d.title) === low(ref) || low(d.fileName) === low(ref)) ?? null,
  };
}

/** "Harbour handbook", a document id, or "collection:Harbour" → an expected source (matched against the knowledge base). */
export function resolveSource(index: SourceIndex, v: unknown): ExpectedSource | null | string {
  if (v === undefined || v === null || v === "") return null;
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    if ((o.kind === "document" || o.kind === "collection") && typeof o.title === "string") return { kind: o.kind, id: typeof o.id === "string" ? o.id : null, title: o.title };
    return 'expected_source must be a document title, "collection:<name>", or {"kind","id","title"}';
  }
  const s = String(v).trim();
  if (s.length > 500) return "expected_source is longer than 500 characters";
  const col = /^collection:\s*(.+)$/i.exec(s);
  if (col) {
    const name = col[1]!.trim();
    const found = index.collection(name);
    return { kind: "collection", id: found?.id ?? null, title: found?.name ?? name };
  }
  const doc = index.document(s);
  return { kind: "document", id: doc?.id ?? null, title: doc?.title ?? s };
}

/** One record (field → raw value) → a validated row, or a message. */
function toRow(index: SourceIndex, raw: Record<string, unknown>): RowInput | string {
  const fields: Record<string, unknown> = {};
  const unknown: string[] = [];
  if (Array.isArray(raw.messages)) {
    const msgs = raw.messages as { role?: unknown; content?: unknown }[];
    fields.question = msgs.find((m) => m?.role === "user")?.content;
    fields.reference = msgs.find((m) => m?.role === "assistant")?.content;
  }
  for (const [k, v] of Object.entries(raw)) {
    if (k === "messages" || k === "id") continue;
    const f = fieldName(k);
    if (f) fields[f] = v;
    else unknown.push(k);
  }
  if (unknown.length) return `unknown field${unknown.length === 1 ? "" : "s"} ${unknown.map((u) => `"${u}"`).join(", ")}; expected ${KNOWN}`;
  if (typeof fields.question !== "string" || !fields.question.trim()) return "the question is missing or empty";
  if (fields.reference !== undefined && fields.reference !== null && typeof fields.reference !== "string") return "the answer must be text";
  const facts = parseFacts(fields.facts);
  if (typeof facts === "string") return facts;
  const shouldRefuse = parseBool(fields.shouldRefuse);
  if (typeof shouldRefuse === "string") return shouldRefuse;
  const expectedSource = resolveSource(index, fields.expectedSource);
  if (typeof expectedSource === "string") return expectedSource;
  const parsed = rowInput.safeParse({ question: fields.question, reference: fields.reference ?? null, facts, expectedSource, shouldRefuse });
  if (!parsed.success) return parsed.error.issues.map((i) => i.message).join("; ");
  return parsed.data;
}

function jsonlRecords(content: string): { line: number; raw: Record<string, unknown> | string }[] {
  const out: { line: number; raw: Record<string, unknown> | string }[] = [];
  content.split("\n").forEach((text, i) => {
    const line = text.trim();
    if (!line) return;
    try {
      const v = JSON.parse(line) as unknown;
      out.push({ line: i + 1, raw: v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : "expected a JSON object" });
    } catch (err) {
      out.push({ line: i + 1, raw: `invalid JSON (${(err as Error).message.slice(0, 100)})` });
    }
  });
  return out;
}

/** RFC 4180 CSV with the line each record starts on (quoted fields may span lines). */
export function csvRecords(content: string): { line: number; cells: string[] }[] | Problem {
  const out: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let field = "";
  let line = 1;
  let start = 1;
  let quoted = false;
  let fieldStarted = false;
  const delim = content.split("\n", 1)[0]!.includes("\t") && !content.split("\n", 1)[0]!.includes(",") ? "\t" : ",";
  const endRecord = () => {
    cells.push(field);
    if (cells.length > 1 || cells[0]!.trim() !== "") out.push({ line: start, cells });
    cells = [];
    field = "";
    fieldStarted = false;
  };
  for (let i = 0; i < content.length; i++) {
    const c = content[i]!;
    if (quoted) {
      if (c === '"' && content[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === "\n") line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
    } else if (c === delim) {
      cells.push(field);
      field = "";
      fieldStarted = false;
    } else if (c === "\n") {
      endRecord();
      line++;
      start = line;
    } else if (c !== "\r") {
      field += c;
      fieldStarted = true;
    }
  }
  if (quoted) return { line: start, message: "a quoted field is never closed (missing \")" };
  if (field !== "" || cells.length > 0) endRecord();
  return out;
}

/** Parses an eval file; throws one AtelierError naming the file and the first bad lines, having stored nothing. */
export function parseEvalFile(db: AtelierDb, fileName: string, content: string): RowInput[] {
  const ext = /\.([a-z0-9]+)$/i.exec(fileName)?.[1]?.toLowerCase();
  if (Buffer.byteLength(content, "utf8") > EVAL_LIMITS.importBytes) throw new AtelierError("too_large:eval", `"${fileName}" is larger than ${EVAL_LIMITS.importBytes / 1024 / 1024} MB. Nothing was imported.`);
  if (ext !== "jsonl" && ext !== "csv" && ext !== "tsv" && ext !== "json") throw new AtelierError("bad_request:eval", `"${fileName}": eval files are .jsonl or .csv. Nothing was imported.`);
  const problems: Problem[] = [];
  const rows: RowInput[] = [];
  let records: { line: number; raw: Record<string, unknown> | string }[];
  if (ext === "jsonl" || ext === "json") {
    const trimmed = content.trim();
    if (ext === "json" && trimmed.startsWith("[")) {
      try {
        const items = JSON.parse(trimmed) as unknown[];
        records = items.map((v, i) => ({ line: i + 1, raw: v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : "expected a JSON object" }));
      } catch (err) {
        throw new AtelierError("bad_request:eval", `"${fileName}": invalid JSON (${(err as Error).message.slice(0, 100)}). Nothing was imported.`);
      }
    } else records = jsonlRecords(content);
  } else {
    const parsed = csvRecords(content);
    if (!Array.isArray(parsed)) throw new AtelierError("bad_request:eval", `"${fileName}" line ${parsed.line}: ${parsed.message}. Nothing was imported.`);
    if (parsed.length === 0) throw new AtelierError("bad_request:eval", `"${fileName}" is empty. Nothing was imported.`);
    const header = parsed[0]!.cells.map((h) => h.trim());
    const unknown = header.filter((h) => !fieldName(h));
    if (unknown.length) throw new AtelierError("bad_request:eval", `"${fileName}" line 1: unknown column${unknown.length === 1 ? "" : "s"} ${unknown.map((u) => `"${u}"`).join(", ")}; expected ${KNOWN}. Nothing was imported.`);
    if (!header.some((h) => fieldName(h) === "question")) throw new AtelierError("bad_request:eval", `"${fileName}" line 1: the header needs a question column. Nothing was imported.`);
    records = parsed.slice(1).map(({ line, cells }) =>
      cells.length !== header.length
        ? { line, raw: `the row has ${cells.length} cells, the header has ${header.length}` }
        : { line, raw: Object.fromEntries(header.map((h, i) => [h, cells[i]!])) },
    );
  }
  const index = sourceIndex(db);
  for (const { line, raw } of records) {
    const row = typeof raw === "string" ? raw : toRow(index, raw);
    if (typeof row === "string") {
      problems.push({ line, message: row });
      if (problems.length >= MAX_ERRORS) break;
    } else rows.push(row);
  }
  if (problems.length) {
    const where = ext === "json" ? "item" : "line";
    const first = problems[0]!;
    const more = problems.length > 1 ? ` (also ${problems.slice(1).map((p) => `${where} ${p.line}`).join(", ")}${problems.length >= MAX_ERRORS ? ", …" : ""})` : "";
    throw new AtelierError("bad_request:eval", `"${fileName}" ${where} ${first.line}: ${first.message}${more}. Nothing was imported.`);
  }
  if (rows.length === 0) throw new AtelierError("bad_request:eval", `"${fileName}" has no rows. Nothing was imported.`);
  return rows;
}

// --- export ----------------------------------------------------------------------------------

function sourceText(s: ExpectedSource | null): string {
  if (!s) return "";
  return s.kind === "collection" ? `collection:${s.title}` : s.title;
}

export function csvCell(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function exportRows(rows: Pick<EvalRowRow, "question" | "reference" | "facts" | "expectedSource" | "shouldRefuse">[], format: "jsonl" | "csv"): string {
  if (format === "jsonl") {
    return rows
      .map((r) => JSON.stringify({ question: r.question, answer: r.reference, facts: r.facts, expected_source: sourceText(r.expectedSource ?? null) || null, should_refuse: r.shouldRefuse }))
      .join("\n")
      .concat(rows.length ? "\n" : "");
  }
  const lines = ["question,answer,facts,expected_source,should_refuse"];
  for (const r of rows) lines.push([r.question, r.reference ?? "", r.facts.length ? JSON.stringify(r.facts) : "", sourceText(r.expectedSource ?? null), r.shouldRefuse ? "true" : "false"].map(csvCell).join(","));
  return lines.join("\n") + "\n";
}
