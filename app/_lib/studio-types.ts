/**
 * UI-side view of the studio API contract (STUDIO-CONTRACT.md). Structural, like types.ts, so the
 * pure studio helpers and their unit tests don't depend on server code; the tRPC-inferred types
 * must stay assignable to these wherever query data flows into those helpers (tsc checks it).
 */
export type Goal = "domain" | "answers" | "scratch";
export type Method = "lora" | "full" | "scratch";
export type ScratchSize = "tiny" | "small";
export type DatasetKind = "text" | "chat";
export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled" | "interrupted";

export interface Cleaning {
  dedupe: boolean;
  nearDedupe: boolean;
  scrubPii: boolean;
  minChars: number;
  maxChars: number;
  heldOutFraction: number;
}

export interface RunProgress {
  step: number;
  totalSteps: number;
  fraction: number;
  etaSeconds: number | null;
}

/** One point of the loss chart. */
export interface LossPoint {
  step: number;
  /** null on steps that only carry an eval measurement */
  loss: number | null;
  evalLoss?: number | null;
}

export type WatchEvent =
  | { type: "progress"; step: number; totalSteps: number; loss: number | null; evalLoss?: number | null; lr: number; tokensPerSecond: number; etaSeconds: number | null }
  | { type: "status"; status: RunStatus; error?: string | null }
  | { type: "done"; modelId: string | null; pplBefore: number | null; pplAfter: number | null };

export type CompareEvent =
  | { type: "answer"; promptIndex: number; side: "current" | "candidate"; text: string }
  | { type: "done" };

/** Body of POST /api/studio/datasets. */
export interface UploadResult {
  dataset: { id: string; name: string; format: string; recordCount: number; tokenCount: number };
  files: { name: string; records: number; warnings: string[] }[];
}

export interface UploadProblem {
  code: string;
  message: string;
  file?: string;
  line?: number;
}
