import "server-only";
import { toChatHistory } from "../llm/chat-history";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  ChatMLChatWrapper,
  resolveChatWrapper,
  type ChatHistoryItem,
  type ChatWrapper,
  type Llama,
  type LlamaModel,
  type Token,
  type Tokenizer,
} from "node-llama-cpp";
import { ForgeError, fmtInt } from "./errors";
import type { BpeTokenizer } from "./tokenizer/bpe";
import { bpeAsLlamaTokenizer } from "./tokenizer/llama-adapter";

// ---------------------------------------------------------------------------------------------
// Tokenizer abstraction: our own BPE (training from scratch) or a loaded GGUF (fine-tuning).
// Both go through node-llama-cpp's Tokenizer interface and chat wrappers, exactly like serving.
// ---------------------------------------------------------------------------------------------

export interface ForgeTokenizer {
  /** node-llama-cpp Tokenizer (for a loaded model: `model.tokenizer`) */
  tokenizer: Tokenizer;
  /** chat wrapper used to render SFT records; must be the one serving resolves for the model */
  chatWrapper: ChatWrapper;
  bos: number | null;
  eos: number;
  /** token used to pad rows (masked out) */
  pad: number;
  /** prepend BOS to raw-text documents */
  addBosToDocuments: boolean;
  vocabSize: number;
}

/** Scratch training: our BPE + ChatML (what node-llama-cpp resolves from our embedded template). */
export function forgeTokenizerFromBpe(bpe: BpeTokenizer, chatWrapper: ChatWrapper = new ChatMLChatWrapper()): ForgeTokenizer {
  return {
    tokenizer: bpeAsLlamaTokenizer(bpe),
    chatWrapper,
    bos: bpe.bos,
    eos: bpe.eos,
    pad: bpe.data.pad_id ?? bpe.eos,
    addBosToDocuments: bpe.data.add_bos && bpe.bos !== bpe.eos,
    vocabSize: bpe.vocabSize,
  };
}

/** Fine-tuning: the base model's own tokenizer and the chat wrapper serving resolves for it. */
export function forgeTokenizerFromModel(model: LlamaModel, chatWrapper?: ChatWrapper): ForgeTokenizer {
  const eos = model.tokens.eos ?? model.tokens.eot;
  if (eos == null) throw new ForgeError("BAD_GGUF", "the model has neither an EOS nor an EOT token");
  return {
    tokenizer: model.tokenizer,
    chatWrapper: chatWrapper ?? resolveChatWrapper(model) ?? new ChatMLChatWrapper(),
    bos: model.tokens.bos,
    eos,
    pad: eos,
    addBosToDocuments: model.tokens.shouldPrependBosToken,
    vocabSize: countTokens(model),
  };
}

function countTokens(model: LlamaModel) {
  let n = 0;
  for (const _ of model.iterateAllTokens()) n++;
  return n;
}

/** Loads only the vocabulary of a GGUF (fast, no weights) for dataset preparation. */
export async function loadTokenizerModel(llama: Llama, modelPath: string): Promise<LlamaModel> {
  return llama.loadModel({ modelPath, vocabOnly: true });
}

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

export interface TextDocument {
  text: string;
  /** stable id used for the held-out split (default: hash of the text) */
  id?: string;
}

export interface ChatMessage {
  role: "user" | "assistant";
  content: string;
}

export interface ChatRecord {
  system?: string;
  /** alternating turns; every assistant turn is a training target */
  messages: ChatMessage[];
  /** records sharing a group always land on the same side of the held-out split */
  group?: string;
}

/** One tokenized training sample: `mask[i] = 1` ⇔ tokens[i] is a target (predicted from tokens before it). */
export interface Sample {
  tokens: number[];
  mask: number[];
}

/** Raw text: every token is a target; the document ends with EOS (and starts with BOS when the model wants it). */
export function tokenizeDocument(doc: TextDocument | string, tok: ForgeTokenizer): Sample {
  const text = typeof doc === "string" ? doc : doc.text;
  const body = tok.tokenizer(text, false) as number[];
  const tokens = [...(tok.addBosToDocuments && tok.bos != null ? [tok.bos] : []), ...body, tok.eos];
  return { tokens, mask: tokens.map(() => 1) };
}

function historyFor(record: ChatRecord, upTo: number, answer: "open" | "closed"): ChatHistoryItem[] {
  const turns = record.messages.slice(0, upTo).map((m) => ({ role: m.role === "user" ? ("user" as const) : ("assistant" as const), content: m.content }));
  const history = toChatHistory(record.system ?? "", turns, record.messages[upTo]!.content);
  // A following user turn makes the wrapper close the answer (its end-of-turn token is a target too).
  if (answer === "closed") history.push({ type: "user", text: "x" });
  return history;
}

function render(tok: ForgeTokenizer, history: ChatHistoryItem[]): number[] {
  return tok.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(tok.tokenizer) as number[];
}

function startsWith(a: readonly number[], prefix: readonly number[]) {
  if (prefix.length > a.length) return false;
  for (let i = 0; i < prefix.length; i++) if (a[i] !== prefix[i]) return false;
  return true;
}

/**
 * Chat / SFT record → samples with loss on the assistant answers only.
 * The conversation is rendered by the model's chat wrapper (the same code path as serving), and
 * the mask is found by tokenizing the prompt (history + open assistant turn, what serving feeds
 * the model) against the same history with the answer: the difference is the answer, followed by
 * the wrapper's end-of-turn token (e.g. <|im_end|>) so the model learns to stop.
 * Returns one sample per conversation, or one per assistant turn if the wrapper re-renders
 * earlier turns differently (no common prefix).
 */
export function tokenizeChat(record: ChatRecord, tok: ForgeTokenizer): Sample[] {
  const turns: { prompt: number[]; closed: number[]; end: number }[] = [];
  record.messages.forEach((m, i) => {
    // An empty answer teaches nothing, and chat wrappers drop empty model turns when closing them.
    if (m.role !== "assistant" || m.content === "") return;
    const promptHistory = historyFor(record, i, "open");
    (promptHistory[promptHistory.length - 1] as { response: string[] }).response = [];
    const prompt = render(tok, promptHistory);
    const open = render(tok, historyFor(record, i, "open"));
    const closed = render(tok, historyFor(record, i, "closed"));
    if (!startsWith(open, prompt) || !startsWith(closed, open)) {
      throw new ForgeError(
        "BAD_CONFIG",
        `chat wrapper ${tok.chatWrapper.wrapperName} does not render the assistant answer as a continuation of the prompt`,
      );
    }
    // the end of turn: up to and including the first end-of-generation token after the answer
    let end = open.length;
    let found = false;
    for (let j = open.length; j < closed.length; j++) {
      if (tok.tokenizer.isEogToken(closed[j] as Token)) {
        end = j + 1;
        found = true;
        break;
      }
    }
    if (!found) {
      closed.splice(open.length, closed.length - open.length, tok.eos);
      end = open.length + 1;
    }
    turns.push({ prompt, closed: closed.slice(0, end), end });
  });
  if (turns.length === 0) return [];

  const last = turns[turns.length - 1]!;
  const consistent = turns.every((t) => startsWith(last.closed, t.closed));
  const sampleOf = (tokens: number[], targets: typeof turns): Sample => {
    const mask = new Array<number>(tokens.length).fill(0);
    for (const t of targets) for (let j = t.prompt.length; j < t.end; j++) mask[j] = 1;
    return { tokens, mask };
  };
  if (consistent) return [sampleOf(last.closed, turns)];
  return turns.map((t) => sampleOf(t.closed, [t]));
}

// ---------------------------------------------------------------------------------------------
// Held-out split
// ---------------------------------------------------------------------------------------------

function unitHash(seed: string | number, key: string): number {
  const h = createHash("sha256").update(`${seed}\u0000${key}`).digest();
  return h.readUInt32BE(0) / 0x100000000;
}

/**
 * Deterministic held-out split: an item goes to eval when hash(seed, key) < fraction.
 * Guarantees at least one train item, and one eval item when fraction > 0 and there are ≥ 2 items.
 */
export function splitHeldOut<T>(items: readonly T[], opts: { fraction: number; seed: string | number; key: (item: T) => string }) {
  const hashes = items.map((it) => unitHash(opts.seed, opts.key(it)));
  let isEval = hashes.map((h) => h < opts.fraction);
  if (opts.fraction > 0 && items.length >= 2) {
    if (!isEval.some(Boolean)) isEval[hashes.indexOf(Math.min(...hashes))] = true;
    if (isEval.every(Boolean)) isEval[hashes.indexOf(Math.max(...hashes))] = false;
  } else if (opts.fraction <= 0) {
    isEval = isEval.map(() => false);
  }
  return {
    train: items.filter((_, i) => !isEval[i]),
    eval: items.filter((_, i) => isEval[i]),
  };
}

const recordKey = (r: ChatRecord) => r.group ?? JSON.stringify([r.system ?? "", r.messages]);

// ---------------------------------------------------------------------------------------------
// Packing into ATDS rows
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// ATDS files
// ---------------------------------------------------------------------------------------------

/** ATDS v1: "ATDS", u32 version, u32 row_len, u32 n_rows, i32 tokens[n*row_len], u8 mask[n*row_len] (LE). */
export function encodeAtds(rows: PackedRows): Buffer {
  const header = Buffer.alloc(16);
  header.write("ATDS", 0, "ascii");
  header.writeUInt32LE(1, 4);
  header.writeUInt32LE(rows.rowLen, 8);
  header.writeUInt32LE(rows.nRows, 12);
  const tok = Buffer.alloc(rows.tokens.length * 4);
  rows.tokens.forEach((t, i) => tok.writeInt32LE(t, i * 4));
  return Buffer.concat([header, tok, Buffer.from(rows.mask.buffer, rows.mask.byteOffset, rows.mask.byteLength)]);
}

export function writeAtds(file: string, rows: PackedRows) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, encodeAtds(rows));
}

export function readAtds(file: string): PackedRows {
  const b = readFileSync(file);
  if (b.length < 16 || b.toString("ascii", 0, 4) !== "ATDS") throw new ForgeError("IO", `${file} is not an ATDS file`);
  const version = b.readUInt32LE(4);
  if (version !== 1) throw new ForgeError("IO", `${file}: unsupported ATDS version ${version}`);
  const rowLen = b.readUInt32LE(8);
  const nRows = b.readUInt32LE(12);
  const n = rowLen * nRows;
  if (b.length !== 16 + n * 5) throw new ForgeError("IO", `${file}: expected ${16 + n * 5} bytes, found ${b.length}`);
  const tokens = new Int32Array(n);
  for (let i = 0; i < n; i++) tokens[i] = b.readInt32LE(16 + i * 4);
  const mask = Uint8Array.from(b.subarray(16 + n * 4));
  return { rowLen, nRows, tokens, mask };
}

// ---------------------------------------------------------------------------------------------
// One-call builder
// ---------------------------------------------------------------------------------------------

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

/** Reads .txt/.md (raw text) and .jsonl (chat records: {system?, messages} or {prompt|question, answer|response}). */
export function loadCorpusFile(file: string): { documents: TextDocument[]; chats: ChatRecord[] } {
  const text = readFileSync(file, "utf8");
  if (!file.endsWith(".jsonl")) return { documents: [{ text, id: path.basename(file) }], chats: [] };
  const chats: ChatRecord[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      throw new ForgeError("BAD_CONFIG", `${file}:${i + 1}: invalid JSON (${(err as Error).message})`);
    }
    const rec = toChatRecord(obj);
    if (!rec) throw new ForgeError("BAD_CONFIG", `${file}:${i + 1}: expected {"messages":[...]} or {"question","answer"}`);
    chats.push(rec);
  });
  return { documents: [], chats };
}

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
