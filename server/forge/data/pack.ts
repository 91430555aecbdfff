import { ForgeError, fmtInt } from "../errors";
import type { Sample } from "./render";
import { unitHash } from "./split";

/* Packing samples into fixed-length rows (tokens + loss mask), the trainer's input. */

export interface PackedRows {
  rowLen: number;
  nRows: number;
  tokens: Int32Array;
  mask: Uint8Array;
}

export interface PackStats {
  rows: number;
  /** real (non-padding) tokens */
  tokens: number;
  /** target tokens (mask = 1, excluding row position 0) */
  targets: number;
  /** samples longer than a row that were cut */
  truncated: number;
  /** samples dropped because nothing to learn was left after cutting */
  dropped: number;
}

/**
 * Raw text (continued pretraining): samples are concatenated into one stream and cut into rows of
 * seq_len + 1 with a stride of seq_len, so every token is a target exactly once (row position 0 is
 * never a target). The last row is padded (mask 0).
 */
export function packStream(samples: readonly Sample[], seqLen: number, pad: number): { rows: PackedRows; stats: PackStats } {
  const rowLen = seqLen + 1;
  const stream: number[] = [];
  const mstream: number[] = [];
  for (const s of samples) {
    for (let i = 0; i < s.tokens.length; i++) {
      stream.push(s.tokens[i]!);
      mstream.push(s.mask[i]!);
    }
  }
  const nRows = stream.length <= 1 ? 0 : Math.ceil((stream.length - 1) / seqLen);
  const tokens = new Int32Array(nRows * rowLen).fill(pad);
  const mask = new Uint8Array(nRows * rowLen);
  for (let r = 0; r < nRows; r++) {
    for (let j = 0; j < rowLen; j++) {
      const k = r * seqLen + j;
      if (k >= stream.length) break;
      tokens[r * rowLen + j] = stream[k]!;
      mask[r * rowLen + j] = j === 0 ? 0 : mstream[k]!;
    }
  }
  return { rows: { rowLen, nRows, tokens, mask }, stats: statsOf({ rowLen, nRows, tokens, mask }, stream.length, 0, 0) };
}

export type PackOrder = "shuffled-first-fit" | "first-fit-decreasing" | "sequential";

/**
 * Chat samples: packed whole into rows of seq_len + 1 (a sample never straddles rows; the rest of a
 * row is padding with mask 0). A sample longer than a row is truncated, and dropped if no target is
 * left. Orders (all deterministic):
 *  - "shuffled-first-fit" (default): first fit over a seeded shuffle — little padding, and any
 *    sample may open a row, i.e. be trained at position 0 exactly as serving sees a new chat
 *    (packed samples attend to the samples before them in the row);
 *  - "first-fit-decreasing": least padding, but short samples never open a row;
 *  - "sequential": input order, a new row whenever the next sample does not fit.
 */
export function packSamples(
  samples: readonly Sample[],
  seqLen: number,
  pad: number,
  opts: { order?: PackOrder; seed?: string | number } = {},
): { rows: PackedRows; stats: PackStats } {
  const rowLen = seqLen + 1;
  let truncated = 0;
  let dropped = 0;
  let real = 0;
  const fitted: Sample[] = [];
  for (const s of samples) {
    if (s.tokens.length > rowLen) {
      truncated++;
      const mask = s.mask.slice(0, rowLen);
      if (!mask.slice(1).some((x) => x === 1)) {
        dropped++;
        continue;
      }
      fitted.push({ tokens: s.tokens.slice(0, rowLen), mask });
    } else fitted.push(s);
  }
  let order = fitted.map((_, i) => i);
  const mode = opts.order ?? "shuffled-first-fit";
  if (mode === "first-fit-decreasing") {
    order.sort((a, b) => fitted[b]!.tokens.length - fitted[a]!.tokens.length || a - b);
  } else if (mode === "shuffled-first-fit") {
    const keys = order.map((i) => unitHash(opts.seed ?? 0, `pack:${i}`));
    order = order.sort((a, b) => keys[a]! - keys[b]! || a - b);
  }
  const rowsT: number[][] = [];
  const rowsM: number[][] = [];
  const sequential = mode === "sequential";
  for (const i of order) {
    const s = fitted[i]!;
    let r = -1;
    if (sequential) {
      if (rowsT.length && rowsT[rowsT.length - 1]!.length + s.tokens.length <= rowLen) r = rowsT.length - 1;
    } else {
      r = rowsT.findIndex((row) => row.length + s.tokens.length <= rowLen);
    }
    if (r < 0) {
      rowsT.push([]);
      rowsM.push([]);
      r = rowsT.length - 1;
    }
    const at = rowsT[r]!.length;
    rowsT[r]!.push(...s.tokens);
    // position 0 of a row is never a target
    rowsM[r]!.push(...s.mask.map((x, j) => (at + j === 0 ? 0 : x)));
    real += s.tokens.length;
  }
  const nRows = rowsT.length;
  const tokens = new Int32Array(nRows * rowLen).fill(pad);
  const mask = new Uint8Array(nRows * rowLen);
  rowsT.forEach((row, r) => {
    tokens.set(row, r * rowLen);
    mask.set(rowsM[r]!, r * rowLen);
  });
  const rows = { rowLen, nRows, tokens, mask };
  return { rows, stats: statsOf(rows, real, truncated, dropped) };
}

function statsOf(rows: PackedRows, real: number, truncated: number, dropped: number): PackStats {
  let targets = 0;
  for (let r = 0; r < rows.nRows; r++) for (let j = 1; j < rows.rowLen; j++) targets += rows.mask[r * rows.rowLen + j]!;
  return { rows: rows.nRows, tokens: real, targets, truncated, dropped };
}

/** Throws DATASET_TOO_SMALL with the numbers when not even one batch of rows can be formed. */
export function assertBatchFits(stats: PackStats, opts: { batch: number; seqLen: number }) {
  if (stats.rows >= opts.batch) return;
  const need = opts.batch * (opts.seqLen + 1);
  throw new ForgeError(
    "DATASET_TOO_SMALL",
    `dataset has ${fmtInt(stats.tokens)} tokens (${fmtInt(stats.rows)} row${stats.rows === 1 ? "" : "s"}) but one batch needs ${fmtInt(need)} ` +
      `(batch ${fmtInt(opts.batch)} × seq ${fmtInt(opts.seqLen)}+1); add data or lower the batch size / sequence length`,
  );
}

