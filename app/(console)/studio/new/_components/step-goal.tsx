"use client";

import { useId, type ReactNode } from "react";
import { BookIcon, ChatIcon, SparklesIcon } from "@/app/_components/icons";
import { formatBytes } from "@/app/_lib/format";
import type { Goal, Method } from "@/app/_lib/studio-types";
import { LORA_RANKS, PRECISIONS, PRECISION_LABEL, chooseGoal, planInput, suggestedGoal, type Precision, type WizardState } from "@/app/_lib/studio-wizard";
import { cardClass, inputClass, labelClass } from "../../_components/ui";
import { usePlanFor } from "./step-plan";

const GOALS: { id: Goal; title: string; body: string; icon: ReactNode; advanced?: boolean }[] = [
  {
    id: "domain",
    title: "Teach it my domain",
    body: "It reads your documents and picks up their vocabulary, facts and style. Best for raw text: manuals, notes, articles.",
    icon: <BookIcon width={20} height={20} />,
  },
  {
    id: "answers",
    title: "Teach it how to answer",
    body: "It learns from question–answer pairs how your assistant should reply. Only the answers are learned, not the questions.",
    icon: <ChatIcon width={20} height={20} />,
  },
  {
    id: "scratch",
    title: "Craft a new model from scratch",
    body: "A brand-new tiny model that knows only your data. For experiments and very narrow tasks; it won’t hold a general conversation.",
    icon: <SparklesIcon width={20} height={20} />,
    advanced: true,
  },
];

/** Step 3: what to teach, and how (LoRA by default; full fine-tune only when this machine has the memory). */
export function StepGoal({ state, onChange }: { state: WizardState; onChange: (next: WizardState) => void }) {
  const id = useId();
  const suggested = state.dataset ? suggestedGoal(state.dataset.kind) : null;
  // Checking whether a full fine-tune fits costs a short measurement run, so only once it's chosen.
  const fullInput = state.goal && state.goal !== "scratch" && state.method === "full" ? planInput(state) : null;
  const fullPlan = usePlanFor(fullInput, 0);
  const fullFits = fullPlan.data?.fits;

  const setMethod = (method: Method) => onChange({ ...state, method });

  return (
    <div className="space-y-6">
      <div>
        <h2 className="text-base font-semibold">What should the model learn?</h2>
        <p className="mt-1 text-sm text-zinc-500">Pick one. You can always train again with another goal.</p>
      </div>
      <div role="radiogroup" aria-label="Training goal" className="grid gap-3 md:grid-cols-3">
        {GOALS.map((g) => {
          const checked = state.goal === g.id;
          return (
            <label
              key={g.id}
              data-testid={`goal-${g.id}`}
              className={`relative flex cursor-pointer flex-col gap-2 rounded-xl border p-4 transition-colors focus-within:outline-2 focus-within:outline-offset-2 focus-within:outline-accent-500 ${
                checked ? "border-accent-500 bg-accent-50/60 ring-1 ring-accent-500 dark:bg-accent-950/30" : "border-zinc-200 hover:border-zinc-300 dark:border-zinc-800 dark:hover:border-zinc-700"
              }`}
            >
              <input type="radio" name={`${id}-goal`} value={g.id} checked={checked} onChange={() => onChange(chooseGoal(state, g.id))} className="sr-only" />
              <span className="flex items-center gap-2 text-accent-600 dark:text-accent-400">
                {g.icon}
                {suggested === g.id && <Badge tone="accent">Fits your data</Badge>}
                {g.advanced && <Badge tone="zinc">Advanced · small models only</Badge>}
              </span>
              <span className="font-semibold">{g.title}</span>
              <span className="text-sm text-zinc-600 dark:text-zinc-400">{g.body}</span>
            </label>
          );
        })}
      </div>

      {state.goal && state.goal !== "scratch" && (
        <fieldset className={cardClass}>
          <legend className="px-1 text-sm font-semibold">How</legend>
          <div className="space-y-3">
            <MethodOption
              name={`${id}-method`}
              checked={state.method === "lora"}
              onSelect={() => setMethod("lora")}
              title="LoRA adapter (recommended)"
              body="Trains a small add-on instead of the whole model: fast, light on memory, and the base model stays untouched."
              testId="method-lora"
            />
            <MethodOption
              name={`${id}-method`}
              checked={state.method === "full"}
              onSelect={() => setMethod("full")}
              title="Full fine-tune"
              body={
                fullPlan.data
                  ? fullFits
                    ? `Fits: needs about ${formatBytes(fullPlan.data.peakMemoryBytes)} of the ${formatBytes(fullPlan.data.availableMemoryBytes)} free on this machine.`
                    : `Won’t fit: needs about ${formatBytes(fullPlan.data.peakMemoryBytes)} of memory; this machine has ${formatBytes(fullPlan.data.availableMemoryBytes)} free. Use LoRA.`
                  : fullPlan.isFetching
                    ? "Checking whether it fits in this machine’s memory…"
                    : "Updates every weight. Can learn more, needs much more memory and time, and makes a full copy of the model."
              }
              testId="method-full"
            />
          </div>
        </fieldset>
      )}

      {state.goal === "scratch" && (
        <fieldset className={cardClass}>
          <legend className="px-1 text-sm font-semibold">Size</legend>
          <div className="space-y-3">
            <MethodOption name={`${id}-size`} checked={state.scratchSize === "tiny"} onSelect={() => onChange({ ...state, scratchSize: "tiny" })} title="Tiny" body="Minutes on a laptop. Good to see the whole process work." testId="size-tiny" />
            <MethodOption name={`${id}-size`} checked={state.scratchSize === "small"} onSelect={() => onChange({ ...state, scratchSize: "small" })} title="Small" body="Learns more of your data; expect hours on a CPU." testId="size-small" />
          </div>
        </fieldset>
      )}

      {state.goal && (
        <details className="rounded-xl border border-zinc-200 px-4 py-3 dark:border-zinc-800">
          <summary className="cursor-pointer text-sm font-medium">Fine-tuning settings</summary>
          <div className="mt-3 grid gap-3 sm:grid-cols-3">
            <div>
              <label htmlFor={`${id}-epochs`} className={labelClass}>
                Passes over the data (epochs)
              </label>
              <input
                id={`${id}-epochs`}
                type="number"
                min={0.1}
                max={100}
                step={0.5}
                value={state.epochs}
                onChange={(e) => onChange({ ...state, epochs: Math.min(100, Math.max(0.1, Number(e.target.value) || 1)) })}
                className={inputClass}
                data-testid="epochs-input"
              />
            </div>
            {state.method === "lora" && state.goal !== "scratch" && (
              <div>
                <label htmlFor={`${id}-rank`} className={labelClass}>
                  Adapter size (LoRA rank)
                </label>
                <select id={`${id}-rank`} value={state.loraRank} onChange={(e) => onChange({ ...state, loraRank: Number(e.target.value) })} className={inputClass} data-testid="rank-select">
                  {LORA_RANKS.map((r) => (
                    <option key={r} value={r}>
                      {r}
                      {r === 8 ? " (default)" : ""}
                    </option>
                  ))}
                </select>
              </div>
            )}
            <div>
              <label htmlFor={`${id}-steps`} className={labelClass}>
                Stop after steps <span className="font-normal text-zinc-400">(optional)</span>
              </label>
              <input
                id={`${id}-steps`}
                type="number"
                min={1}
                placeholder="all"
                value={state.maxSteps ?? ""}
                onChange={(e) => onChange({ ...state, maxSteps: e.target.value ? Math.max(1, Math.round(Number(e.target.value))) : null })}
                className={inputClass}
                data-testid="max-steps-input"
              />
            </div>
            <div>
              <label htmlFor={`${id}-precision`} className={labelClass}>
                Precision
              </label>
              <select id={`${id}-precision`} value={state.precision} onChange={(e) => onChange({ ...state, precision: e.target.value as Precision })} className={inputClass} aria-describedby={`${id}-precision-help`} data-testid="precision-select">
                {PRECISIONS.map((p) => (
                  <option key={p} value={p}>
                    {PRECISION_LABEL[p]}
                  </option>
                ))}
              </select>
              <p id={`${id}-precision-help`} className="mt-1 text-xs text-zinc-500">
                bf16 multiplies in half the bits (faster on CPUs with AVX512-BF16 and on GPUs); weights stay 32-bit.
              </p>
            </div>
          </div>
        </details>
      )}
    </div>
  );
}

function Badge({ tone, children }: { tone: "accent" | "zinc"; children: ReactNode }) {
  const cls = tone === "accent" ? "bg-accent-100 text-accent-700 dark:bg-accent-950 dark:text-accent-400" : "bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400";
  return <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${cls}`}>{children}</span>;
}

function MethodOption(props: { name: string; checked: boolean; onSelect: () => void; title: string; body: string; disabled?: boolean; testId: string }) {
  const id = useId();
  return (
    <div className={`flex items-start gap-2 ${props.disabled ? "opacity-60" : ""}`}>
      <input id={id} type="radio" name={props.name} checked={props.checked} disabled={props.disabled} onChange={props.onSelect} className="mt-1 size-4 accent-accent-600" aria-describedby={`${id}-body`} data-testid={props.testId} />
      <div>
        <label htmlFor={id} className="text-sm font-medium">
          {props.title}
        </label>
        <p id={`${id}-body`} className="text-xs text-zinc-500">
          {props.body}
        </p>
      </div>
    </div>
  );
}
