import "server-only";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { env } from "../env";
import { AtelierError } from "../errors";
import { startTraining, writeAtds, type StartEvent, type TrainConfigInput } from "../forge";
import { deriveSettings, packPrepared, prepareData, type PreparedData } from "./prepare";
import { studioCalibrations } from "./schema";
import type { PlanInput, PlanResult, Recommendation, TrainSettings } from "./types";

/*
 * Feasibility planner.
 *  - compute: FLOPs ≈ 6·N·D for full fine-tuning and scratch (forward 2ND + backward 4ND).
 *    LoRA ≈ (4·N + 6·N_lora)·D: the frozen weights still run forward (2ND) and pass gradients
 *    back to the activations (2ND), but their weight gradients (the other 2ND) are never
 *    computed; only the N_lora adapter weights pay the full 6 FLOPs per token.
 *  - time: the trainer's own speed, measured by a short calibration run (CALIBRATION_STEPS
 *    steps on synthetic rows of the same shape) and cached per (model shape, method, machine,
 *    batch×sequence, rank, threads) in SQLite.
 *  - memory: the trainer's estimate from the calibration run's start event (weights + gradients
 *    + AdamW moments + activations for this batch), against the memory free now.
 */

export const CALIBRATION_STEPS = 4;
/** Fewer tokens than this are better served by retrieval than by training. */
export const MIN_TRAIN_TOKENS = 20_000;
export const MIN_CHAT_EXAMPLES = 20;
/** A model from scratch learns fluent language only from millions of tokens. */
export const SCRATCH_FLUENT_TOKENS = 2_000_000;

export type Calibration = { tokensPerSecond: number; memEstimateBytes: number; params: number; trainable: number; backend: string; cached: boolean };

function machineKey(): string {
  return `${os.cpus()[0]?.model?.trim() ?? os.arch()}/${env().ATELIER_GPU}`;
}

function calibrationKey(prepared: PreparedData, s: TrainSettings): string {
  const shape = prepared.base ? `${prepared.base.architecture}:${prepared.base.parameters}:${prepared.base.sizeBytes}` : `scratch:${JSON.stringify(s.scratchModel)}`;
  return [shape, s.method, machineKey(), `b${s.batch}x${s.seqLen}`, `r${s.loraRank ?? 0}`, `t${s.threads}`, s.precision ?? "auto"].join("|");
}

/** Trainer config shared by calibration and real runs. */
export function trainerConfig(prepared: PreparedData, s: TrainSettings, paths: { out: string; checkpointDir: string; train: string; eval?: string }): TrainConfigInput {
  return {
    mode: s.method,
    ...(prepared.base ? { base: prepared.base.filePath } : {}),
    ...(s.scratchModel && prepared.bpe
      ? {
          model: { n_vocab: prepared.bpe.vocabSize, n_embd: s.scratchModel.n_embd, n_layer: s.scratchModel.n_layer, n_head: s.scratchModel.n_head, n_ff: s.scratchModel.n_ff, n_ctx: s.scratchModel.n_ctx },
          tokenizer: prepared.bpe.data,
        }
      : {}),
    ...(s.loraRank ? { lora: { rank: s.loraRank, alpha: s.loraRank * 2 } } : {}),
    ...paths,
    batch: s.batch,
    ...(s.maxSteps ? { steps: s.maxSteps } : { epochs: s.epochs }),
    lr: s.learningRate,
    warmup_steps: 5,
    eval_every: s.evalEvery,
    save_every: s.saveEvery,
    threads: s.threads,
    seed: 42,
    out_type: "f32",
    // auto: bf16 matmul operands where the CPU has AVX512-BF16 (F32 weights and optimizer state; loss within 0.5% of f32)
    precision: s.precision ?? "auto",
  };
}

/** Measures tokens/s and peak memory with a few steps on synthetic rows (cached). */
export async function calibrate(db: AtelierDb, prepared: PreparedData, s: TrainSettings): Promise<Calibration> {
  const key = calibrationKey(prepared, s);
  const hit = db.select().from(studioCalibrations).where(eq(studioCalibrations.key, key)).get();
  if (hit) return { tokensPerSecond: hit.tokensPerSecond, memEstimateBytes: hit.memEstimateBytes, params: hit.params, trainable: hit.trainable, backend: hit.backend, cached: true };

  const dir = mkdtempSync(path.join(os.tmpdir(), "atelier-calibrate-"));
  try {
    const rowLen = s.seqLen + 1;
    const nRows = s.batch * 2;
    const vocab = prepared.tokenizer.vocabSize;
    const tokens = new Int32Array(nRows * rowLen);
    let x = 12345;
    for (let i = 0; i < tokens.length; i++) tokens[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % vocab;
    const mask = new Uint8Array(nRows * rowLen).map((_, i) => (i % rowLen === 0 ? 0 : 1));
    const train = path.join(dir, "calibrate.atds");
    writeAtds(train, { rowLen, nRows, tokens, mask });
    const config = { ...trainerConfig(prepared, { ...s, saveEvery: 0, evalEvery: 0, maxSteps: CALIBRATION_STEPS }, { out: path.join(dir, "out.gguf"), checkpointDir: path.join(dir, "ckpt"), train }), warmup_steps: 0 };
    const run = startTraining(config);
    let start: StartEvent | null = null;
    const speeds: number[] = [];
    for await (const ev of run.progress) {
      if (ev.type === "start") start = ev;
      if (ev.type === "step") speeds.push(ev.tok_s);
    }
    await run.done;
    if (!start || speeds.length === 0) throw new AtelierError("internal:studio", "The calibration run reported no steps.");
    // the first step pays one-off costs (graph allocation, page faults)
    const steady = speeds.length > 1 ? speeds.slice(1) : speeds;
    const sorted = [...steady].sort((a, b) => a - b);
    const tokensPerSecond = sorted[Math.floor(sorted.length / 2)]!;
    const row = {
      key,
      tokensPerSecond,
      memEstimateBytes: start.mem_estimate_bytes,
      params: start.params ?? 0,
      trainable: start.trainable ?? start.params ?? 0,
      backend: start.backend ?? "cpu",
    };
    db.insert(studioCalibrations).values(row).onConflictDoUpdate({ target: studioCalibrations.key, set: row }).run();
    return { ...row, cached: false };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmtTokens = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${Math.round(n / 1e3)}k` : String(n));
const fmtGb = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GB`;

/** The advice, in plain words. The chosen method still runs if the user insists. */
export function recommend(a: {
  method: PlanInput["method"];
  goal: PlanInput["goal"];
  kind: "text" | "chat";
  trainTokens: number;
  examples: number;
  hasBase: boolean;
  fits: boolean;
  peak: number;
  available: number;
  estSeconds: number;
}): { recommendation: Recommendation; reasons: string[] } {
  const reasons: string[] = [];
  let rec: Recommendation = a.method;
  if (a.kind === "text" && a.trainTokens < MIN_TRAIN_TOKENS) {
    reasons.push(`Your text is ${fmtTokens(a.trainTokens)} tokens: too little to train on. Put it in the knowledge base instead; the assistant will look it up and cite it.`);
    rec = "knowledge";
  } else if (a.kind === "chat" && a.examples < MIN_CHAT_EXAMPLES) {
    reasons.push(`There are only ${a.examples} example conversations; training needs at least ${MIN_CHAT_EXAMPLES} (hundreds are better). Until then, give the answers to the knowledge base.`);
    rec = "knowledge";
  } else if (a.goal === "scratch" || a.method === "scratch") {
    if (a.trainTokens < SCRATCH_FLUENT_TOKENS && a.hasBase) {
      reasons.push(`A model from scratch needs millions of tokens to write fluently; with ${fmtTokens(a.trainTokens)} it will mostly repeat your data. Adapting an existing model (LoRA) learns your domain from far less.`);
      rec = "lora";
    } else {
      reasons.push(`A model from scratch learns only from your ${fmtTokens(a.trainTokens)} tokens: expect it to know your domain and little else.`);
      rec = "scratch";
    }
  } else if (a.goal === "answers" || a.kind === "chat") {
    reasons.push("To teach answers and a style, a LoRA adapter is the cheapest and safest: the base model stays untouched and the adapter is small.");
    rec = "lora";
  } else if (a.method === "full" && a.fits) {
    reasons.push("Full fine-tuning updates every weight: best for a large body of domain text, and it fits in memory here.");
    rec = "full";
  } else {
    reasons.push("A LoRA adapter learns the domain's wording at a fraction of the compute and memory of full fine-tuning.");
    rec = "lora";
  }
  if (!a.fits) {
    // the peak already includes activation checkpointing when the trainer turns it on (it does when memory is short)
    reasons.push(
      `This run needs about ${fmtGb(a.peak)} of memory but ${fmtGb(a.available)} is free (short by ${fmtGb(Math.max(0, a.peak * 1.15 - a.available))} with a 15% margin)` +
        (a.method === "full" ? "; a LoRA adapter needs much less" : "; lower the batch or sequence length, or use a quantized base model") + ".",
    );
    if (rec === "full") rec = "lora";
  }
  if (a.estSeconds > 24 * 3600) reasons.push(`At this machine's measured speed it would take about ${Math.round(a.estSeconds / 3600)} hours; fewer epochs or a smaller model would be quicker.`);
  return { recommendation: rec, reasons };
}

export type PlanDetail = PlanResult & { prepared: PreparedData; rows: number; evalRows: number };

export async function planDetail(db: AtelierDb, input: PlanInput): Promise<PlanDetail> {
  const prepared = await prepareData(db, input);
  const settings = deriveSettings(input, prepared);
  const packed = packPrepared(prepared, settings);
  settings.batch = packed.batch;
  const rows = packed.built.train.nRows;
  const trainTokens = packed.built.stats.train.tokens;
  const cal = await calibrate(db, prepared, settings);
  const steps = settings.maxSteps ?? Math.max(1, Math.ceil(Math.ceil(rows / settings.batch) * settings.epochs));
  const processed = steps * settings.batch * settings.seqLen;
  const fill = rows > 0 ? trainTokens / (rows * (settings.seqLen + 1)) : 1;
  const trainingTokens = Math.round(settings.maxSteps ? processed * fill : trainTokens * settings.epochs);
  const N = cal.params;
  const flops = settings.method === "lora" ? (4 * N + 6 * cal.trainable) * trainingTokens : 6 * N * trainingTokens;
  const estSeconds = processed / Math.max(1e-9, cal.tokensPerSecond);
  const available = os.freemem();
  const fits = cal.memEstimateBytes * 1.15 < available;
  const { recommendation, reasons } = recommend({
    method: input.method,
    goal: input.goal,
    kind: prepared.kind,
    trainTokens,
    examples: prepared.cleaned.train.filter((r) => r.kind === "chat").length,
    hasBase: !!prepared.base || !!input.baseModelId,
    fits,
    peak: cal.memEstimateBytes,
    available,
    estSeconds,
  });
  return {
    tokens: trainTokens,
    trainingTokens,
    params: N,
    trainableParams: cal.trainable,
    flops,
    estSeconds,
    peakMemoryBytes: cal.memEstimateBytes,
    availableMemoryBytes: available,
    fits,
    recommendation,
    reasons,
    calibration: { tokensPerSecond: cal.tokensPerSecond, cached: cal.cached },
    settings,
    prepared,
    rows,
    evalRows: packed.built.eval?.nRows ?? 0,
  };
}

export async function planTraining(db: AtelierDb, input: PlanInput): Promise<PlanResult> {
  const { prepared: _p, rows: _r, evalRows: _e, ...plan } = await planDetail(db, input);
  return plan;
}
