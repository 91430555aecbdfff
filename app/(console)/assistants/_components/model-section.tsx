"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { formatBytes } from "@/app/_lib/format";
import { useTRPC, type RouterOutputs } from "@/app/_lib/trpc";
import { inputClass } from "../../models/_components/panel";
import type { Settings } from "../_lib/draft";
import { Field, Section } from "./form-fields";

type Model = RouterOutputs["models"]["list"][number];
type Props = { draft: Settings; update: (patch: Partial<Settings>) => void };

const GROUPS: { kind: Model["kind"]; label: string }[] = [
  { kind: "base", label: "Base models" },
  { kind: "finetuned", label: "Fine-tuned" },
  { kind: "lora", label: "LoRA adapters (served on their base)" },
];

/** base → … → model, following baseModelId. */
export function lineageOf(model: Model, all: Model[]): Model[] {
  const chain = [model];
  const seen = new Set([model.id]);
  let cur = model;
  while (cur.baseModelId) {
    const parent = all.find((m) => m.id === cur.baseModelId);
    if (!parent || seen.has(parent.id)) break;
    chain.unshift(parent);
    seen.add(parent.id);
    cur = parent;
  }
  return chain;
}

function optionLabel(m: Model, all: Model[]): string {
  const base = m.baseModelId ? all.find((x) => x.id === m.baseModelId)?.name : null;
  const relation = m.kind === "lora" ? ` — LoRA on ${base ?? "?"}` : m.kind === "finetuned" && base ? ` — from ${base}` : "";
  const state = m.status === "ready" ? "" : ` (${m.status})`;
  return `${m.name}${relation}${state}`;
}

export function ModelSection({ draft, update }: Props) {
  const trpc = useTRPC();
  const models = useQuery(trpc.models.list.queryOptions());
  const all = models.data ?? [];
  const selected = all.find((m) => m.id === draft.modelId);
  const chain = selected ? lineageOf(selected, all) : [];

  return (
    <Section id="model" title="Model" description="The model version that answers: a base model, a fine-tuned model, or a LoRA adapter on its base.">
      <Field label="Model version" htmlFor="assistant-model" hint={<>Add or download models on the <Link href="/models" className="underline">Models</Link> page; train new versions in the Studio.</>}>
        <select
          id="assistant-model"
          data-testid="assistant-model"
          className={inputClass}
          value={draft.modelId ?? ""}
          onChange={(e) => update({ modelId: e.target.value || null })}
        >
          <option value="">No model</option>
          {GROUPS.map((g) => {
            const items = all.filter((m) => m.kind === g.kind);
            return items.length === 0 ? null : (
              <optgroup key={g.kind} label={g.label}>
                {items.map((m) => (
                  <option key={m.id} value={m.id} disabled={m.status !== "ready" && m.id !== draft.modelId}>
                    {optionLabel(m, all)}
                  </option>
                ))}
              </optgroup>
            );
          })}
        </select>
      </Field>
      {selected && (
        <div data-testid="model-lineage" className="rounded-lg bg-zinc-50 p-3 text-xs dark:bg-zinc-900">
          <p className="font-medium text-zinc-500">Lineage</p>
          <ol className="mt-1.5 flex flex-wrap items-center gap-1.5">
            {chain.map((m, i) => (
              <li key={m.id} className="flex items-center gap-1.5">
                {i > 0 && <span aria-hidden="true" className="text-zinc-400">→</span>}
                <span className="rounded-md border border-zinc-200 bg-white px-2 py-0.5 font-mono dark:border-zinc-700 dark:bg-zinc-950">{m.name}</span>
                <span className="text-zinc-400">{m.kind === "lora" ? "LoRA" : m.kind === "finetuned" ? "fine-tuned" : "base"}</span>
              </li>
            ))}
          </ol>
          <p className="mt-2 text-zinc-500">
            {[selected.architecture, selected.quantization, formatBytes(selected.sizeBytes)].filter(Boolean).join(" · ")}
          </p>
        </div>
      )}
      {draft.modelId && models.isSuccess && !selected && <p className="text-xs text-red-600">The selected model no longer exists; pick another.</p>}
    </Section>
  );
}
