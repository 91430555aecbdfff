/**
 * Formatting for the evaluation pages (pure, so the matrix and drill-down render the same numbers
 * the CLI prints). Metric keys and formats mirror server/evals/metric-info.ts (the server sends
 * the column list through evals.meta).
 */
export type MetricFormat = "percent" | "number" | "ms" | "rate";
export type Interval = { mean: number; low: number; high: number; n: number };

export function formatValue(format: MetricFormat, v: number): string {
  if (format === "percent") return `${(v * 100).toFixed(0)}%`;
  if (format === "ms") return `${v.toFixed(0)} ms`;
  return v.toFixed(1);
}

/** "82% (71–90%)" — a mean with its 95% interval. */
export function formatInterval(format: MetricFormat, i: Interval): { mean: string; range: string } {
  const unit = format === "percent" ? "%" : format === "ms" ? " ms" : "";
  const bare = (v: number) => formatValue(format, v).replace(/%$| ms$/, "");
  return { mean: formatValue(format, i.mean), range: `${bare(i.low)}–${bare(i.high)}${unit}` };
}

export const RUN_STATUS_LABEL: Record<string, string> = {
  queued: "Queued",
  running: "Running",
  succeeded: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
};

export const RUN_STATUS_TONE: Record<string, string> = {
  queued: "bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300",
  running: "bg-accent-50 text-accent-700 dark:bg-accent-950/50 dark:text-accent-300",
  succeeded: "bg-emerald-50 text-emerald-700 dark:bg-emerald-950/50 dark:text-emerald-400",
  failed: "bg-red-50 text-red-700 dark:bg-red-950/50 dark:text-red-400",
  cancelled: "bg-amber-50 text-amber-800 dark:bg-amber-950/50 dark:text-amber-300",
};

/** Facts typed one per line in the editor → the list the server checks (blank lines dropped). */
export function parseFactLines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Saves text as a file in the browser (exports come back from the server as text). */
export function downloadText(fileName: string, mime: string, content: string): void {
  const url = URL.createObjectURL(new Blob([content], { type: mime }));
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
