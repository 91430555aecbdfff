import "server-only";
import { env } from "../env";

/**
 * Inference threads: one core is left to Node (HTTP, sampling, detokenizing). ggml's threads
 * meet at a barrier after every graph node, so a single descheduled thread stalls each token:
 * on 2 cores, 2 threads ran 6-100x slower than 1 for models of 3.5M and 124M parameters alike
 * (bench/ENGINE-TUNING.md). Model size does not change that; free cores do.
 */
export function inferenceThreads(cores: number): number {
  const configured = env().ATELIER_THREADS;
  if (configured > 0) return configured;
  return Math.max(1, cores - 1);
}

/** Per-sequence context: the model's own context, capped so N sequences fit comfortably. */
export function sequenceContextSize(trainContext: number | null): number {
  const configured = env().ATELIER_CONTEXT_SIZE;
  if (configured > 0) return configured;
  return Math.min(trainContext ?? 2048, 8192);
}
