"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { formatValue, type MetricFormat } from "@/app/_lib/eval-format";
import { useTRPC, type RouterOutputs } from "@/app/_lib/trpc";
import { FormError, cardClass } from "../../../_components/ui";

type Run = RouterOutputs["evals"]["runs"]["get"];
type Metric = RouterOutputs["evals"]["meta"]["metrics"][number];
type ResultRow = RouterOutputs["evals"]["runs"]["results"]["rows"][number];

/** Every question with each configuration's answer, citations and scores side by side; optionally failures only. */
export function DrillDown({ run, metrics }: { run: Run; metrics: Metric[] }) {
  const trpc = useTRPC();
  const [failuresOnly, setFailuresOnly] = useState(false);
  const [open, setOpen] = useState<number | null>(null);
  const live = run.status === "queued" || run.status === "running";
  const results = useQuery(trpc.evals.runs.results.queryOptions({ runId: run.id, failuresOnly, limit: 500 }, { refetchInterval: live ? 2000 : false }));
  const gate = run.summary?.gateMetric ?? "tokenF1";
  const gateInfo = metrics.find((m) => m.key === gate);
  if (results.isError) return <FormError message={`Couldn’t load the answers: ${results.error.message}`} />;
  return (
    <div>
      <label className="mb-3 flex items-center gap-2 text-sm">
        <input type="checkbox" checked={failuresOnly} onChange={(e) => setFailuresOnly(e.target.checked)} data-testid="failures-only" />
        Only failures (an error, a missed required fact, a wrong refusal, the expected source not cited, or token-F1 under 50% where a row has only a reference)
      </label>
      {results.isPending ? (
        <p className="text-sm text-zinc-400">Loading…</p>
      ) : (
        <ol className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800" data-testid="drill-rows">
          {results.data.rows.length === 0 && <li className="px-4 py-6 text-center text-sm text-zinc-500">{failuresOnly ? "No failures." : "No answers yet."}</li>}
          {results.data.rows.map((row) => (
            <li key={row.idx} data-testid="drill-row">
              <button type="button" className="flex w-full items-start justify-between gap-3 px-4 py-2 text-left text-sm hover:bg-zinc-50 dark:hover:bg-zinc-900" aria-expanded={open === row.idx} onClick={() => setOpen(open === row.idx ? null : row.idx)}>
                <span className="min-w-0">
                  <span className="mr-2 text-zinc-400">{row.idx + 1}.</span>
                  {row.question}
                </span>
                <span className="flex shrink-0 gap-1.5">
                  {row.cells.map((c) => {
                    const v = c.metrics[gate as keyof typeof c.metrics];
                    return (
                      <span key={c.configIdx} title={run.configs[c.configIdx]?.label} className={`rounded px-1.5 py-0.5 text-xs tabular-nums ${c.failed ? "bg-red-50 text-red-700 dark:bg-red-950/40 dark:text-red-300" : "bg-emerald-50 text-emerald-700 dark:bg-emerald-950/40 dark:text-emerald-300"}`}>
                        {v === null || v === undefined || !gateInfo ? "—" : formatValue(gateInfo.format as MetricFormat, v)}
                      </span>
                    );
                  })}
                </span>
              </button>
              {open === row.idx && <RowDetail row={row} run={run} metrics={metrics} />}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

function RowDetail({ row, run, metrics }: { row: ResultRow; run: Run; metrics: Metric[] }) {
  return (
    <div className="space-y-3 bg-zinc-50/60 px-4 py-3 dark:bg-zinc-900/40" data-testid="row-detail">
      <dl className="grid gap-x-4 gap-y-1 text-sm sm:grid-cols-[max-content_1fr]">
        <dt className="text-zinc-500">Question</dt>
        <dd>{row.question}</dd>
        <dt className="text-zinc-500">Reference</dt>
        <dd>{row.reference ?? <span className="text-zinc-400">none</span>}</dd>
        {row.facts.length > 0 && (
          <>
            <dt className="text-zinc-500">Required facts</dt>
            <dd>{row.facts.map((f) => `“${f}”`).join(", ")}</dd>
          </>
        )}
        {row.expectedSource && (
          <>
            <dt className="text-zinc-500">Expected source</dt>
            <dd>{row.expectedSource.title}</dd>
          </>
        )}
        {row.shouldRefuse && (
          <>
            <dt className="text-zinc-500">Scope</dt>
            <dd>out of scope: should refuse</dd>
          </>
        )}
      </dl>
      <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-4">
        {row.cells.map((c) => (
          <div key={c.configIdx} className={`${cardClass} text-sm ${c.failed ? "border-red-200 dark:border-red-900/60" : ""}`} data-testid="answer-cell">
            <p className="text-xs font-medium text-zinc-500">{run.configs[c.configIdx]?.label}</p>
            <p className="mt-1 whitespace-pre-wrap" data-testid="answer-text">
              {c.answer || <span className="text-zinc-400">(empty)</span>}
            </p>
            {c.error && <p className="mt-1 text-xs text-red-600">{c.error}</p>}
            {c.citations.length > 0 && (
              <ul className="mt-2 space-y-0.5 text-xs text-zinc-500">
                {c.citations.map((x) => (
                  <li key={x.n} className={c.cited.includes(x.n) ? "font-medium text-zinc-800 dark:text-zinc-200" : ""}>
                    [{x.n}] {x.documentTitle}
                    {x.heading ? ` — ${x.heading}` : ""}
                    {c.cited.includes(x.n) ? " (cited)" : ""}
                  </li>
                ))}
              </ul>
            )}
            <dl className="mt-2 grid grid-cols-2 gap-x-2 text-xs">
              {metrics
                .filter((m) => c.metrics[m.key as keyof typeof c.metrics] !== null)
                .map((m) => (
                  <div key={m.key} className="contents">
                    <dt className="text-zinc-500">{m.label}</dt>
                    <dd className="tabular-nums">{formatValue(m.format as MetricFormat, c.metrics[m.key as keyof typeof c.metrics]!)}</dd>
                  </div>
                ))}
            </dl>
            {c.judge && (
              <p className="mt-2 border-t border-zinc-200 pt-1 text-xs text-zinc-600 dark:border-zinc-800 dark:text-zinc-400">
                Judge: {c.judge.status === "ok" ? `${c.judge.score}/5 — ${c.judge.reason}` : c.judge.reason}
              </p>
            )}
          </div>
        ))}
      </div>
    </div>
  );
}
