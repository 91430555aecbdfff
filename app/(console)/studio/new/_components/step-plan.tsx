"use client";

import { skipToken, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { formatBytes } from "@/app/_lib/format";
import { formatCount, formatFlops, formatSeconds } from "@/app/_lib/studio-format";
import type { Method } from "@/app/_lib/studio-types";
import { planInput, type WizardState } from "@/app/_lib/studio-wizard";
import { useTRPCClient, type RouterOutputs } from "@/app/_lib/trpc";
import { FormError, METHOD_LABEL, cardClass, secondaryButtonClass } from "../../_components/ui";

export type Plan = RouterOutputs["studio"]["plan"];

const RECOMMENDATION: Record<Plan["recommendation"], string> = {
  knowledge: "Add these documents to the assistant’s knowledge instead of training",
  lora: "Train a LoRA adapter",
  full: "Full fine-tune",
  scratch: "Craft a new model from scratch",
};

/**
 * A plan for `input`, cached like a query. studio.plan is a mutation (POST, CSRF-checked): it can
 * run a short calibration of the trainer and store its result, which a GET must not do.
 */
export function usePlanFor(input: ReturnType<typeof planInput>, staleTime = 30_000) {
  const client = useTRPCClient();
  return useQuery({ queryKey: ["studio.plan", input], queryFn: input ? () => client.studio.plan.mutate(input) : skipToken, staleTime });
}

/** The plan for the wizard's current choices (shared by the plan and start steps). */
export function usePlan(state: WizardState) {
  return usePlanFor(planInput(state));
}

/** Step 4: what this training will cost on this machine, whether it fits, and what we'd recommend. */
export function StepPlan({ state, onMethod }: { state: WizardState; onMethod: (m: Method) => void }) {
  const plan = usePlan(state);
  if (plan.isError) return <FormError message={`Couldn’t plan this training: ${plan.error.message}`} />;
  if (!plan.data) return <p className="text-sm text-zinc-400">Measuring this machine and planning…</p>;
  const p = plan.data;
  const flops = formatFlops(p.flops);
  const memPct = p.availableMemoryBytes > 0 ? Math.min(100, (p.peakMemoryBytes / p.availableMemoryBytes) * 100) : 100;
  const chosen = state.method;
  const switchable = p.recommendation !== chosen && p.recommendation !== "knowledge" && (p.recommendation !== "scratch") === (chosen !== "scratch");

  return (
    <div className="space-y-6" data-testid="plan">
      <div>
        <h2 className="text-base font-semibold">The plan</h2>
        <p className="mt-1 text-sm text-zinc-500">Estimated from your data and a speed measurement on this machine. Nothing has started yet.</p>
      </div>

      <div className="grid gap-3 sm:grid-cols-3">
        <Big label="Time" value={formatSeconds(p.estSeconds)} sub={`at about ${formatCount(Math.round(p.calibration.tokensPerSecond))} tokens/s${p.calibration.cached ? "" : " (just measured)"}`} testId="plan-time" />
        <Big label="Compute" value={flops.short} sub={flops.words} testId="plan-compute" />
        <Big label="Data seen" value={`${formatCount(p.trainingTokens)} tokens`} sub={`${formatCount(p.tokens)} tokens × ${state.epochs} ${state.epochs === 1 ? "pass" : "passes"}`} />
      </div>

      <div className={cardClass}>
        <div className="flex flex-wrap items-center justify-between gap-2">
          <h3 className="text-sm font-semibold">Memory</h3>
          <span
            data-testid="plan-fits"
            data-fits={p.fits}
            className={`rounded-full px-2 py-0.5 text-xs font-medium ${p.fits ? "bg-emerald-50 text-emerald-700 dark:bg-emerald-950/50 dark:text-emerald-400" : "bg-red-50 text-red-700 dark:bg-red-950/50 dark:text-red-400"}`}
          >
            {p.fits ? "Fits on this machine" : "Does not fit"}
          </span>
        </div>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          Needs about <strong>{formatBytes(p.peakMemoryBytes)}</strong> at its peak; {formatBytes(p.availableMemoryBytes)} is free.
        </p>
        <div
          role="meter"
          aria-label="Peak memory compared with free memory"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(memPct)}
          className="mt-2 h-2 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800"
        >
          <div className={`h-full rounded-full ${p.fits ? "bg-emerald-500" : "bg-red-500"}`} style={{ width: `${memPct}%` }} />
        </div>
        <p className="mt-2 text-xs text-zinc-500">
          {formatCount(p.trainableParams)} of {formatCount(p.params)} weights will be trained ({METHOD_LABEL[chosen]}).
        </p>
      </div>

      <div className={cardClass} data-testid="plan-recommendation" data-recommendation={p.recommendation}>
        <h3 className="text-sm font-semibold">Our recommendation: {RECOMMENDATION[p.recommendation]}</h3>
        {p.reasons.length > 0 && (
          <ul className="mt-2 list-disc space-y-1 pl-5 text-sm text-zinc-600 dark:text-zinc-400">
            {p.reasons.map((r, i) => (
              <li key={i}>{r}</li>
            ))}
          </ul>
        )}
        <div className="mt-3 flex flex-wrap gap-2">
          {switchable && (
            <button type="button" className={secondaryButtonClass} onClick={() => onMethod(p.recommendation as Method)}>
              Switch to {METHOD_LABEL[p.recommendation as Method]}
            </button>
          )}
          {p.recommendation === "knowledge" && (
            <Link href="/knowledge" className={secondaryButtonClass}>
              Open Knowledge
            </Link>
          )}
        </div>
        {p.fits && p.recommendation !== chosen && (
          <p className="mt-2 text-xs text-zinc-500">This is advice: you can still start the training as planned.</p>
        )}
        {!p.fits && <p className="mt-2 text-sm text-red-700 dark:text-red-400">Choose a smaller method or base model to go on.</p>}
      </div>
    </div>
  );
}

function Big({ label, value, sub, testId }: { label: string; value: string; sub: string; testId?: string }) {
  return (
    <div className={cardClass}>
      <div className="text-xs text-zinc-500">{label}</div>
      <div className="mt-0.5 text-lg font-semibold tabular-nums" data-testid={testId}>
        {value}
      </div>
      <div className="text-xs text-zinc-500">{sub}</div>
    </div>
  );
}
