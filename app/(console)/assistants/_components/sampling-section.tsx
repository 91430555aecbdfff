"use client";

import { SAMPLING_FIELDS, type Settings } from "../_lib/draft";
import { Field, Section, numberInputClass } from "./form-fields";

type Props = { draft: Settings; update: (patch: Partial<Settings>) => void };

export function SamplingSection({ draft, update }: Props) {
  return (
    <Section id="sampling" title="Sampling" description="How the model picks each next word. Try changes on the right before saving.">
      <div className="grid gap-4 sm:grid-cols-2">
        {SAMPLING_FIELDS.map((f) => {
          const value = draft.sampling[f.key];
          const set = (v: number) => update({ sampling: { ...draft.sampling, [f.key]: v } });
          return (
            <Field key={f.key} label={f.label} htmlFor={`sampling-${f.key}`} hint={f.hint}>
              <div className="flex items-center gap-3">
                <input
                  type="range"
                  aria-hidden="true"
                  tabIndex={-1}
                  min={f.min}
                  max={f.key === "maxTokens" ? 2048 : f.max}
                  step={f.step}
                  value={Number.isNaN(value) ? f.min : value}
                  onChange={(e) => set(Number(e.target.value))}
                  className="min-w-0 flex-1 accent-accent-600"
                />
                <input
                  id={`sampling-${f.key}`}
                  data-testid={`sampling-${f.key}`}
                  type="number"
                  min={f.min}
                  max={f.max}
                  step={f.step}
                  value={Number.isNaN(value) ? "" : value}
                  onChange={(e) => set(e.target.valueAsNumber)}
                  className={numberInputClass}
                />
              </div>
            </Field>
          );
        })}
      </div>
    </Section>
  );
}
