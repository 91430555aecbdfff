import "server-only";
import { formatMetric, METRICS } from "./metric-info";
import type { EvalRunView } from "./types";

/** The matrix as a plain-text table (the CLI prints it): configurations × metrics, mean [95% CI], * = best in column. */
export function matrixTable(run: EvalRunView): string {
  const s = run.summary;
  if (!s) return `Run "${run.name}" is ${run.status}${run.error ? `: ${run.error}` : ""}.`;
  const cols = METRICS.filter((m) => s.configs.some((c) => c.metrics[m.key] !== null));
  const header = ["Configuration", ...cols.map((m) => m.label), ...(s.configs.some((c) => c.judge) ? ["Judge (1–5, opinion)"] : [])];
  const body = s.configs.map((c, i) => [
    `${i + 1}. ${c.label}`,
    ...cols.map((m) => {
      const v = c.metrics[m.key];
      if (!v) return "—";
      const star = s.best[m.key]?.includes(i) ? "*" : " ";
      return `${formatMetric(m.key, v.mean)} [${formatMetric(m.key, v.low)}–${formatMetric(m.key, v.high)}]${star}`;
    }),
    ...(c.judge ? [c.judge.score ? `${c.judge.score.mean.toFixed(1)} [${c.judge.score.low.toFixed(1)}–${c.judge.score.high.toFixed(1)}]${c.judge.unavailable ? `, ${c.judge.unavailable} unavailable` : ""}` : `${c.judge.unavailable} unavailable, ${c.judge.unparsed} unreadable`] : []),
  ]);
  const widths = header.map((h, k) => Math.max(h.length, ...body.map((r) => (r[k] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, k) => c.padEnd(widths[k]!)).join("  ").trimEnd();
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)];
  out.push("", `${s.rows} questions; mean [95% bootstrap CI, seed ${s.seed}, ${s.resamples} resamples]; * best in column.`);
  if (s.cannotCompute.length) out.push(...s.cannotCompute.map((c) => `Not computed: ${c.reason}`));
  const failed = s.configs.flatMap((c, i) => (c.errors > 0 ? [`${i + 1}. ${c.label}: ${c.errors} of ${s.rows} answers failed and count as empty answers (the engine's error is in the drill-down and --json).`] : []));
  out.push(...failed);
  out.push("", ...s.verdict);
  if (s.planner.length) out.push("", ...s.planner.map((p) => p.sentence));
  return out.join("\n");
}
