"use client";

import { useId, useState } from "react";
import { parseFactLines } from "@/app/_lib/eval-format";
import type { RouterInputs, RouterOutputs } from "@/app/_lib/trpc";
import { inputClass, labelClass, primaryButtonClass, secondaryButtonClass } from "../../../_components/ui";

export type RowInput = RouterInputs["evals"]["rows"]["add"]["rows"][number];
export type RowView = RouterOutputs["evals"]["sets"]["get"]["rows"][number];

export const toInput = (r: RowView): RowInput => ({
  question: r.question,
  reference: r.reference,
  facts: r.facts,
  expectedSource: r.expectedSource,
  shouldRefuse: r.shouldRefuse,
});

/** Question, reference, required facts (one per line; /regex/ allowed), expected source, out of scope. */
export function RowForm({ initial, submitLabel, onSubmit, onCancel, busy }: { initial?: RowInput; submitLabel: string; onSubmit: (row: RowInput) => void; onCancel?: () => void; busy?: boolean }) {
  const id = useId();
  const [question, setQuestion] = useState(initial?.question ?? "");
  const [reference, setReference] = useState(initial?.reference ?? "");
  const [facts, setFacts] = useState((initial?.facts ?? []).join("\n"));
  const [source, setSource] = useState(initial?.expectedSource?.title ?? "");
  const [sourceKind, setSourceKind] = useState<"document" | "collection">(initial?.expectedSource?.kind ?? "document");
  const [shouldRefuse, setShouldRefuse] = useState(initial?.shouldRefuse ?? false);
  const original = initial?.expectedSource ?? null;
  return (
    <form
      className="space-y-3"
      data-testid="row-form"
      onSubmit={(e) => {
        e.preventDefault();
        const title = source.trim();
        const expectedSource = !title ? null : original && original.title === title && original.kind === sourceKind ? original : { kind: sourceKind, id: null, title };
        onSubmit({ question, reference: reference || null, facts: parseFactLines(facts), expectedSource, shouldRefuse });
      }}
    >
      <div>
        <label htmlFor={`${id}-q`} className={labelClass}>
          Question
        </label>
        <textarea id={`${id}-q`} rows={2} value={question} onChange={(e) => setQuestion(e.target.value)} className={inputClass} required />
      </div>
      <div>
        <label htmlFor={`${id}-r`} className={labelClass}>
          Reference answer (optional)
        </label>
        <textarea id={`${id}-r`} rows={3} value={reference} onChange={(e) => setReference(e.target.value)} className={inputClass} />
      </div>
      <div className="grid gap-3 sm:grid-cols-2">
        <div>
          <label htmlFor={`${id}-f`} className={labelClass}>
            Required facts (one per line; /regex/i allowed)
          </label>
          <textarea id={`${id}-f`} rows={3} value={facts} onChange={(e) => setFacts(e.target.value)} className={`${inputClass} font-mono text-xs`} />
        </div>
        <div className="space-y-2">
          <div>
            <label htmlFor={`${id}-s`} className={labelClass}>
              Expected source (document title or collection name)
            </label>
            <div className="flex gap-2">
              <select aria-label="Source kind" value={sourceKind} onChange={(e) => setSourceKind(e.target.value as "document" | "collection")} className={`${inputClass} w-36`}>
                <option value="document">document</option>
                <option value="collection">collection</option>
              </select>
              <input id={`${id}-s`} value={source} onChange={(e) => setSource(e.target.value)} className={inputClass} />
            </div>
          </div>
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={shouldRefuse} onChange={(e) => setShouldRefuse(e.target.checked)} />
            Out of scope: the assistant should refuse
          </label>
        </div>
      </div>
      <div className="flex gap-2">
        <button type="submit" className={primaryButtonClass} disabled={!question.trim() || busy} data-testid="row-form-submit">
          {submitLabel}
        </button>
        {onCancel && (
          <button type="button" className={secondaryButtonClass} onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
