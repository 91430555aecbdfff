import { checkSize, decodeText, DEFAULT_MAX_DOCUMENT_BYTES } from "./decode";
import { parseDocx } from "./docx";
import { parseHtml } from "./html";
import { parseMarkdown, parsePlainText } from "./markdown";
import { parsePdf, type PdfLimits } from "./pdf";
import { OFF_THREAD_FROM_BYTES, runOffThread } from "./off-thread";
import { parseCsv, parseJson, parseJsonLines } from "./structured";
import { DocumentParseError, type DocumentFormat, type ParsedDocument } from "./types";

export { DEFAULT_MAX_DOCUMENT_BYTES, decodeText } from "./decode";
export { parseCsvRows } from "./structured";
export { DocumentParseError } from "./types";
export { OFF_THREAD_FROM_BYTES, runOffThread } from "./off-thread";
export type { DocumentFormat, OutlineEntry, ParsedDocument, ParseErrorReason } from "./types";

/*
 * Parsers shared by the knowledge base and the training studio. Supported: plain text,
 * Markdown, HTML, JSON, JSON Lines, CSV/TSV (decoded, then parsed synchronously) and PDF,
 * DOCX (binary, extracted asynchronously: parseDocument is async for that reason).
 */

const BY_EXTENSION: Record<string, DocumentFormat> = {
  txt: "text", text: "text", log: "text", rst: "text", org: "text",
  md: "markdown", markdown: "markdown", mdown: "markdown", mkd: "markdown", mdx: "markdown",
  html: "html", htm: "html", xhtml: "html",
  json: "json",
  jsonl: "jsonl", ndjson: "jsonl",
  csv: "csv", tsv: "csv",
  pdf: "pdf",
  docx: "docx",
};

const BY_MIME: Record<string, DocumentFormat> = {
  "text/plain": "text",
  "text/markdown": "markdown",
  "text/x-markdown": "markdown",
  "text/html": "html",
  "application/xhtml+xml": "html",
  "application/json": "json",
  "application/jsonl": "jsonl",
  "application/x-ndjson": "jsonl",
  "application/x-jsonlines": "jsonl",
  "text/csv": "csv",
  "text/tab-separated-values": "csv",
  "application/pdf": "pdf",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
};

export const FORMAT_MIME: Record<DocumentFormat, string> = {
  text: "text/plain",
  markdown: "text/markdown",
  html: "text/html",
  json: "application/json",
  jsonl: "application/jsonl",
  csv: "text/csv",
  pdf: "application/pdf",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
};

export const SUPPORTED_EXTENSIONS = Object.keys(BY_EXTENSION).map((e) => `.${e}`);

function extensionOf(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  const dot = base.lastIndexOf(".");
  return dot <= 0 ? "" : base.slice(dot + 1).toLowerCase();
}

/** The format a file will be parsed as, from its extension, then its MIME type. */
export function detectFormat(fileName: string, mime?: string | null): DocumentFormat {
  const ext = extensionOf(fileName);
  const byExt = BY_EXTENSION[ext];
  if (byExt) return byExt;
  const byMime = mime ? BY_MIME[mime.split(";")[0]!.trim().toLowerCase()] : undefined;
  if (byMime) return byMime;
  if (ext === "doc" || ext === "odt" || ext === "rtf") {
    throw new DocumentParseError(fileName, "unsupported", `.${ext} import is not supported (save it as .docx, PDF, Markdown or HTML).`);
  }
  if (ext === "") return "text";
  throw new DocumentParseError(
    fileName,
    "unsupported",
    `.${ext} files are not supported (supported: ${SUPPORTED_EXTENSIONS.join(", ")}).`,
  );
}

export type ParseInput = { fileName: string; bytes: Uint8Array; mime?: string | null };
export type ParseOptions = { maxBytes?: number; pdf?: PdfLimits };

type ParserOutput = { title: string | null; text: string; outline: ParsedDocument["outline"]; warnings?: string[] };

function finish(fileName: string, format: DocumentFormat, out: ParserOutput, encoding: ParsedDocument["encoding"]): ParsedDocument {
  if (out.text.trim() === "") {
    throw new DocumentParseError(fileName, "no-text", `no text found in this ${format === "text" ? "file" : `${format.toUpperCase()} file`}.`);
  }
  const warnings = [...(out.warnings ?? [])];
  if (encoding === "windows-1252") warnings.push("The file is not valid UTF-8; it was read as Windows-1252.");
  return { format, title: out.title, text: out.text, outline: out.outline, encoding, warnings };
}

/**
 * Bytes of any supported file → plain text + outline. Throws DocumentParseError. PDF, DOCX and
 * files over OFF_THREAD_FROM_BYTES are parsed in the parse worker (off-thread.ts), so the
 * server's event loop stays free; small text files in place.
 */
export async function parseDocument(input: ParseInput, options: ParseOptions = {}): Promise<ParsedDocument> {
  const format = detectFormat(input.fileName, input.mime);
  if (format === "pdf" || format === "docx" || input.bytes.length >= OFF_THREAD_FROM_BYTES) {
    const job = runOffThread<ParsedDocument>("server/documents/worker-tasks.ts", "parseDocument", [input, options], input.fileName);
    if (job) return job;
  }
  return parseDocumentHere(input, options);
}

/** parseDocument in the calling thread. */
export async function parseDocumentHere(input: ParseInput, options: ParseOptions = {}): Promise<ParsedDocument> {
  const { fileName, bytes } = input;
  const format = detectFormat(fileName, input.mime);
  if (format !== "pdf" && format !== "docx") return parseTextDocument(input, options);
  checkSize(fileName, bytes, options.maxBytes ?? DEFAULT_MAX_DOCUMENT_BYTES);
  const out = format === "pdf" ? await parsePdf(fileName, bytes, options.pdf) : await parseDocx(fileName, bytes);
  return finish(fileName, format, out, "utf-8");
}

/**
 * The synchronous half of parseDocument: text formats only (a .pdf/.docx is refused, those
 * need the async parseDocument).
 */
export function parseTextDocument(input: ParseInput, options: ParseOptions = {}): ParsedDocument {
  const { fileName, bytes } = input;
  const format = detectFormat(fileName, input.mime);
  if (format === "pdf" || format === "docx") {
    throw new DocumentParseError(fileName, "unsupported", `${format.toUpperCase()} files are read by parseDocument (async), not parseTextDocument.`);
  }
  const { text: source, encoding } = decodeText(fileName, bytes, options.maxBytes ?? DEFAULT_MAX_DOCUMENT_BYTES);
  let out: ParserOutput;
  switch (format) {
    case "text":
      out = parsePlainText(source);
      break;
    case "markdown":
      out = parseMarkdown(source);
      break;
    case "html":
      out = parseHtml(source);
      break;
    case "json":
      out = parseJson(fileName, source);
      break;
    case "jsonl":
      out = parseJsonLines(fileName, source);
      break;
    case "csv":
      out = parseCsv(fileName, source, extensionOf(fileName) === "tsv" ? "\t" : undefined);
      break;
  }
  return finish(fileName, format, out, encoding);
}
