"use client";

import { useId } from "react";
import { formatSeconds } from "@/app/_lib/studio-format";
import type { WizardState } from "@/app/_lib/studio-wizard";
import { Facts, GOAL_LABEL, METHOD_LABEL, inputClass, labelClass } from "../../_components/ui";
import { AssistantSelect } from "../../_components/versions-panel";
import { KIND_LABEL } from "../../_components/datasets-list";
import { usePlan } from "./step-plan";

/** Step 5: name the run, say which assistant it is for, review, start. */
export function StepStart({ state, onChange }: { state: WizardState; onChange: (patch: Partial<WizardState>) => void }) {
  const id = useId();
  const plan = usePlan(state);
  return (
    <div className="space-y-6">
      <div>
        <h2 className="text-base font-semibold">Ready to start</h2>
        <p className="mt-1 text-sm text-zinc-500">Training runs in the background: you can leave this page and come back. Your assistant keeps its current model until you activate the new one.</p>
      </div>
      <div className="grid gap-4 md:grid-cols-2">
        <div>
          <label htmlFor={`${id}-name`} className={labelClass}>
            Name of this training
          </label>
          <input id={`${id}-name`} value={state.name} maxLength={200} onChange={(e) => onChange({ name: e.target.value })} className={inputClass} data-testid="run-name" />
        </div>
        <AssistantSelect value={state.assistantId} onChange={(assistantId) => onChange({ assistantId })} label="For assistant (to compare and activate afterwards)" />
      </div>
      <Facts
        testId="start-summary"
        items={[
          ["Data", state.dataset ? `${state.dataset.name} (${KIND_LABEL[state.dataset.kind]})` : "—"],
          ["Goal", state.goal ? GOAL_LABEL[state.goal] : "—"],
          ["Method", state.goal === "scratch" ? `${METHOD_LABEL.scratch}, ${state.scratchSize}` : `${METHOD_LABEL[state.method]}${state.method === "lora" ? `, rank ${state.loraRank}` : ""}`],
          ["Passes", `${state.epochs}${state.maxSteps ? `, at most ${state.maxSteps} steps` : ""}`],
          ...(state.precision !== "auto" ? [["Precision", state.precision] as [string, string]] : []),
          ["Estimated time", plan.data ? formatSeconds(plan.data.estSeconds) : "…"],
        ]}
      />
    </div>
  );
}
