import { TextBuilder } from "./builder";
import { DocumentParseError, type OutlineEntry } from "./types";

type Parsed = { title: string | null; text: string; outline: OutlineEntry[]; warnings: string[] };

/** Keys whose string values are identifiers or machine data, not prose. */
const NON_TEXT_KEY = /^(?:_?id|uuid|guid|.*[_-]id|.*[a-z]Id|ids|url|uri|href|src|link|hash|sha\d*|md5|checksum|etag|created_?at|updated_?at|timestamp|date_?time|mime|mime_?type|content_?type|encoding|embedding|vector)$/;
/** Keys whose value makes a good heading for the record that holds it. */
const TITLE_KEYS = ["title", "name", "heading", "subject", "question"];

function labelOf(key: string): string {
  return key.replace(/[_-]+/g, " ").trim();
}

const isMessage = (v: object): boolean =>
  typeof (v as Record<string, unknown>).role === "string" && typeof (v as Record<string, unknown>).content === "string";

/**
 * Writes the text fields of a JSON value. Objects become "key: value" lines (nested objects
 * indent their keys' labels into a path), arrays of records become paragraphs, chat-style
 * {role, content} messages become "role: content".
 */
function emitJson(b: TextBuilder, value: unknown, path: string, depth: number): void {
  if (depth > 64) return;
  if (typeof value === "string") {
    const v = value.trim();
    if (v === "") return;
    const lines = v.split("\n");
    if (path) b.line(`${path}: ${lines[0]}`);
    else b.line(lines[0]!);
    for (const l of lines.slice(1)) b.line(l);
    return;
  }
  if (typeof value === "number" || typeof value === "boolean") {
    if (path) b.line(`${path}: ${String(value)}`);
    return;
  }
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === "number" || v === null)) return; // vectors, series
    if (value.every((v) => typeof v === "string")) {
      const items = value.map((v) => (v as string).trim()).filter((v) => v !== "");
      if (items.length === 0) return;
      if (items.some((v) => v.length > 80 || v.includes("\n"))) {
        for (const v of items) emitJson(b, v, path, depth + 1);
      } else if (path) b.line(`${path}: ${items.join(", ")}`);
      else b.line(items.join(", "));
      return;
    }
    for (const item of value) {
      if (item !== null && typeof item === "object" && !isMessage(item)) b.paragraph();
      emitJson(b, item, path, depth + 1);
    }
    b.paragraph();
    return;
  }
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (isMessage(obj)) {
      emitJson(b, obj.content, obj.role as string, depth + 1);
      return;
    }
    const titleKey = depth <= 2 ? TITLE_KEYS.find((k) => typeof obj[k] === "string" && (obj[k] as string).trim() !== "" && (obj[k] as string).length <= 200) : undefined;
    if (titleKey) b.heading(Math.min(6, depth + 1), obj[titleKey] as string);
    for (const [key, v] of Object.entries(obj)) {
      if (key === titleKey || NON_TEXT_KEY.test(key)) continue;
      const label = labelOf(key);
      const sub = path && !titleKey ? `${path} ${label}` : label;
      emitJson(b, v, sub, depth + 1);
    }
  }
}

/** Position of a JSON.parse error as a 1-based line, where the engine reports one. */
function jsonErrorLine(source: string, err: unknown): number | undefined {
  const m = /position (\d+)/.exec(String((err as Error)?.message ?? ""));
  if (!m) return undefined;
  const pos = Number(m[1]);
  let line = 1;
  for (let i = 0; i < pos && i < source.length; i++) if (source.charCodeAt(i) === 10) line++;
  return line;
}

function shortJsonMessage(err: unknown): string {
  return String((err as Error)?.message ?? err)
    .replace(/^JSON\.parse: /, "")
    .replace(/\s+/g, " ")
    .slice(0, 160);
}

export function parseJson(fileName: string, source: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (err) {
    throw new DocumentParseError(fileName, "invalid-json", `invalid JSON (${shortJsonMessage(err)}).`, jsonErrorLine(source, err));
  }
  const b = new TextBuilder();
  emitJson(b, value, "", 0);
  const built = b.build();
  const title =
    value !== null && typeof value === "object" && !Array.isArray(value) && typeof (value as Record<string, unknown>).title === "string"
      ? ((value as Record<string, unknown>).title as string).trim() || null
      : null;
  return { title, ...built, warnings: [] };
}

export function parseJsonLines(fileName: string, source: string): Parsed {
  const b = new TextBuilder();
  const lines = source.split("\n");
  let blank = 0;
  let records = 0;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === "") {
      blank++;
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new DocumentParseError(fileName, "invalid-json", `invalid JSON on this line (${shortJsonMessage(err)}).`, n + 1);
    }
    records++;
    b.paragraph();
    emitJson(b, value, "", 1);
  }
  const warnings: string[] = [];
  // A trailing newline leaves one empty "line"; only report real gaps.
  const gaps = blank - (lines[lines.length - 1]?.trim() === "" ? 1 : 0);
  if (gaps > 0) warnings.push(`${gaps} empty line${gaps === 1 ? "" : "s"} skipped.`);
  if (records === 0) throw new DocumentParseError(fileName, "no-text", "the file has no JSON records.");
  return { title: null, ...b.build(), warnings };
}

/** RFC 4180 CSV (quoted fields, doubled quotes, newlines inside quotes); delimiter sniffed. */
export function parseCsvRows(fileName: string, source: string, delimiter?: string): string[][] {
  const delim = delimiter ?? sniffDelimiter(source);
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let i = 0;
  let line = 1;
  let rowHasContent = false;
  const n = source.length;
  while (i < n) {
    const c = source[i]!;
    if (c === '"' && field === "") {
      const startLine = line;
      i++;
      let closed = false;
      while (i < n) {
        const d = source[i]!;
        if (d === '"') {
          if (source[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          closed = true;
          i++;
          break;
        }
        if (d === "\n") line++;
        field += d;
        i++;
      }
      if (!closed) {
        throw new DocumentParseError(fileName, "invalid-csv", "a quoted field is never closed (missing '\"').", startLine);
      }
      rowHasContent = true;
      // Anything between the closing quote and the delimiter is kept, as spreadsheets do.
      continue;
    }
    if (c === delim) {
      row.push(field);
      field = "";
      rowHasContent = true;
      i++;
      continue;
    }
    if (c === "\n") {
      if (rowHasContent || field !== "") {
        row.push(field);
        rows.push(row);
      }
      row = [];
      field = "";
      rowHasContent = false;
      line++;
      i++;
      continue;
    }
    field += c;
    i++;
  }
  if (rowHasContent || field !== "") {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function sniffDelimiter(source: string): string {
  const firstLine = source.slice(0, source.indexOf("\n") < 0 ? source.length : source.indexOf("\n"));
  let best = ",";
  let bestCount = 0;
  for (const d of [",", ";", "\t", "|"]) {
    let count = 0;
    let quoted = false;
    for (const c of firstLine) {
      if (c === '"') quoted = !quoted;
      else if (c === d && !quoted) count++;
    }
    if (count > bestCount) (best = d), (bestCount = count);
  }
  return best;
}

/** CSV/TSV: the first row names the columns; each row becomes a paragraph of "column: value" lines. */
export function parseCsv(fileName: string, source: string, delimiter?: string): Parsed {
  const rows = parseCsvRows(fileName, source, delimiter);
  if (rows.length === 0) throw new DocumentParseError(fileName, "no-text", "the file has no rows.");
  const header = rows[0]!.map((h, k) => h.trim() || `column ${k + 1}`);
  const b = new TextBuilder();
  const warnings: string[] = [];
  let ragged = 0;
  const body = rows.length === 1 ? rows : rows.slice(1);
  const useHeader = rows.length > 1 && header.length > 1;
  for (const row of body) {
    if (useHeader && row.length !== header.length) ragged++;
    b.paragraph();
    row.forEach((cell, k) => {
      const v = cell.trim();
      if (v === "") return;
      if (useHeader) {
        const key = header[k] ?? `column ${k + 1}`;
        if (NON_TEXT_KEY.test(key)) return;
        emitJson(b, v, key, 1);
      } else emitJson(b, v, "", 1);
    });
  }
  if (ragged > 0) warnings.push(`${ragged} row${ragged === 1 ? " has" : "s have"} a different number of columns than the header.`);
  return { title: null, ...b.build(), warnings };
}
