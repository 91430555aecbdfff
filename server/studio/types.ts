import "server-only";
import { z } from "zod";
import type { PiiReport } from "./pii";
import type { StoredChat, DatasetKind, RunStatus } from "./schema";

// Inputs (zod) and outputs of the studio API. The UI derives its types from the router
// (app/_lib/studio-types.ts), so this file is the one contract. Fields may be added, never renamed.

export const cleaningInput = z.object({
  dedupe: z.boolean().default(true),
  nearDedupe: z.boolean().default(true),
  /** Replace e-mails, phone numbers, card numbers (Luhn-valid) and IP addresses with placeholders. */
  scrubPii: z.boolean().default(true),
  /** Each PII rule on or off (default on) while scrubPii is on. */
  piiRules: z.object({ email: z.boolean(), phone: z.boolean(), card: z.boolean(), ip: z.boolean() }).partial().optional(),
  minChars: z.number().int().min(0).max(1_000_000).default(0),
  maxChars: z.number().int().min(1).max(10_000_000).default(100_000),
  heldOutFraction: z.number().min(0).max(0.5).default(0.1),
  /**
   * Files of the dataset whose records are the held-out set (instead of a random heldOutFraction):
   * e.g. a test file uploaded beside the training file. Empty: the random split.
   */
  heldOutFileIds: z.array(z.string().min(1).max(100)).max(100).optional(),
});
export type CleaningOptions = z.output<typeof cleaningInput>;

export const idInput = z.object({ id: z.string().min(1) });

/** The bounds of the studio's hyperparameters (the wizard shows the same). */
export const HYPERPARAMETER_BOUNDS = {
  learningRate: { min: 1e-6, max: 0.1 },
  batch: { min: 1, max: 256 },
  seqLen: { min: 16, max: 32_768 },
  warmupSteps: { min: 0, max: 10_000 },
} as const;

export const previewInput = z.object({
  id: z.string().min(1),
  /** null: a from-scratch tokenizer (byte-level estimate) */
  baseModelId: z.string().min(1).nullable(),
  cleaning: cleaningInput,
});

export const planInput = z.object({
  datasetId: z.string().min(1),
  baseModelId: z.string().min(1).nullable(),
  goal: z.enum(["domain", "answers", "scratch"]),
  method: z.enum(["lora", "full", "scratch"]),
  epochs: z.number().min(0.01).max(1000),
  loraRank: z.number().int().min(1).max(256).optional(),
  scratchSize: z.enum(["tiny", "small"]).optional(),
  cleaning: cleaningInput,
  /** Expert knobs (defaults are chosen from the data and the model). */
  advanced: z
    .object({
      /** stop after this many optimizer steps (overrides epochs) */
      maxSteps: z.number().int().min(1).max(10_000_000).optional(),
      learningRate: z
        .number()
        .min(HYPERPARAMETER_BOUNDS.learningRate.min, `The learning rate must be between ${HYPERPARAMETER_BOUNDS.learningRate.min} and ${HYPERPARAMETER_BOUNDS.learningRate.max}.`)
        .max(HYPERPARAMETER_BOUNDS.learningRate.max, `The learning rate must be between ${HYPERPARAMETER_BOUNDS.learningRate.min} and ${HYPERPARAMETER_BOUNDS.learningRate.max}.`)
        .optional(),
      batch: z
        .number()
        .int("The batch size must be a whole number.")
        .min(HYPERPARAMETER_BOUNDS.batch.min, `The batch size must be between ${HYPERPARAMETER_BOUNDS.batch.min} and ${HYPERPARAMETER_BOUNDS.batch.max}.`)
        .max(HYPERPARAMETER_BOUNDS.batch.max, `The batch size must be between ${HYPERPARAMETER_BOUNDS.batch.min} and ${HYPERPARAMETER_BOUNDS.batch.max}.`)
        .optional(),
      /** tokens per training sequence (the context length trained on); capped at the model's context */
      seqLen: z
        .number()
        .int("The context length must be a whole number.")
        .min(HYPERPARAMETER_BOUNDS.seqLen.min, `The context length must be between ${HYPERPARAMETER_BOUNDS.seqLen.min} and ${HYPERPARAMETER_BOUNDS.seqLen.max} tokens.`)
        .max(HYPERPARAMETER_BOUNDS.seqLen.max, `The context length must be between ${HYPERPARAMETER_BOUNDS.seqLen.min} and ${HYPERPARAMETER_BOUNDS.seqLen.max} tokens.`)
        .optional(),
      /** optimizer steps over which the learning rate ramps up from 0 */
      warmupSteps: z
        .number()
        .int("Warmup must be a whole number of steps.")
        .min(HYPERPARAMETER_BOUNDS.warmupSteps.min, `Warmup must be between 0 and ${HYPERPARAMETER_BOUNDS.warmupSteps.max} steps.`)
        .max(HYPERPARAMETER_BOUNDS.warmupSteps.max, `Warmup must be between 0 and ${HYPERPARAMETER_BOUNDS.warmupSteps.max} steps.`)
        .optional(),
      evalEvery: z.number().int().min(0).optional(),
      saveEvery: z.number().int().min(0).optional(),
      threads: z.number().int().min(1).max(256).optional(),
      /** matmul precision: auto = bf16 where the CPU has AVX512-BF16 (or a GPU), else f32; bf16 without it is refused */
      precision: z.enum(["auto", "f32", "bf16"]).optional(),
    })
    .optional(),
});
export type PlanInput = z.infer<typeof planInput>;

export const startInput = planInput.extend({
  name: z.string().trim().max(200).optional(),
  assistantId: z.string().min(1).optional(),
  /** Where it trains: this server (default) or a remote worker (`npx atelier worker`). */
  placement: z.enum(["local", "worker"]).optional(),
});
export type StartInput = z.infer<typeof startInput>;

export const evalPromptsSetInput = z.object({
  assistantId: z.string().min(1),
  prompts: z.array(z.string().trim().min(1, "A prompt cannot be empty.").max(4000)).min(1, "Give at least one prompt.").max(50),
});

export const compareInput = z.object({ assistantId: z.string().min(1), candidateModelId: z.string().min(1) });
export const activateInput = z.object({
  assistantId: z.string().min(1),
  modelId: z.string().min(1),
  /** activate although the default eval set scores it worse (recorded in the version's lineage) */
  override: z.boolean().optional(),
});

// ---------------------------------------------------------------------------------------------

export type StudioRecord = { kind: "text"; text: string } | ({ kind: "chat" } & StoredChat);

export type DatasetFileView = { id: string; name: string; sha256: string; bytes: number; format: string; records: number; warnings: string[]; uploadedAt: number };
export type DatasetView = {
  id: string;
  name: string;
  kind: DatasetKind;
  recordCount: number;
  bytes: number;
  tokenEstimate: number;
  createdAt: number;
  files: DatasetFileView[];
};
export type DatasetStats = { textRecords: number; chatRecords: number; chars: number; avgChars: number; minChars: number; maxChars: number; turns: number };
export type DatasetDetail = DatasetView & { samples: StudioRecord[]; stats: DatasetStats };

export type UploadResult = {
  dataset: { id: string; name: string; format: DatasetKind; recordCount: number; tokenCount: number };
  files: { name: string; records: number; warnings: string[] }[];
};

export type CleaningEffect = {
  exactDuplicates: number;
  nearDuplicates: number;
  tooShort: number;
  tooLong: number;
  /** Replacements made, per rule (0 for a rule that is off). */
  pii: { email: number; phone: number; card: number; ip: number };
  /** Per rule: what it found (replaced, or would replace when off), what it kept as not personal, with examples. */
  piiReport: PiiReport;
};

export type PreviewResult = {
  records: number;
  /** records left after cleaning (records is the count before) */
  kept: number;
  tokens: number;
  trainTokens: number;
  heldOutTokens: number;
  trainRecords: number;
  heldOutRecords: number;
  /** "model" = the base model's own tokenizer; "estimate" = byte-level estimate for a scratch tokenizer */
  tokenizer: "model" | "estimate";
  samples: { before: string; after: string }[];
  effect: CleaningEffect;
  /** records left out because they contain an eval question or answer (counted before cleaning) */
  evalLeakage?: { records: number; evalRows: number; sets: string[]; warning: string | null };
};

export type Recommendation = "knowledge" | "lora" | "full" | "scratch";

/** The planner's recent record on this machine: estimates beside what runs measured, and the correction it now applies. */
export type EstimateAccuracy = {
  /** The method the runs are of; null when none of the planned method has finished (then: any method). */
  method: "lora" | "full" | "scratch" | null;
  runs: number;
  /** Measured ÷ raw estimate, median of the recent runs (1 without history); estimates are multiplied by it. */
  timeFactor: number;
  memoryFactor: number;
  recent: {
    runId: string;
    name: string;
    method: "lora" | "full" | "scratch";
    finishedAt: number;
    estimatedSeconds: number | null;
    /** the trainer's own running time (what the estimate predicts) */
    actualSeconds: number | null;
    estimatedPeakBytes: number | null;
    actualPeakBytes: number | null;
  }[];
};

/** Another way to train the same data, as the planner predicts it on this machine. */
export type PlanAlternative = { method: "lora" | "full" | "scratch"; estSeconds: number; peakMemoryBytes: number; fits: boolean; tokensPerSecond: number };

export type PlanResult = {
  tokens: number;
  /** tokens seen in training = train tokens × epochs */
  trainingTokens: number;
  params: number;
  trainableParams: number;
  flops: number;
  estSeconds: number;
  peakMemoryBytes: number;
  availableMemoryBytes: number;
  fits: boolean;
  recommendation: Recommendation;
  reasons: string[];
  calibration: { tokensPerSecond: number; cached: boolean };
  settings: TrainSettings;
  /** The estimates before correction by the recent runs' measured ratio (estSeconds, peakMemoryBytes are corrected). */
  raw: { estSeconds: number; peakMemoryBytes: number };
  accuracy: EstimateAccuracy;
  /** The other method for the same data (LoRA ↔ full), when it was measured; the recommendation compares them. */
  alternatives: PlanAlternative[];
};

/** What the runner hands to the trainer, derived from the plan input and the data. */
export type TrainSettings = {
  method: "lora" | "full" | "scratch";
  seqLen: number;
  batch: number;
  epochs: number;
  maxSteps: number | null;
  learningRate: number;
  /** steps over which the learning rate ramps up (absent in runs planned before it was a setting: 5) */
  warmupSteps?: number;
  loraRank: number | null;
  evalEvery: number;
  saveEvery: number;
  threads: number;
  /** absent in runs saved before precision was a setting: "auto" */
  precision?: "auto" | "f32" | "bf16";
  scratchModel: { n_embd: number; n_layer: number; n_head: number; n_ff: number; n_ctx: number; vocab: number } | null;
};

export type RunProgress = { step: number; totalSteps: number; fraction: number; etaSeconds: number | null };
export type RunView = {
  id: string;
  name: string;
  status: RunStatus;
  goal: "domain" | "answers" | "scratch";
  method: "lora" | "full" | "scratch";
  datasetId: string;
  baseModelId: string | null;
  assistantId: string | null;
  progress: RunProgress;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
  estimate: { seconds: number | null; peakMemoryBytes: number | null };
  /**
   * Measured: wall time in all (data preparation and evaluations included), the trainer's own
   * running time (what the estimate predicts), and the trainer process's peak resident memory (null
   * where it cannot be read).
   */
  actual: { seconds: number; trainSeconds: number | null; peakMemoryBytes: number | null } | null;
  /**
   * Held-out perplexity (per token: compare only within one tokenizer) and bits per byte (any
   * tokenizer); `beforeUntrained`: the "before" is an untrained model's uniform guess (scratch).
   */
  metrics: { pplBefore: number | null; pplAfter: number | null; bpbBefore: number | null; bpbAfter: number | null; beforeUntrained: boolean } | null;
  modelId: string | null;
  /** runs ahead of this one in the queue (0 when running or finished) */
  queuedBehind: number;
  canResume: boolean;
};
export type RunPoint = { step: number; loss: number | null; evalLoss?: number; lr: number; tokensPerSecond: number };
export type RunDetail = RunView & { points: RunPoint[]; settings: Record<string, unknown>; log: string[] };

export type RunEvent =
  | { type: "progress"; step: number; totalSteps: number; loss: number | null; evalLoss?: number; lr: number; tokensPerSecond: number; etaSeconds: number }
  | { type: "status"; status: RunStatus; error?: string }
  | { type: "done"; modelId: string; pplBefore: number | null; pplAfter: number | null; bpbBefore?: number | null; bpbAfter?: number | null };

export type CompareEvent = { type: "answer"; promptIndex: number; side: "current" | "candidate"; text: string } | { type: "done" };

export type VersionView = {
  id: string;
  name: string;
  kind: "base" | "finetuned" | "lora";
  status: string;
  baseModelId: string | null;
  datasetId: string | null;
  runId: string | null;
  createdAt: number;
  meta: { settings: Record<string, unknown> | null; pplBefore: number | null; pplAfter: number | null; bpbBefore: number | null; bpbAfter: number | null; beforeUntrained: boolean };
  /** Models with the same key share a tokenizer (perplexities comparable); label: the model it comes from. */
  tokenizer: { key: string; label: string };
  activeFor: string[];
};
