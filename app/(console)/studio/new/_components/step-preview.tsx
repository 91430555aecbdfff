"use client";

import { keepPreviousData, skipToken, useQuery } from "@tanstack/react-query";
import { useEffect, useId } from "react";
import { formatCount } from "@/app/_lib/studio-format";
import type { Cleaning } from "@/app/_lib/studio-types";
import { clampCleaning, type WizardState } from "@/app/_lib/studio-wizard";
import { useDebounced } from "@/app/_lib/use-debounced";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError, cardClass, inputClass, labelClass } from "../../_components/ui";

/** Step 2: what the data looks like under the chosen base model, and what each cleaning option would do. */
export function StepPreview({ state, onChange }: { state: WizardState; onChange: (patch: Partial<WizardState>) => void }) {
  const trpc = useTRPC();
  const id = useId();
  const models = useQuery(trpc.models.list.queryOptions());
  const bases = models.data?.filter((m) => m.kind === "base" && m.status === "ready") ?? [];
  const firstBase = bases[0]?.id;
  useEffect(() => {
    if (!state.baseModelId && firstBase) onChange({ baseModelId: firstBase });
  }, [state.baseModelId, firstBase, onChange]);

  const cleaning = useDebounced(state.cleaning, 350);
  const preview = useQuery(
    trpc.studio.datasets.preview.queryOptions(
      state.dataset && state.baseModelId && cleaning.minChars <= cleaning.maxChars ? { id: state.dataset.id, baseModelId: state.baseModelId, cleaning } : skipToken,
      { placeholderData: keepPreviousData },
    ),
  );
  const setCleaning = (patch: Partial<Cleaning>) => onChange({ cleaning: clampCleaning({ ...state.cleaning, ...patch }) });
  const p = preview.data;
  const c = state.cleaning;

  return (
    <div className="space-y-6">
      <div>
        <h2 className="text-base font-semibold">Preview and clean</h2>
        <p className="mt-1 text-sm text-zinc-500">Nothing changes in your files: these options apply when the model trains. See their effect before you go on.</p>
      </div>

      <div>
        <label htmlFor={`${id}-base`} className={labelClass}>
          Base model <span className="font-normal text-zinc-400">(the model you start from; tokens are counted with its tokenizer)</span>
        </label>
        <select
          id={`${id}-base`}
          value={state.baseModelId ?? ""}
          onChange={(e) => onChange({ baseModelId: e.target.value || null })}
          className={`${inputClass} max-w-md`}
          data-testid="base-model-select"
        >
          {bases.length === 0 && <option value="">No base model installed</option>}
          {bases.map((m) => (
            <option key={m.id} value={m.id}>
              {m.name}
            </option>
          ))}
        </select>
        {models.isSuccess && bases.length === 0 && (
          <p className="mt-1 text-xs text-amber-700 dark:text-amber-400">
            Add a base model on the <a className="underline" href="/models">Models</a> page first.
          </p>
        )}
      </div>

      <fieldset className={cardClass}>
        <legend className="px-1 text-sm font-semibold">Cleaning</legend>
        <div className="grid gap-4 md:grid-cols-2">
          <div className="space-y-2">
            <Toggle checked={c.dedupe} onChange={(v) => setCleaning({ dedupe: v })} label="Remove exact duplicates" hint="Repeated records teach the model to parrot them." count={p?.effect.exactDuplicates} unit="duplicates" />
            <Toggle checked={c.nearDedupe} onChange={(v) => setCleaning({ nearDedupe: v })} label="Remove near-duplicates" hint="Records that differ only slightly (e.g. a changed date)." count={p?.effect.nearDuplicates} unit="near-duplicates" />
            <Toggle
              checked={c.scrubPii}
              onChange={(v) => setCleaning({ scrubPii: v })}
              label="Scrub personal data"
              hint="Replaces e-mail addresses, phone and card numbers, IP addresses with placeholders so the model can’t repeat them."
              count={p ? p.effect.pii.email + p.effect.pii.phone + p.effect.pii.card + p.effect.pii.ip : undefined}
              unit="items found"
            />
          </div>
          <div className="grid grid-cols-2 gap-3 self-start">
            <NumberField label="Shortest record (characters)" value={c.minChars} min={0} onChange={(v) => setCleaning({ minChars: v })} note={p ? `${formatCount(p.effect.tooShort)} too short` : undefined} />
            <NumberField label="Longest record (characters)" value={c.maxChars} min={1} onChange={(v) => setCleaning({ maxChars: v })} note={p ? `${formatCount(p.effect.tooLong)} too long` : undefined} />
            <NumberField
              label="Held out for testing (%)"
              value={Math.round(c.heldOutFraction * 100)}
              min={0}
              max={50}
              onChange={(v) => setCleaning({ heldOutFraction: v / 100 })}
              note="Kept aside to measure the model before and after."
            />
          </div>
        </div>
        {c.minChars > c.maxChars && <FormError message="The shortest length is above the longest length." />}
      </fieldset>

      {preview.isError && <FormError message={`Couldn’t preview the data: ${preview.error.message}`} />}
      {p && (
        <div className={`space-y-4 ${preview.isFetching ? "opacity-70" : ""}`} data-testid="preview-result" aria-busy={preview.isFetching}>
          {p.evalLeakage?.warning && (
            <p role="alert" data-testid="eval-leakage" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-900/60 dark:bg-amber-950/30 dark:text-amber-200">
              {p.evalLeakage.warning}
            </p>
          )}
          <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4">
            <Stat label="Records" value={`${formatCount(p.kept)} of ${formatCount(p.records)}`} testId="preview-records" />
            <Stat label={p.tokenizer === "model" ? "Tokens" : "Tokens (estimate)"} value={formatCount(p.tokens)} testId="preview-tokens" />
            <Stat label="For training" value={`${formatCount(p.trainTokens)} tokens`} />
            <Stat label="Held out" value={`${formatCount(p.heldOutTokens)} tokens`} />
          </dl>
          {p.samples.length > 0 && (
            <div>
              <h3 className="text-sm font-semibold">Samples, before and after cleaning</h3>
              <ul className="mt-2 space-y-2" data-testid="preview-samples">
                {p.samples.map((s, i) => (
                  <li key={i} className="grid gap-2 md:grid-cols-2">
                    <Sample label="Before" text={s.before} />
                    <Sample label="After" text={s.after} changed={s.after !== s.before} />
                  </li>
                ))}
              </ul>
            </div>
          )}
        </div>
      )}
      {!p && preview.isFetching && <p className="text-sm text-zinc-400">Counting tokens…</p>}
    </div>
  );
}

function Toggle({ checked, onChange, label, hint, count, unit }: { checked: boolean; onChange: (v: boolean) => void; label: string; hint: string; count?: number; unit: string }) {
  const id = useId();
  return (
    <div className="flex items-start gap-2">
      <input id={id} type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} className="mt-1 size-4 accent-accent-600" aria-describedby={`${id}-hint`} />
      <div>
        <label htmlFor={id} className="text-sm font-medium">
          {label}
          {count !== undefined && <span className="ml-2 rounded-full bg-zinc-100 px-2 py-0.5 text-xs font-normal tabular-nums text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300">{formatCount(count)} {unit}</span>}
        </label>
        <p id={`${id}-hint`} className="text-xs text-zinc-500">
          {hint}
        </p>
      </div>
    </div>
  );
}

function NumberField({ label, value, onChange, min, max, note }: { label: string; value: number; onChange: (v: number) => void; min?: number; max?: number; note?: string }) {
  const id = useId();
  return (
    <div className="col-span-2 sm:col-span-1">
      <label htmlFor={id} className={labelClass}>
        {label}
      </label>
      <input id={id} type="number" inputMode="numeric" value={value} min={min} max={max} onChange={(e) => onChange(Number(e.target.value))} className={`${inputClass} tabular-nums`} />
      {note && <p className="mt-1 text-xs text-zinc-500">{note}</p>}
    </div>
  );
}

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="rounded-lg border border-zinc-200 px-3 py-2 dark:border-zinc-800">
      <dt className="text-xs text-zinc-500">{label}</dt>
      <dd className="text-sm font-semibold tabular-nums" data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}

function Sample({ label, text, changed }: { label: string; text: string; changed?: boolean }) {
  return (
    <div className={`rounded-lg border px-3 py-2 ${changed ? "border-amber-300 dark:border-amber-800" : "border-zinc-200 dark:border-zinc-800"}`}>
      <div className="text-xs font-medium text-zinc-500">
        {label}
        {changed && <span className="ml-1 text-amber-700 dark:text-amber-400">· changed</span>}
      </div>
      <p className="mt-1 line-clamp-6 whitespace-pre-wrap break-words font-mono text-xs">{text || <span className="text-zinc-400">(removed)</span>}</p>
    </div>
  );
}
