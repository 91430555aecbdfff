"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { downloadText } from "@/app/_lib/eval-format";
import { errorMessage, formatRelativeTime } from "@/app/_lib/format";
import { useSession } from "@/app/_lib/session";
import { useTRPC, useTRPCClient } from "@/app/_lib/trpc";
import { ProgressTrack } from "@/app/_components/progress-track";
import { EvalStatusPill, FormError, PageFrame, Section, cardClass, secondaryButtonClass } from "../../../_components/ui";
import { DrillDown } from "./drill-down";
import { Matrix } from "./matrix";

/** One eval run: progress, the matrix with intervals and the verdict, the planner's advice, the pairwise tests, the drill-down. */
export function EvalRunView({ id }: { id: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const { can } = useSession();
  const run = useQuery(trpc.evals.runs.get.queryOptions({ id }, { refetchInterval: (q) => (q.state.data && (q.state.data.status === "queued" || q.state.data.status === "running") ? 1000 : false) }));
  const meta = useQuery(trpc.evals.meta.queryOptions());
  const cancel = useMutation(trpc.evals.runs.cancel.mutationOptions({ onSuccess: () => void queryClient.invalidateQueries(trpc.evals.runs.pathFilter()) }));

  if (run.isError) return <PageFrame><FormError message={`Couldn’t load the run: ${run.error.message}`} /></PageFrame>;
  if (meta.isError) return <PageFrame><FormError message={`Couldn’t load the metric list: ${meta.error.message}`} /></PageFrame>;
  if (run.isPending || meta.isPending) return <PageFrame><p className="text-sm text-zinc-400">Loading…</p></PageFrame>;
  const r = run.data;
  const { metrics, rubric } = meta.data;
  const s = r.summary;
  const live = r.status === "queued" || r.status === "running";
  const pct = Math.round(r.progress.fraction * 100);

  const onExport = async (format: "jsonl" | "csv") => {
    const file = await client.evals.runs.export.query({ runId: id, format });
    downloadText(file.fileName, file.mime, file.content);
  };

  return (
    <PageFrame>
      <Link href="/evals" className="text-sm text-zinc-500 hover:underline">
        ← Evaluate
      </Link>
      <header className="mt-2 flex flex-wrap items-start justify-between gap-3">
        <div>
          <h1 className="text-xl font-semibold tracking-tight">{r.name}</h1>
          <p className="mt-1 text-sm text-zinc-500">
            Set <Link href={`/evals/sets/${r.setId}`} className="hover:underline">{r.setName}</Link> · {r.configs.length} configurations · started {formatRelativeTime(r.createdAt)} ·
            greedy decoding{r.options.temperature > 0 ? ` off (temperature ${r.options.temperature})` : ""}, up to {r.options.maxTokens} tokens · {r.options.concurrency} questions at a time
            {r.options.judge ? ` · judge: ${r.options.judge}` : ""}
          </p>
        </div>
        <div className="flex items-center gap-2">
          <EvalStatusPill status={r.status} />
          {live && can("editor") && (
            <button type="button" className={secondaryButtonClass} disabled={cancel.isPending} onClick={() => cancel.mutate({ id })} data-testid="cancel-eval-run">
              Cancel
            </button>
          )}
          {!live && (
            <>
              <button type="button" className={secondaryButtonClass} onClick={() => void onExport("csv")} data-testid="export-csv">
                Export CSV
              </button>
              <button type="button" className={secondaryButtonClass} onClick={() => void onExport("jsonl")}>
                Export JSONL
              </button>
            </>
          )}
        </div>
      </header>
      {cancel.isError && <FormError message={errorMessage(cancel.error)} />}
      {live && (
        <div className="mt-4" data-testid="eval-progress">
          <div className="mb-1 flex justify-between text-xs tabular-nums text-zinc-500">
            <span>
              {r.progress.done} of {r.progress.total} answers
            </span>
            <span>{r.status === "queued" ? (r.queuedBehind > 0 ? `${r.queuedBehind} run(s) ahead` : "waiting for the device (training runs first)") : `${pct}%`}</span>
          </div>
          <ProgressTrack percent={r.status === "queued" ? null : pct} label={`Progress of ${r.name}`} valueText={`${pct}%`} fillClass="bg-accent-600" />
        </div>
      )}
      {r.status === "failed" && r.error && <FormError message={r.error} />}

      {s && (
        <>
          <Section title="Verdict" testId="eval-verdict">
            <div className={`${cardClass} space-y-2 text-sm`}>
              {s.verdict.map((line, i) => (
                <p key={i} className={line.startsWith("Recommendation") ? "font-medium" : ""}>
                  {line}
                </p>
              ))}
              {s.planner.map((p) => (
                <div key={p.modelId} className="border-t border-zinc-200 pt-2 text-zinc-600 dark:border-zinc-800 dark:text-zinc-400" data-testid="planner-check">
                  <p>{p.sentence}</p>
                  <dl className="mt-1 grid grid-cols-[auto_1fr] gap-x-3 text-xs">
                    <dt className="text-zinc-500">Planner advised</dt>
                    <dd data-testid="planner-advice">{p.recommendation ?? "not recorded"}{p.reasons.length > 0 ? ` — ${p.reasons.join(" ")}` : ""}</dd>
                    <dt className="text-zinc-500">Measured winner</dt>
                    <dd data-testid="measured-winner">{p.measuredWinner ?? s.measuredWinner?.label ?? "—"}</dd>
                    <dt className="text-zinc-500">Recommended</dt>
                    <dd>{p.recommended ?? s.recommendation?.label ?? "none yet"}</dd>
                  </dl>
                </div>
              ))}
            </div>
          </Section>
          <Section title="Matrix" testId="eval-matrix-section">
            <Matrix run={r} metrics={metrics} rubric={rubric} />
          </Section>
          {s.comparisons.length > 0 && (
            <Section title="Pairwise, on the same questions">
              <ul className={`${cardClass} space-y-1 text-sm`} data-testid="comparisons">
                {s.comparisons.map((c) => (
                  <li key={`${c.a}-${c.b}`}>{c.sentence}</li>
                ))}
              </ul>
              <p className="mt-2 text-xs text-zinc-500">Wins, ties and losses on the verdict&apos;s metric; p from the exact two-sided sign test (ties left out); the interval is the bootstrap interval of the mean difference.</p>
            </Section>
          )}
        </>
      )}

      {(s || r.progress.done > 0) && (
        <Section title="Answers">
          <DrillDown run={r} metrics={metrics} />
        </Section>
      )}

      <details className="mt-8 text-xs text-zinc-500">
        <summary className="cursor-pointer">Log</summary>
        <pre className="mt-2 whitespace-pre-wrap" data-testid="eval-log">{r.log.join("\n")}</pre>
      </details>
    </PageFrame>
  );
}
