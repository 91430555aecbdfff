import "server-only";
import type { RunSampling } from "./sequence-run";

/*
 * Types shared by both engines (node-llama-cpp's pool and the native loop). They live apart from
 * pool.ts and generate.ts because those import the native adapter, which needs these types too.
 */

export type { Turn } from "./chat-history";

export type Sampling = RunSampling;

/** What is served: a model file, optionally with a LoRA adapter applied. */
export type ServingSpec = {
  /** Stable key of what is served, e.g. the model row id. */
  id: string;
  label: string;
  modelPath: string;
  loraPath?: string | null;
};

export type GenerationStats = {
  promptTokens: number;
  completionTokens: number;
  ttftMs: number | null;
  durationMs: number;
  tokensPerSecond: number | null;
  stopReason: string;
};

export type GenerationEvent =
  | { type: "text"; text: string }
  | { type: "end"; text: string; stats: GenerationStats; aborted: boolean };
