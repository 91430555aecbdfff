"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { errorMessage, formatRelativeTime } from "@/app/_lib/format";
import { formatSeconds, isActiveStatus, peakVsEstimate, trainingTiming } from "@/app/_lib/studio-format";
import { useTRPC } from "@/app/_lib/trpc";
import { Perplexity } from "../../../_components/perplexity";
import { Facts, FormError, GOAL_LABEL, METHOD_LABEL, RunProgressBar, Section, StatusPill, cardClass, secondaryButtonClass } from "../../../_components/ui";
import { EvaluatePanel } from "./evaluate-panel";
import { LossChart } from "./loss-chart";
import { RunLog } from "./run-log";
import { useLiveRun } from "./use-live-run";

export function RunView({ id }: { id: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { run, live } = useLiveRun(id);
  const refresh = () => {
    void queryClient.invalidateQueries(trpc.studio.runs.get.queryFilter({ id }));
    void queryClient.invalidateQueries(trpc.studio.runs.list.queryFilter());
  };
  const cancel = useMutation(trpc.studio.runs.cancel.mutationOptions({ onSuccess: refresh }));
  const resume = useMutation(trpc.studio.runs.resume.mutationOptions({ onSuccess: refresh }));

  if (run.isError) {
    return (
      <Shell>
        <FormError message={`Couldn’t load this training run: ${run.error.message}`} />
      </Shell>
    );
  }
  if (!run.data || !live) {
    return (
      <Shell>
        <p className="text-sm text-zinc-400">Loading…</p>
      </Shell>
    );
  }
  const r = run.data;
  const status = live.status;
  const active = isActiveStatus(status);
  const timing = trainingTiming(r.estimate.seconds, r.actual?.trainSeconds, r.actual?.seconds);
  const settings = r.settings as Record<string, unknown>;

  return (
    <Shell>
      <header className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0">
          <div className="flex flex-wrap items-center gap-2">
            <h1 className="truncate text-xl font-semibold tracking-tight" data-testid="run-name">
              {r.name}
            </h1>
            <StatusPill status={status} />
          </div>
          <p className="mt-1 text-sm text-zinc-500">
            {GOAL_LABEL[r.goal]} · {METHOD_LABEL[r.method]} · started {formatRelativeTime(r.startedAt ?? r.createdAt)}
          </p>
        </div>
        <div className="flex gap-2">
          {active && (
            <button type="button" className={secondaryButtonClass} disabled={cancel.isPending} onClick={() => cancel.mutate({ id })} data-testid="cancel-run">
              {cancel.isPending ? "Cancelling…" : "Cancel"}
            </button>
          )}
          {!active && r.canResume && (
            <button type="button" className={secondaryButtonClass} disabled={resume.isPending} onClick={() => resume.mutate({ id })} data-testid="resume-run">
              {resume.isPending ? "Resuming…" : "Resume from last checkpoint"}
            </button>
          )}
        </div>
      </header>
      {(cancel.isError || resume.isError) && <FormError message={errorMessage(cancel.error ?? resume.error)} />}

      <div className={`${cardClass} mt-6`}>
        <RunProgressBar status={status} progress={live.progress} label="Training progress" />
        {status === "queued" && r.queuedBehind > 0 && (
          <p className="mt-2 text-xs text-zinc-500">
            Waiting behind {r.queuedBehind} other {r.queuedBehind === 1 ? "training" : "trainings"}; one runs at a time.
          </p>
        )}
        {status === "failed" && (live.error ?? r.error) && (
          <p role="alert" className="mt-3 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950/40 dark:text-red-300" data-testid="run-error">
            {live.error ?? r.error}
          </p>
        )}
        {status === "interrupted" && <p className="mt-2 text-sm text-amber-700 dark:text-amber-400">The server stopped while this was training. Resume it to continue from the last checkpoint.</p>}
        <div className="mt-5">
          <LossChart points={live.points} totalSteps={live.progress.totalSteps} />
        </div>
      </div>

      {/* The stream says "done" a moment before the stored record has the measured time, peak
          memory and bits per byte; until it does, say so rather than show them as not measured. */}
      {status === "succeeded" && r.status !== "succeeded" && (
        <p className="mt-3 text-xs text-zinc-500" data-testid="run-results-pending">
          Training finished; reading its results…
        </p>
      )}
      {status === "succeeded" && r.status === "succeeded" && (
        <Section title="Results" testId="run-results">
          <div className={cardClass}>
            <Facts
              items={[
                [
                  "Held-out text",
                  <Perplexity
                    key="ppl"
                    before={live.pplBefore ?? r.metrics?.pplBefore}
                    after={live.pplAfter ?? r.metrics?.pplAfter}
                    beforeUntrained={r.metrics?.beforeUntrained ?? r.method === "scratch"}
                    bpbBefore={r.metrics?.bpbBefore}
                    bpbAfter={r.metrics?.bpbAfter}
                    explain
                  />,
                ],
                ["Time", timing ?? "—"],
                ["Peak memory", <span key="peak" data-testid="run-peak-memory">{peakVsEstimate(r.estimate.peakMemoryBytes, r.actual?.peakMemoryBytes)}</span>],
              ]}
            />
          </div>
        </Section>
      )}
      {status !== "succeeded" && r.estimate.seconds !== null && (
        <p className="mt-3 text-xs text-zinc-500">Training is estimated to take {formatSeconds(r.estimate.seconds)} (preparing the data and measuring perplexity come on top).</p>
      )}

      {status === "succeeded" && (live.modelId ?? r.modelId) && (
        <Section title="Evaluate & activate" testId="evaluate">
          <EvaluatePanel candidateModelId={(live.modelId ?? r.modelId)!} defaultAssistantId={r.assistantId} />
        </Section>
      )}

      <Section title="Log">
        <RunLog lines={r.log} />
      </Section>

      <details className="mt-8 rounded-xl border border-zinc-200 px-4 py-3 dark:border-zinc-800">
        <summary className="cursor-pointer text-sm font-medium">Settings</summary>
        <div className="mt-3">
          <Facts
            items={Object.entries(settings)
              .filter(([, v]) => v !== null && typeof v !== "object")
              .map(([k, v]) => [k, String(v)] as [string, string])}
          />
        </div>
      </details>
    </Shell>
  );
}

function Shell({ children }: { children: React.ReactNode }) {
  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-5xl px-4 py-8 sm:px-6">
        <Link href="/studio" className="text-xs text-zinc-500 hover:underline">
          ← Studio
        </Link>
        <div className="mt-1">{children}</div>
      </div>
    </div>
  );
}
