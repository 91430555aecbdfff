import { readFileSync } from "node:fs";
import path from "node:path";
import { DocumentParseError } from "../../documents";
import { ForgeError } from "../errors";
import { isRecordFormat, parseRecordFile } from "./records";
import type { ChatRecord, TextDocument } from "./render";

/** The most one CLI data file may weigh. */
const MAX_CORPUS_BYTES = 4 * 1024 ** 3;

/**
 * One --data file of the CLI: records from .jsonl / .json / .csv / .tsv (chat records in the
 * studio's shapes: OpenAI messages, Alpaca, question/answer; or {"text"} passages), any other
 * file as one raw-text document. A bad record is a BAD_CONFIG error naming file:line.
 */
export function loadCorpusFile(file: string): { documents: TextDocument[]; chats: ChatRecord[] } {
  if (!isRecordFormat(file)) return { documents: [{ text: readFileSync(file, "utf8"), id: path.basename(file) }], chats: [] };
  let records;
  try {
    ({ records } = parseRecordFile({ name: path.basename(file), bytes: readFileSync(file) }, MAX_CORPUS_BYTES));
  } catch (err) {
    if (!(err instanceof DocumentParseError)) throw err;
    throw new ForgeError("BAD_CONFIG", `${file}${err.line !== undefined ? `:${err.line}` : ""}: ${err.detail}`, { cause: err });
  }
  const documents: TextDocument[] = [];
  const chats: ChatRecord[] = [];
  records.forEach((r, i) => {
    if (r.kind === "text") documents.push({ text: r.text, id: `${path.basename(file)}#${i}` });
    else {
      const { kind: _kind, ...chat } = r;
      chats.push(chat);
    }
  });
  return { documents, chats };
}
