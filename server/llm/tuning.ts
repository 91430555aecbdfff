import "server-only";
import { env } from "../env";

/**
 * Inference threads for a model of `parameters` weights on `cores` math cores.
 * Tiny models are dominated by thread synchronisation, not arithmetic: on a 2-core machine a
 * 3.5M-parameter model ran ~10x slower with 2 threads than with 1 (see BENCHMARKS.md).
 */
export function inferenceThreads(parameters: number | null, cores: number): number {
  const configured = env().ATELIER_THREADS;
  if (configured > 0) return configured;
  if (parameters !== null && parameters < 50_000_000) return 1;
  return Math.max(1, cores);
}

/** Per-sequence context: the model's own context, capped so N sequences fit comfortably. */
export function sequenceContextSize(trainContext: number | null): number {
  const configured = env().ATELIER_CONTEXT_SIZE;
  if (configured > 0) return configured;
  return Math.min(trainContext ?? 2048, 8192);
}
