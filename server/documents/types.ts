import { AtelierError } from "../errors";

/** A heading found in a document: `offset` points into ParsedDocument.text. */
export type OutlineEntry = { offset: number; level: number; text: string };

/** Text formats are decoded then parsed; "pdf" and "docx" are binary and extracted first. */
export type DocumentFormat = "text" | "markdown" | "html" | "json" | "jsonl" | "csv" | "pdf" | "docx";

/** What every parser returns: plain text (\n line ends) plus the headings inside it. */
export type ParsedDocument = {
  format: DocumentFormat;
  /** Title found in the file (front matter, <title>, first H1), else null. */
  title: string | null;
  text: string;
  outline: OutlineEntry[];
  /** The encoding the bytes were read as (PDF and DOCX text comes out as Unicode: "utf-8"). */
  encoding: "utf-8" | "utf-16le" | "utf-16be" | "windows-1252";
  /** Non-fatal notes for the user (e.g. "3 empty JSONL lines skipped"). */
  warnings: string[];
};

export type ParseErrorReason =
  | "empty"
  | "too-large"
  | "binary"
  | "unsupported"
  | "invalid-json"
  | "invalid-csv"
  | "no-text"
  | "encrypted"
  | "corrupt"
  | "timeout";

/** A file that cannot be imported; the message names the file and what is wrong. */
export class DocumentParseError extends AtelierError {
  readonly fileName: string;
  readonly reason: ParseErrorReason;
  /** 1-based line of the problem, where there is one. */
  readonly line: number | undefined;
  /** What is wrong, without the file and line (the message has both). */
  readonly detail: string;
  constructor(fileName: string, reason: ParseErrorReason, detail: string, line?: number) {
    const where = line === undefined ? "" : ` line ${line}`;
    super(reason === "too-large" ? "too_large:knowledge" : "bad_request:knowledge", `"${fileName}"${where}: ${detail}`);
    this.name = "DocumentParseError";
    this.fileName = fileName;
    this.reason = reason;
    this.line = line;
    this.detail = detail;
  }
}
