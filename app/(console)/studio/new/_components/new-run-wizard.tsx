"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useRef, useState } from "react";
import { errorMessage } from "@/app/_lib/format";
import { WIZARD_STEPS, blockedReason, initialWizard, planInput, selectDataset, type WizardState } from "@/app/_lib/studio-wizard";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError, primaryButtonClass, secondaryButtonClass } from "../../_components/ui";
import { StepData } from "./step-data";
import { StepGoal } from "./step-goal";
import { StepPlan, usePlan } from "./step-plan";
import { StepPreview } from "./step-preview";
import { StepStart } from "./step-start";

export function NewRunWizard() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [state, setState] = useState<WizardState>(initialWizard);
  const [reached, setReached] = useState(0);
  /** Train on a remote worker (`npx atelier worker`) instead of this server. */
  const [onWorker, setOnWorker] = useState(false);
  const headingRef = useRef<HTMLDivElement>(null);
  const patch = useCallback((p: Partial<WizardState>) => setState((s) => ({ ...s, ...p })), []);
  const plan = usePlan(state);
  const start = useMutation(
    trpc.studio.runs.start.mutationOptions({
      onSuccess: ({ runId }) => {
        void queryClient.invalidateQueries(trpc.studio.runs.list.queryFilter());
        router.push(`/studio/runs/${runId}`);
      },
    }),
  );

  const step = state.step;
  const stepId = WIZARD_STEPS[step]!.id;
  const planBlocked =
    stepId === "plan" || stepId === "start" ? (!plan.data ? "Waiting for the plan…" : !plan.data.fits ? "This training does not fit in memory." : null) : null;
  const blocked = blockedReason(state, step) ?? planBlocked;
  const last = step === WIZARD_STEPS.length - 1;

  const go = (to: number) => {
    setState((s) => ({ ...s, step: to }));
    setReached((r) => Math.max(r, to));
  };
  // Move focus to the new step's content so keyboard and screen-reader users land on it.
  useEffect(() => headingRef.current?.focus(), [step]);

  const onStart = () => {
    const input = planInput(state);
    if (!input || start.isPending) return;
    start.mutate({
      ...input,
      ...(state.name.trim() ? { name: state.name.trim() } : {}),
      ...(state.assistantId ? { assistantId: state.assistantId } : {}),
      ...(onWorker ? { placement: "worker" as const } : {}),
    });
  };

  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-5xl px-4 py-8 sm:px-6">
        <header>
          <Link href="/studio" className="text-xs text-zinc-500 hover:underline">
            ← Studio
          </Link>
          <h1 className="mt-1 text-xl font-semibold tracking-tight">New training</h1>
        </header>

        <nav aria-label="Training steps" className="mt-5">
          <ol className="flex flex-wrap gap-x-1 gap-y-2 text-sm" data-testid="stepper">
            {WIZARD_STEPS.map((s, i) => {
              const current = i === step;
              const reachable = i <= reached && !current;
              return (
                <li key={s.id} className="flex items-center gap-1">
                  <button
                    type="button"
                    disabled={!reachable}
                    onClick={() => go(i)}
                    aria-current={current ? "step" : undefined}
                    className={`flex items-center gap-2 rounded-full px-3 py-1 ${
                      current
                        ? "bg-accent-600 font-medium text-white"
                        : i < step || i <= reached
                          ? "text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
                          : "text-zinc-400"
                    }`}
                  >
                    <span className={`grid size-5 place-items-center rounded-full text-xs ${current ? "bg-white/20" : "bg-zinc-200 dark:bg-zinc-800"}`}>{i + 1}</span>
                    {s.title}
                  </button>
                  {i < WIZARD_STEPS.length - 1 && <span aria-hidden="true" className="text-zinc-300 dark:text-zinc-700">›</span>}
                </li>
              );
            })}
          </ol>
        </nav>

        <div ref={headingRef} tabIndex={-1} className="mt-6 outline-none" data-testid={`step-${stepId}`}>
          {stepId === "data" && <StepData selected={state.dataset} onSelect={(d) => setState((s) => selectDataset(s, d))} />}
          {stepId === "preview" && <StepPreview state={state} onChange={patch} />}
          {stepId === "goal" && <StepGoal state={state} onChange={setState} />}
          {stepId === "plan" && <StepPlan state={state} onMethod={(method) => patch({ method })} />}
          {stepId === "start" && <StepStart state={state} onChange={patch} />}
        </div>

        {start.isError && <FormError message={errorMessage(start.error)} />}

        <div className="mt-8 flex flex-wrap items-center justify-between gap-3 border-t border-zinc-200 pt-4 dark:border-zinc-800">
          <button type="button" onClick={() => go(step - 1)} disabled={step === 0} className={`${secondaryButtonClass} disabled:invisible`}>
            Back
          </button>
          <div className="flex items-center gap-3">
            {blocked && (
              <span className="text-xs text-zinc-500" id="wizard-blocked">
                {blocked}
              </span>
            )}
            {last && (
              <label className="flex items-center gap-1.5 text-xs text-zinc-600 dark:text-zinc-400" title="Queued for `npx atelier worker` on another machine (e.g. a GPU box) instead of this server">
                <input type="checkbox" checked={onWorker} onChange={(e) => setOnWorker(e.target.checked)} data-testid="train-on-worker" />
                Train on a remote worker
              </label>
            )}
            {last ? (
              <button type="button" onClick={onStart} disabled={!!blocked || start.isPending} className={primaryButtonClass} data-testid="start-training" aria-describedby={blocked ? "wizard-blocked" : undefined}>
                {start.isPending ? "Starting…" : "Start training"}
              </button>
            ) : (
              <button type="button" onClick={() => go(step + 1)} disabled={!!blocked} className={primaryButtonClass} data-testid="wizard-next" aria-describedby={blocked ? "wizard-blocked" : undefined}>
                Continue
              </button>
            )}
          </div>
        </div>
      </div>
    </div>
  );
}
