import "server-only";
import { z } from "zod";
import type { StoredChat, DatasetKind, RunStatus } from "./schema";

// Inputs (zod) and outputs of the studio API. The UI derives its types from the router
// (app/_lib/studio-types.ts), so this file is the one contract. Fields may be added, never renamed.

export const cleaningInput = z.object({
  dedupe: z.boolean().default(true),
  nearDedupe: z.boolean().default(true),
  /** Replace e-mails, phone numbers, card numbers (Luhn-valid) and IP addresses with placeholders. */
  scrubPii: z.boolean().default(true),
  minChars: z.number().int().min(0).max(1_000_000).default(0),
  maxChars: z.number().int().min(1).max(10_000_000).default(100_000),
  heldOutFraction: z.number().min(0).max(0.5).default(0.1),
});
export type CleaningOptions = z.output<typeof cleaningInput>;

export const idInput = z.object({ id: z.string().min(1) });

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
      learningRate: z.number().positive().max(1).optional(),
      batch: z.number().int().min(1).max(1024).optional(),
      seqLen: z.number().int().min(8).max(32_768).optional(),
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

export type DatasetFileView = { name: string; sha256: string; bytes: number; format: string; records: number; warnings: string[]; uploadedAt: number };
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
  pii: { email: number; phone: number; card: number; ip: number };
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
};

/** What the runner hands to the trainer, derived from the plan input and the data. */
export type TrainSettings = {
  method: "lora" | "full" | "scratch";
  seqLen: number;
  batch: number;
  epochs: number;
  maxSteps: number | null;
  learningRate: number;
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
  actual: { seconds: number; peakMemoryBytes: number | null } | null;
  metrics: { pplBefore: number | null; pplAfter: number | null } | null;
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
  | { type: "done"; modelId: string; pplBefore: number | null; pplAfter: number | null };

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
  meta: { settings: Record<string, unknown> | null; pplBefore: number | null; pplAfter: number | null };
  activeFor: string[];
};
