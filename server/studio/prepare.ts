import "server-only";
import os from "node:os";
import type { LlamaModel } from "node-llama-cpp";
import type { AtelierDb } from "../db/client";
import type { ModelRow } from "../db/schema";
import { env } from "../env";
import { excludeEvalLeakage } from "../evals";
import { AtelierError } from "../errors";
import {
  buildDataset,
  forgeTokenizerFromBpe,
  forgeTokenizerFromModel,
  loadTokenizerModel,
  tokenizeChat,
  tokenizeDocument,
  type BuiltDataset,
  type ChatRecord,
  type ForgeTokenizer,
  trainBpe,
  type BpeTokenizer,
} from "../forge";
import { llamaInstance } from "../llm/llama";
import { getModelRow } from "../models";
import { cleanRecords, type CleanResult } from "./cleaning";
import { loadRecords, getDatasetRow } from "./datasets";
import { estimateTokens, recordText } from "./ingest";
import type { CleaningOptions, PlanInput, StudioRecord, TrainSettings } from "./types";

/*
 * From a dataset + plan input to what the trainer needs: the cleaned records, the tokenizer
 * (the base model's own, exactly as serving renders chats; or a BPE trained on the data for
 * "scratch"), the derived settings and the packed ATDS files.
 */

export const SCRATCH_SIZES = {
  tiny: { n_embd: 64, n_layer: 2, n_head: 2, n_ff: 192, n_ctx: 128, vocab: 512 },
  small: { n_embd: 128, n_layer: 4, n_head: 4, n_ff: 384, n_ctx: 256, vocab: 1536 },
} as const;

/** The model a run starts from: must be a ready full model (a LoRA cannot be trained further). */
export function baseModelFor(db: AtelierDb, id: string): ModelRow {
  const row = getModelRow(db, id);
  if (row.status !== "ready") throw new AtelierError("precondition:studio", `${row.name} is not ready (${row.status}).`);
  if (row.kind === "lora") throw new AtelierError("bad_request:studio", `${row.name} is a LoRA adapter; train from its base model instead.`);
  return row;
}

const globalForVocab = globalThis as unknown as { atelierStudioVocab?: Map<string, Promise<LlamaModel>> };

/** Vocabulary-only load of a GGUF (no weights), kept for the next preview/plan of the same model. */
async function vocabModel(modelPath: string): Promise<LlamaModel> {
  const cache = (globalForVocab.atelierStudioVocab ??= new Map());
  let entry = cache.get(modelPath);
  if (!entry) {
    entry = llamaInstance().then((llama) => loadTokenizerModel(llama, modelPath));
    entry.catch(() => cache.delete(modelPath));
    cache.set(modelPath, entry);
    // keep a few: each holds only a vocabulary
    if (cache.size > 4) {
      const [oldest, p] = cache.entries().next().value as [string, Promise<LlamaModel>];
      cache.delete(oldest);
      void p.then((m) => m.dispose()).catch(() => undefined);
    }
  }
  return entry;
}

export async function modelTokenizer(row: ModelRow): Promise<ForgeTokenizer> {
  return forgeTokenizerFromModel(await vocabModel(row.filePath));
}

export function toChat(r: Extract<StudioRecord, { kind: "chat" }>): ChatRecord {
  return { ...(r.system ? { system: r.system } : {}), messages: r.messages };
}

/** Tokens of one record as it will be trained (chat rendered by the chat wrapper), or a byte estimate. */
export function recordTokens(r: StudioRecord, tok: ForgeTokenizer | null): number {
  if (!tok) return estimateTokens(recordText(r));
  if (r.kind === "text") return tokenizeDocument(r.text, tok).tokens.length;
  return tokenizeChat(toChat(r), tok).reduce((n, s) => n + s.tokens.length, 0);
}

export const sumTokens = (records: StudioRecord[], tok: ForgeTokenizer | null) => records.reduce((n, r) => n + recordTokens(r, tok), 0);

/** All text a scratch tokenizer learns from (chat role names included so ChatML renders compactly). */
function tokenizerCorpus(records: StudioRecord[]): string[] {
  const out: string[] = ["system", "user", "assistant"];
  for (const r of records) {
    if (r.kind === "text") out.push(r.text);
    else {
      if (r.system) out.push(r.system);
      for (const m of r.messages) out.push(m.content);
    }
  }
  return out;
}

export type PreparedData = {
  cleaned: CleanResult;
  base: ModelRow | null;
  tokenizer: ForgeTokenizer;
  bpe: BpeTokenizer | null;
  kind: "text" | "chat";
};

const globalForBpe = globalThis as unknown as { atelierStudioBpe?: Map<string, BpeTokenizer> };

/** Cleans the dataset and gets the tokenizer the run will use (BPE training is cached per data + size). */
export async function prepareData(db: AtelierDb, input: Pick<PlanInput, "datasetId" | "baseModelId" | "method" | "scratchSize"> & { cleaning: CleaningOptions }): Promise<PreparedData> {
  const ds = getDatasetRow(db, input.datasetId);
  // no leakage: records holding an eval question or answer never reach training (see server/evals/fingerprints.ts)
  const cleaned = cleanRecords(excludeEvalLeakage(db, loadRecords(db, ds.id)).kept, input.cleaning);
  if (cleaned.kept.length === 0) throw new AtelierError("bad_request:studio", `Nothing is left of dataset ${ds.name} after cleaning; relax the filters.`);
  if (input.method === "scratch") {
    const size = SCRATCH_SIZES[input.scratchSize ?? "tiny"];
    const key = `${ds.id}\u0000${JSON.stringify(input.cleaning)}\u0000${size.vocab}`;
    const cache = (globalForBpe.atelierStudioBpe ??= new Map());
    let bpe = cache.get(key);
    if (!bpe) {
      bpe = trainBpe(tokenizerCorpus(cleaned.train), { vocabSize: size.vocab });
      cache.set(key, bpe);
      if (cache.size > 8) cache.delete(cache.keys().next().value!);
    }
    return { cleaned, base: null, tokenizer: forgeTokenizerFromBpe(bpe), bpe, kind: ds.kind };
  }
  if (!input.baseModelId) throw new AtelierError("bad_request:studio", `Choose the base model to ${input.method === "lora" ? "train a LoRA adapter for" : "fine-tune"}.`);
  const base = baseModelFor(db, input.baseModelId);
  return { cleaned, base, tokenizer: await modelTokenizer(base), bpe: null, kind: ds.kind };
}

export function trainThreads(requested?: number): number {
  if (requested) return requested;
  const configured = env().ATELIER_TRAIN_THREADS;
  return configured > 0 ? configured : Math.max(1, os.availableParallelism() - 1);
}

/** Trainer settings from the plan input, the model and the data (the expert knobs override). */
export function deriveSettings(input: PlanInput, prepared: PreparedData): TrainSettings {
  const a = input.advanced ?? {};
  const scratch = input.method === "scratch" ? { ...SCRATCH_SIZES[input.scratchSize ?? "tiny"], vocab: prepared.bpe!.vocabSize } : null;
  const ctx = scratch ? scratch.n_ctx : (prepared.base?.contextLength ?? 512);
  const seqLen = Math.min(a.seqLen ?? (scratch ? scratch.n_ctx : 256), ctx);
  // LoRA tolerates (and needs) a higher rate than updating every weight
  const learningRate = a.learningRate ?? (input.method === "lora" ? 2e-3 : input.method === "full" ? 5e-4 : 3e-3);
  return {
    method: input.method,
    seqLen,
    batch: a.batch ?? 8,
    epochs: input.epochs,
    maxSteps: a.maxSteps ?? null,
    learningRate,
    loraRank: input.method === "lora" ? (input.loraRank ?? 8) : null,
    evalEvery: a.evalEvery ?? 0,
    saveEvery: a.saveEvery ?? 50,
    threads: trainThreads(a.threads),
    precision: a.precision ?? "auto",
    scratchModel: scratch,
  };
}

/** Packs the cleaned records into ATDS rows (optionally writing them); the batch shrinks to the rows available. */
export function packPrepared(prepared: PreparedData, settings: TrainSettings, paths?: { train: string; eval: string }): { built: BuiltDataset; batch: number } {
  const split = (rs: StudioRecord[]) => ({
    documents: rs.filter((r) => r.kind === "text").map((r) => (r as { text: string }).text),
    chats: rs.filter((r) => r.kind === "chat").map((r) => toChat(r as Extract<StudioRecord, { kind: "chat" }>)),
  });
  const train = split(prepared.cleaned.train);
  const heldOut = split(prepared.cleaned.heldOut);
  // buildDataset splits by itself; give it the train side only and build the held-out file alike
  const built = buildDataset({ tokenizer: prepared.tokenizer, seqLen: settings.seqLen, ...train, evalFraction: 0, ...(paths ? { trainPath: paths.train } : {}) });
  let evalRows: BuiltDataset["train"] | null = null;
  let evalStats: BuiltDataset["stats"]["train"] | null = null;
  if (prepared.cleaned.heldOut.length > 0) {
    const ev = buildDataset({ tokenizer: prepared.tokenizer, seqLen: settings.seqLen, ...heldOut, evalFraction: 0, ...(paths ? { trainPath: paths.eval } : {}) });
    evalRows = ev.train;
    evalStats = ev.stats.train;
  }
  const batch = Math.max(1, Math.min(settings.batch, built.train.nRows));
  return { built: { train: built.train, eval: evalRows, stats: { ...built.stats, eval: evalStats, heldOutUnits: prepared.cleaned.heldOut.length } }, batch };
}
