import "server-only";
import { parseTrainingFile, type TrainingRecord } from "../forge";
import type { StudioRecord } from "./types";

/*
 * Uploaded file → studio records, through forge's one training-record parser (the CLI reads
 * --data files with the same code). Every problem is a DocumentParseError naming the file and,
 * where there is one, the line.
 */

export type ParsedUpload = { format: string; records: StudioRecord[]; warnings: string[] };

/** A stored record keeps what the studio shows and trains on (no split group: the studio splits by content). */
function studioRecord(r: TrainingRecord): StudioRecord {
  if (r.kind === "text") return r;
  return { kind: "chat", ...(r.system !== undefined ? { system: r.system } : {}), messages: r.messages };
}

export async function parseUpload(file: { name: string; bytes: Uint8Array; mime?: string | null }, maxBytes: number): Promise<ParsedUpload> {
  const parsed = await parseTrainingFile(file, maxBytes);
  return { ...parsed, records: parsed.records.map(studioRecord) };
}

export { recordText } from "../forge";

/**
 * Byte-level token estimate (no tokenizer at hand: uploads, scratch): a small byte-level BPE
 * trained on the data itself compresses English to about 3.5 bytes a token.
 */
export const BYTES_PER_TOKEN_ESTIMATE = 3.5;
export function estimateTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, "utf8") / BYTES_PER_TOKEN_ESTIMATE);
}
