import type { ReactNode } from "react";
import { RUN_STATUS_LABEL, RUN_STATUS_TONE, formatEta } from "@/app/_lib/studio-format";
import type { RunProgress, RunStatus } from "@/app/_lib/studio-types";
import { ProgressTrack } from "@/app/_components/progress-track";

// The console's form vocabulary lives with the models page; the studio speaks the same one.
export { FormError, FormSuccess, Panel, inputClass, primaryButtonClass, secondaryButtonClass } from "../../models/_components/panel";

export const labelClass = "mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400";
export const cardClass = "rounded-xl border border-zinc-200 bg-white p-4 shadow-xs dark:border-zinc-800 dark:bg-zinc-900/50";

/** A page section: heading, optional action on the right, content. */
export function Section({ title, action, children, testId }: { title: string; action?: ReactNode; children: ReactNode; testId?: string }) {
  return (
    <section aria-label={title} className="mt-8" data-testid={testId}>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 className="text-sm font-semibold">{title}</h2>
        {action}
      </div>
      <div className="mt-3">{children}</div>
    </section>
  );
}

export function StatusPill({ status }: { status: RunStatus }) {
  return (
    <span data-testid="run-status" data-status={status} className={`whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium ${RUN_STATUS_TONE[status]}`}>
      {RUN_STATUS_LABEL[status]}
    </span>
  );
}

/** Steps done of total with the time left; indeterminate while queued. */
export function RunProgressBar({ status, progress, label }: { status: RunStatus; progress: RunProgress; label: string }) {
  const pct = Math.round(Math.min(1, Math.max(0, progress.fraction)) * 100);
  const waiting = status === "queued";
  const done = status === "succeeded";
  const right = waiting ? "waiting for its turn" : status === "running" ? formatEta(progress.etaSeconds) : done ? "done" : `stopped at ${pct}%`;
  return (
    <div data-testid="run-progress">
      <div className="mb-1 flex justify-between gap-2 text-xs tabular-nums text-zinc-500">
        <span>
          {progress.totalSteps > 0 ? `Step ${progress.step} of ${progress.totalSteps}` : "Preparing…"}
          {!waiting && ` · ${pct}%`}
        </span>
        <span data-testid="run-eta">{right}</span>
      </div>
      <ProgressTrack
        percent={waiting ? null : pct}
        label={label}
        valueText={waiting ? "Queued" : `${pct}%, ${right}`}
        fillClass={status === "failed" ? "bg-red-500" : status === "succeeded" ? "bg-emerald-500" : status === "running" ? "bg-accent-600" : "bg-zinc-400"}
      />
    </div>
  );
}

/** Label + value pairs, e.g. the plan's numbers or a version's lineage. */
export function Facts({ items, testId }: { items: [string, ReactNode][]; testId?: string }) {
  return (
    <dl className="grid gap-x-4 gap-y-1 text-sm sm:grid-cols-[max-content_1fr]" data-testid={testId}>
      {items.map(([k, v]) => (
        <div key={k} className="contents">
          <dt className="text-zinc-500">{k}</dt>
          <dd className="min-w-0 break-words tabular-nums">{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export const GOAL_LABEL = { domain: "Teach it my domain", answers: "Teach it how to answer", scratch: "New model from scratch" } as const;
export const METHOD_LABEL = { lora: "LoRA adapter", full: "Full fine-tune", scratch: "From scratch" } as const;
