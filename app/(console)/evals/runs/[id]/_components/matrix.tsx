"use client";

import { formatInterval, type MetricFormat } from "@/app/_lib/eval-format";
import type { RouterOutputs } from "@/app/_lib/trpc";
import { cardClass } from "../../../_components/ui";

type Run = RouterOutputs["evals"]["runs"]["get"];
type Metric = RouterOutputs["evals"]["meta"]["metrics"][number];

/** Configurations × metrics, each a mean with its 95% bootstrap interval; the best per column marked. The judge's opinion stands apart. */
export function Matrix({ run, metrics, rubric }: { run: Run; metrics: Metric[]; rubric: string[] }) {
  const s = run.summary!;
  const cols = metrics.filter((m) => s.configs.some((c) => c.metrics[m.key] !== null));
  const judged = s.configs.some((c) => c.judge);
  return (
    <div>
      <div className="overflow-x-auto rounded-xl border border-zinc-200 dark:border-zinc-800">
        <table className="w-full text-sm" data-testid="eval-matrix">
          <thead className="bg-zinc-50 text-left text-xs text-zinc-500 dark:bg-zinc-900">
            <tr>
              <th className="px-3 py-2 font-medium">Configuration</th>
              {cols.map((m) => (
                <th key={m.key} className="px-3 py-2 font-medium">
                  {m.label}
                  {m.key === s.gateMetric && <span title="The verdict and the activation gate use this metric"> ◆</span>}
                </th>
              ))}
              {judged && <th className="border-l border-zinc-200 px-3 py-2 font-medium dark:border-zinc-800">Judge (1–5, opinion)</th>}
            </tr>
          </thead>
          <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
            {s.configs.map((c, i) => (
              <tr key={i} data-testid="matrix-row">
                <th scope="row" className="px-3 py-2 text-left font-medium">
                  {c.label}
                  {s.recommendation?.configIdx === i && <span className="ml-2 rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700 dark:bg-emerald-950/50 dark:text-emerald-400">recommended</span>}
                  {c.errors > 0 && <span className="ml-2 text-xs text-red-600">{c.errors} errors</span>}
                </th>
                {cols.map((m) => {
                  const v = c.metrics[m.key];
                  const best = s.best[m.key]?.includes(i) ?? false;
                  if (!v) return <td key={m.key} className="px-3 py-2 text-zinc-400">—</td>;
                  const f = formatInterval(m.format as MetricFormat, v);
                  return (
                    <td key={m.key} className={`px-3 py-2 tabular-nums ${best ? "bg-emerald-50/60 dark:bg-emerald-950/20" : ""}`} data-best={best || undefined} data-metric={m.key}>
                      <span className={best ? "font-semibold" : ""}>{f.mean}</span>
                      {best && <span className="sr-only"> (best)</span>}
                      <span className="block text-xs text-zinc-500">{f.range}</span>
                    </td>
                  );
                })}
                {judged && (
                  <td className="border-l border-zinc-200 px-3 py-2 tabular-nums dark:border-zinc-800">
                    {c.judge?.score ? (
                      <>
                        {c.judge.score.mean.toFixed(1)}
                        <span className="block text-xs text-zinc-500">
                          {c.judge.score.low.toFixed(1)}–{c.judge.score.high.toFixed(1)}
                        </span>
                      </>
                    ) : (
                      <span className="text-zinc-400">—</span>
                    )}
                    {c.judge && (c.judge.unavailable > 0 || c.judge.unparsed > 0) && (
                      <span className="block text-xs text-amber-700 dark:text-amber-400">
                        {c.judge.unavailable > 0 && `${c.judge.unavailable} judge unavailable`}
                        {c.judge.unavailable > 0 && c.judge.unparsed > 0 && ", "}
                        {c.judge.unparsed > 0 && `${c.judge.unparsed} unreadable`}
                      </span>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="mt-2 text-xs text-zinc-500" data-testid="matrix-note">
        {s.rows} questions. Each cell: the mean and its 95% bootstrap interval ({s.resamples.toLocaleString("en")} resamples, seed {s.seed}); shaded = best in its column; ◆ = the
        verdict&apos;s metric. Citation columns are empty without the knowledge base.
      </p>
      {s.cannotCompute.length > 0 && (
        <ul className="mt-2 space-y-0.5 text-xs text-amber-800 dark:text-amber-300" data-testid="cannot-compute">
          {s.cannotCompute.map((c) => (
            <li key={c.metric}>{c.reason}</li>
          ))}
        </ul>
      )}
      {judged && (
        <details className={`${cardClass} mt-3 text-xs`}>
          <summary className="cursor-pointer font-medium">The judge&apos;s rubric (fixed; its scores are an opinion, never mixed into the metrics)</summary>
          <ul className="mt-2 space-y-0.5" data-testid="judge-rubric">
            {rubric.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
