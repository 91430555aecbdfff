import "server-only";
import type { MetricKey } from "./types";

/** Every column of the matrix: what it is called, how it is shown, which way is better. */
export const METRICS: { key: MetricKey; label: string; noun: string; format: "percent" | "number" | "ms" | "rate"; better: "higher" | "lower" | null; quality: boolean }[] = [
  { key: "factsHit", label: "Required facts", noun: "required facts", format: "percent", better: "higher", quality: true },
  { key: "tokenF1", label: "Token-F1", noun: "token-F1", format: "percent", better: "higher", quality: true },
  { key: "rougeL", label: "ROUGE-L", noun: "ROUGE-L", format: "percent", better: "higher", quality: true },
  { key: "citationHit", label: "Citation hit", noun: "citation hits", format: "percent", better: "higher", quality: true },
  { key: "sourceRetrieved", label: "Source retrieved", noun: "retrieved sources", format: "percent", better: "higher", quality: true },
  { key: "refusalCorrect", label: "Refusal correct", noun: "correct refusals", format: "percent", better: "higher", quality: true },
  { key: "answerTokens", label: "Answer tokens", noun: "answer tokens", format: "number", better: null, quality: false },
  { key: "ttftMs", label: "TTFT", noun: "time to first token", format: "ms", better: "lower", quality: false },
  { key: "tokensPerSecond", label: "Tokens/s", noun: "tokens per second", format: "rate", better: "higher", quality: false },
];

export const metricInfo = (key: MetricKey) => METRICS.find((m) => m.key === key)!;

export function formatMetric(key: MetricKey, v: number): string {
  const f = metricInfo(key).format;
  if (f === "percent") return `${(v * 100).toFixed(0)}%`;
  if (f === "ms") return `${v.toFixed(0)} ms`;
  return v.toFixed(1);
}
