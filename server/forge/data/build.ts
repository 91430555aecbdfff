import { ForgeError } from "../errors";
import { writeAtds } from "./atds";
import { assertBatchFits, packSamples, packStream, type PackedRows, type PackStats } from "./pack";
import { tokenizeChat, tokenizeDocument, type ChatRecord, type TextDocument } from "./render";
import { recordKey, splitHeldOut } from "./split";
import type { ForgeTokenizer } from "./tokenizer";

/* One call from documents and chat records to packed, split train/eval rows (and ATDS files). */

export interface BuildDatasetOptions {
  tokenizer: ForgeTokenizer;
  seqLen: number;
  /** raw text documents (continued pretraining) */
  documents?: (TextDocument | string)[];
  /** chat records (loss on assistant answers) */
  chats?: ChatRecord[];
  /** fraction of units held out for evaluation (default 0.1; 0 disables) */
  evalFraction?: number;
  seed?: string | number;
  /** when given, checks one batch fits: n_rows ≥ batch */
  batch?: number;
  /**
   * Write the training data this many times, each chat pass packed over a different shuffle (raw
   * text rows repeated), so every sample meets different neighbours and positions; train with
   * epochs = 1 over the result. Default 1.
   */
  repackings?: number;
  /** output files (optional) */
  trainPath?: string;
  evalPath?: string;
}

export interface BuiltDataset {
  train: PackedRows;
  eval: PackedRows | null;
  stats: { train: PackStats; eval: PackStats | null; documents: number; chats: number; heldOutUnits: number };
}

/** Splits long raw documents into paragraph units so a small corpus still gets a held-out set. */
function documentUnits(docs: (TextDocument | string)[]): TextDocument[] {
  const list = docs.map((d, i) => (typeof d === "string" ? { text: d, id: `doc${i}` } : d));
  if (list.length >= 20) return list;
  const units: TextDocument[] = [];
  for (const d of list) {
    const paras = d.text.split(/\n{2,}/).filter((p) => p.trim());
    // chunks of ~8 paragraphs keep local context while giving enough units to hold some out
    for (let i = 0; i < paras.length; i += 8) units.push({ text: paras.slice(i, i + 8).join("\n\n"), id: `${d.id ?? ""}#${i}` });
  }
  return units;
}

export function buildDataset(opts: BuildDatasetOptions): BuiltDataset {
  const fraction = opts.evalFraction ?? 0.1;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(opts.seqLen) || opts.seqLen < 2) throw new ForgeError("BAD_CONFIG", `seq_len must be an integer ≥ 2 (got ${opts.seqLen})`);
  const docs = documentUnits(opts.documents ?? []);
  const chats = opts.chats ?? [];
  if (docs.length === 0 && chats.length === 0) throw new ForgeError("DATASET_TOO_SMALL", "the dataset is empty: no documents and no chat records");

  const docSplit = splitHeldOut(docs, { fraction, seed, key: (d) => d.id ?? d.text });
  const chatSplit = splitHeldOut(chats, { fraction, seed, key: recordKey });

  const pack = (d: TextDocument[], c: ChatRecord[], passes: number) => {
    const docSamples = d.map((x) => tokenizeDocument(x, opts.tokenizer));
    const chatSamples = c.flatMap((x) => tokenizeChat(x, opts.tokenizer));
    const a = packStream(docSamples, opts.seqLen, opts.tokenizer.pad);
    let out = mergeRows(a, packSamples(chatSamples, opts.seqLen, opts.tokenizer.pad, { seed: `${seed}:0` }));
    for (let p = 1; p < passes; p++) {
      out = mergeRows(out, mergeRows(a, packSamples(chatSamples, opts.seqLen, opts.tokenizer.pad, { seed: `${seed}:${p}` })));
    }
    return out;
  };
  const repackings = opts.repackings ?? 1;
  if (!Number.isInteger(repackings) || repackings < 1) throw new ForgeError("BAD_CONFIG", `repackings must be an integer ≥ 1 (got ${repackings})`);
  const train = pack(docSplit.train, chatSplit.train, repackings);
  const heldOut = docSplit.eval.length + chatSplit.eval.length;
  const ev = heldOut > 0 ? pack(docSplit.eval, chatSplit.eval, 1) : null;

  if (train.stats.targets === 0) throw new ForgeError("DATASET_TOO_SMALL", "the dataset has no training targets (no assistant answers or text)");
  if (opts.batch !== undefined) assertBatchFits(train.stats, { batch: opts.batch, seqLen: opts.seqLen });

  if (opts.trainPath) writeAtds(opts.trainPath, train.rows);
  if (opts.evalPath && ev && ev.rows.nRows > 0) writeAtds(opts.evalPath, ev.rows);
  return {
    train: train.rows,
    eval: ev && ev.rows.nRows > 0 ? ev.rows : null,
    stats: { train: train.stats, eval: ev?.stats ?? null, documents: docs.length, chats: chats.length, heldOutUnits: heldOut },
  };
}

function mergeRows(a: { rows: PackedRows; stats: PackStats }, b: { rows: PackedRows; stats: PackStats }) {
  const rowLen = a.rows.rowLen;
  const nRows = a.rows.nRows + b.rows.nRows;
  const tokens = new Int32Array(nRows * rowLen);
  tokens.set(a.rows.tokens, 0);
  tokens.set(b.rows.tokens, a.rows.tokens.length);
  const mask = new Uint8Array(nRows * rowLen);
  mask.set(a.rows.mask, 0);
  mask.set(b.rows.mask, a.rows.mask.length);
  return {
    rows: { rowLen, nRows, tokens, mask },
    stats: {
      rows: nRows,
      tokens: a.stats.tokens + b.stats.tokens,
      targets: a.stats.targets + b.stats.targets,
      truncated: a.stats.truncated + b.stats.truncated,
      dropped: a.stats.dropped + b.stats.dropped,
    },
  };
}

