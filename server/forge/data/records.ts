import { decodeText, detectFormat, DocumentParseError, OFF_THREAD_FROM_BYTES, parseCsvRows, parseDocument, runOffThread } from "../../documents";
import type { ChatMessage, ChatRecord } from "./render";

/*
 * A training file → training records: the one parser of chat records, used by the studio's
 * uploads and by the forge CLI. File handling is shared with the knowledge base (server/documents:
 * format detection, decoding, binary/empty/size checks, HTML/Markdown/text extraction, CSV
 * tokenizer); this file adds the record shapes training needs:
 *  - .jsonl / .json: chat records — OpenAI {"messages":[{role,content}]}, Alpaca
 *    {"instruction","input"?,"output"}, {"question"|"prompt","answer"|"response"} — or {"text"} passages;
 *  - .csv/.tsv: question,answer (also prompt,response / instruction,input,output) or a text column;
 *  - text, Markdown, HTML: passages of about a paragraph (see passagesOf), so duplicate removal,
 *    length filters and the held-out split work on units smaller than a file.
 * Every problem is a DocumentParseError naming the file and, where there is one, the line.
 */

/** Raw text passages: whole paragraphs, shorter ones joined up to MIN_PASSAGE_CHARS, never past PASSAGE_CHARS. */
export const PASSAGE_CHARS = 1500;
export const MIN_PASSAGE_CHARS = 80;

/** Raw text (every token a target) or a chat (loss on the answers). */
export type TrainingRecord = { kind: "text"; text: string } | ({ kind: "chat" } & ChatRecord);
export type ParsedTrainingFile = { format: string; records: TrainingRecord[]; warnings: string[] };

function fail(file: string, reason: "invalid-json" | "invalid-csv" | "no-text", detail: string, line?: number): never {
  throw new DocumentParseError(file, reason, detail, line);
}

/** Validates a chat record: alternating user/assistant turns with text, at least one answer. */
function checkChat(rec: ChatRecord): string | null {
  if (rec.messages.length === 0) return "the conversation has no messages";
  if (!rec.messages.some((m) => m.role === "assistant")) return "the conversation has no assistant answer to learn";
  for (let i = 0; i < rec.messages.length; i++) {
    const m = rec.messages[i]!;
    if (m.content.trim() === "") return `message ${i + 1} (${m.role}) is empty`;
    const want = i % 2 === 0 ? "user" : "assistant";
    if (m.role !== want) return `message ${i + 1} should be a ${want} turn (turns alternate user, assistant, starting with the user)`;
  }
  return null;
}

const SHAPES = `{"messages":[{"role":"user","content":…},{"role":"assistant","content":…}]}, {"instruction","input","output"}, {"question","answer"} or {"text"}`;

/** One JSON object → a record, or an error message. */
function recordOf(obj: unknown): TrainingRecord | string {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return `expected a JSON object: ${SHAPES}`;
  const o = obj as Record<string, unknown>;
  // Alpaca: the instruction and the optional input form the question
  if (typeof o.instruction === "string" && typeof o.output === "string") {
    const q = typeof o.input === "string" && o.input.trim() ? `${o.instruction}\n\n${o.input}` : o.instruction;
    o.question = q;
    o.answer = o.output;
  }
  if (Array.isArray(o.messages) || ("question" in o || "prompt" in o || "user" in o)) {
    const chat = toChatRecord(o);
    if (!chat) return `not a valid chat record: expected ${SHAPES}`;
    const record: ChatRecord = { ...(chat.system?.trim() ? { system: chat.system } : {}), messages: chat.messages, ...(chat.group ? { group: chat.group } : {}) };
    const problem = checkChat(record);
    return problem ?? { kind: "chat", ...record };
  }
  if (typeof o.text === "string") return o.text.trim() ? { kind: "text", text: o.text.trim() } : "the \"text\" field is empty";
  return `unrecognised record (keys: ${Object.keys(o).slice(0, 6).join(", ") || "none"}); expected ${SHAPES}`;
}

function jsonLines(file: string, source: string): TrainingRecord[] {
  const out: TrainingRecord[] = [];
  source.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      fail(file, "invalid-json", `invalid JSON (${String((err as Error).message).slice(0, 120)}).`, i + 1);
    }
    const rec = recordOf(value);
    if (typeof rec === "string") fail(file, "invalid-json", `${rec}.`, i + 1);
    out.push(rec);
  });
  return out;
}

function lineOfPosition(source: string, err: unknown): number | undefined {
  const m = /position (\d+)/.exec(String((err as Error)?.message ?? ""));
  if (!m) return undefined;
  let line = 1;
  for (let i = 0; i < Number(m[1]) && i < source.length; i++) if (source.charCodeAt(i) === 10) line++;
  return line;
}

function jsonDocument(file: string, source: string): TrainingRecord[] {
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (err) {
    fail(file, "invalid-json", `invalid JSON (${String((err as Error).message).slice(0, 120)}).`, lineOfPosition(source, err));
  }
  const o = value as Record<string, unknown> | null;
  const items: unknown[] = Array.isArray(value)
    ? value
    : o && typeof o === "object" && Array.isArray(o.data)
      ? (o.data as unknown[])
      : o && typeof o === "object" && Array.isArray(o.records)
        ? (o.records as unknown[])
        : [value];
  return items.map((item, i) => {
    const rec = recordOf(item);
    if (typeof rec === "string") fail(file, "invalid-json", `item ${i + 1}: ${rec}.`);
    return rec;
  });
}

const Q_COLUMNS = ["question", "prompt", "instruction", "user", "q"];
const A_COLUMNS = ["answer", "response", "output", "assistant", "completion", "a"];

function csvRecords(file: string, source: string, delimiter?: string): TrainingRecord[] {
  const rows = parseCsvRows(file, source, delimiter);
  if (rows.length < 2) fail(file, "invalid-csv", "expected a header row (question,answer) and at least one data row.");
  const header = rows[0]!.map((h) => h.trim().toLowerCase());
  const qi = header.findIndex((h) => Q_COLUMNS.includes(h));
  const ai = header.findIndex((h) => A_COLUMNS.includes(h));
  const ii = header.indexOf("input");
  const si = header.indexOf("system");
  const ti = header.indexOf("text");
  if ((qi < 0 || ai < 0) && ti < 0) {
    fail(file, "invalid-csv", `the header (${rows[0]!.join(", ").slice(0, 120)}) needs a question and an answer column (question,answer / prompt,response / instruction,output) or a text column.`, 1);
  }
  // Data rows are numbered as lines assuming one row per line (quoted newlines shift it; the row number is exact).
  return rows.slice(1).map((row, k) => {
    const at = `row ${k + 2}`;
    if (row.length !== header.length) fail(file, "invalid-csv", `${at} has ${row.length} columns, the header has ${header.length}.`, k + 2);
    if (qi >= 0 && ai >= 0) {
      const extra = ii >= 0 && row[ii]!.trim() ? `\n\n${row[ii]!.trim()}` : "";
      const q = row[qi]!.trim() + extra;
      const a = row[ai]!.trim();
      if (!q || !a) fail(file, "invalid-csv", `${at}: the ${q ? "answer" : "question"} is empty.`, k + 2);
      const system = si >= 0 && row[si]!.trim() ? { system: row[si]!.trim() } : {};
      return { kind: "chat" as const, ...system, messages: [{ role: "user" as const, content: q }, { role: "assistant" as const, content: a }] };
    }
    const t = row[ti]!.trim();
    if (!t) fail(file, "invalid-csv", `${at}: the text is empty.`, k + 2);
    return { kind: "text" as const, text: t };
  });
}

/**
 * Raw text → passages: one paragraph each, so duplicate removal and the held-out split see
 * paragraphs; a short paragraph (a heading, a one-liner) joins the next one, and a passage never
 * grows past PASSAGE_CHARS by joining.
 */
export function passagesOf(text: string): string[] {
  const paras = text.split(/\n{2,}/).map((p) => p.trim()).filter(Boolean);
  const out: string[] = [];
  let cur = "";
  for (const p of paras) {
    if (cur && cur.length + 2 + p.length > PASSAGE_CHARS) {
      out.push(cur);
      cur = "";
    }
    cur = cur ? `${cur}\n\n${p}` : p;
    if (cur.length >= MIN_PASSAGE_CHARS) {
      out.push(cur);
      cur = "";
    }
  }
  if (cur) out.push(cur);
  return out;
}

/** Formats that hold records (JSON Lines, JSON, CSV/TSV) rather than running text. */
export function isRecordFormat(fileName: string, mime?: string | null): boolean {
  const format = detectFormat(fileName, mime);
  return format === "jsonl" || format === "json" || format === "csv";
}

/**
 * The records of a JSON Lines, JSON or CSV/TSV file (synchronous: no PDF or DOCX here); throws
 * DocumentParseError naming the file and line.
 */
export function parseRecordFile(file: { name: string; bytes: Uint8Array; mime?: string | null }, maxBytes: number): ParsedTrainingFile {
  const format = detectFormat(file.name, file.mime);
  const { text, encoding } = decodeText(file.name, file.bytes, maxBytes);
  const warnings = encoding === "windows-1252" ? ["The file is not valid UTF-8; it was read as Windows-1252."] : [];
  const records =
    format === "jsonl"
      ? jsonLines(file.name, text)
      : format === "json"
        ? jsonDocument(file.name, text)
        : format === "csv"
          ? csvRecords(file.name, text, file.name.toLowerCase().endsWith(".tsv") ? "\t" : undefined)
          : fail(file.name, "no-text", `expected a .jsonl, .json, .csv or .tsv file of records (got ${format}).`);
  if (records.length === 0) fail(file.name, "no-text", "the file has no records.");
  return { format, records, warnings };
}

/**
 * Parses one training file into records (text files become paragraph passages); throws
 * DocumentParseError (with file and line). Large files, PDF and DOCX are parsed in the parse
 * worker (documents/off-thread.ts) so the server keeps answering meanwhile.
 */
export async function parseTrainingFile(file: { name: string; bytes: Uint8Array; mime?: string | null }, maxBytes: number): Promise<ParsedTrainingFile> {
  const format = detectFormat(file.name, file.mime);
  if (format === "pdf" || format === "docx" || file.bytes.length >= OFF_THREAD_FROM_BYTES) {
    const job = runOffThread<ParsedTrainingFile>("server/forge/data/worker-tasks.ts", "parseTrainingFile", [file, maxBytes], file.name);
    if (job) return job;
  }
  return parseTrainingFileHere(file, maxBytes);
}

/** parseTrainingFile in the calling thread. */
export async function parseTrainingFileHere(file: { name: string; bytes: Uint8Array; mime?: string | null }, maxBytes: number): Promise<ParsedTrainingFile> {
  if (isRecordFormat(file.name, file.mime)) return parseRecordFile(file, maxBytes);
  const doc = await parseDocument({ fileName: file.name, bytes: file.bytes, mime: file.mime ?? null }, { maxBytes });
  const records = passagesOf(doc.text).map((text) => ({ kind: "text" as const, text }));
  if (records.length === 0) fail(file.name, "no-text", "no text found in this file.");
  return { format: doc.format, records, warnings: doc.warnings };
}

/** Plain text of a record (for lengths, duplicate detection and display). */
export function recordText(r: TrainingRecord): string {
  if (r.kind === "text") return r.text;
  return [r.system ? `system: ${r.system}` : null, ...r.messages.map((m) => `${m.role}: ${m.content}`)].filter(Boolean).join("\n");
}

/** An object → a chat record: OpenAI {messages} (a system message becomes `system`) or {question|prompt|user, answer|response|assistant}; null otherwise. */
export function toChatRecord(obj: Record<string, unknown>): ChatRecord | null {
  const system = typeof obj.system === "string" ? obj.system : undefined;
  const group = typeof obj.group === "string" ? obj.group : undefined;
  if (Array.isArray(obj.messages)) {
    const messages: ChatMessage[] = [];
    let sys = system;
    for (const m of obj.messages as { role?: unknown; content?: unknown }[]) {
      if (typeof m?.content !== "string") return null;
      if (m.role === "system") sys = m.content;
      else if (m.role === "user" || m.role === "assistant") messages.push({ role: m.role, content: m.content });
      else return null;
    }
    return { ...(sys !== undefined ? { system: sys } : {}), messages, ...(group ? { group } : {}) };
  }
  const q = obj.question ?? obj.prompt ?? obj.user;
  const a = obj.answer ?? obj.response ?? obj.assistant;
  if (typeof q === "string" && typeof a === "string")
    return { ...(system !== undefined ? { system } : {}), messages: [{ role: "user", content: q }, { role: "assistant", content: a }], ...(group ? { group } : {}) };
  return null;
}
