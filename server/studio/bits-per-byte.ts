import "server-only";
import type { Token } from "node-llama-cpp";
import type { ForgeTokenizer, PackedRows } from "../forge";

/*
 * Bits per byte: held-out loss per byte of text instead of per token. Perplexity is per token, so
 * a model whose tokenizer cuts text into more, smaller tokens looks better or worse for reasons
 * that have nothing to do with what it knows; two models are only comparable by perplexity when
 * they share a tokenizer. Bits per byte divides the same total loss by the UTF-8 bytes the
 * predicted tokens spell, which every tokenizer agrees on:
 *
 *   bpb = (mean NLL per target token in nats) × targets / (bytes × ln 2) = ln(ppl) · targets / (bytes · ln 2)
 *
 * A model that knows nothing (a uniform guess over V tokens) scores log2(V) · targets / bytes.
 */

export type HeldOutText = { targets: number; bytes: number };

/**
 * The target tokens of a packed held-out file (mask 1; position 0 of a row is never a target) and
 * the UTF-8 bytes they spell. Runs of consecutive targets are detokenized together, so a
 * character split over several byte tokens counts once.
 */
export function heldOutText(rows: PackedRows, tok: ForgeTokenizer): HeldOutText {
  let targets = 0;
  let bytes = 0;
  const run: Token[] = [];
  const flush = () => {
    if (run.length === 0) return;
    bytes += Buffer.byteLength(tok.tokenizer.detokenize(run, false), "utf8");
    run.length = 0;
  };
  for (let r = 0; r < rows.nRows; r++) {
    for (let j = 1; j < rows.rowLen; j++) {
      const i = r * rows.rowLen + j;
      if (rows.mask[i] === 1) {
        targets++;
        run.push(rows.tokens[i]! as Token);
      } else flush();
    }
    flush();
  }
  return { targets, bytes };
}

/** Bits per byte of a perplexity measured on `text` (null when either is missing). */
export function bitsPerByte(ppl: number | null, text: HeldOutText | null): number | null {
  if (ppl === null || !Number.isFinite(ppl) || ppl <= 0 || !text || text.bytes === 0 || text.targets === 0) return null;
  return (Math.log(ppl) * text.targets) / (text.bytes * Math.LN2);
}
