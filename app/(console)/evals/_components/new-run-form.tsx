"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useEffect, useMemo, useState } from "react";
import { errorMessage } from "@/app/_lib/format";
import { useSession } from "@/app/_lib/session";
import { useTRPC, type RouterInputs } from "@/app/_lib/trpc";
import { FormError, cardClass, inputClass, labelClass, primaryButtonClass } from "./ui";

type JudgeInput = RouterInputs["evals"]["runs"]["start"]["judge"];

/** Versions × knowledge on/off on an eval set, optionally with a judge; defaults: the active version and the newest other, both knowledge settings. */
export function NewRunForm({ assistantId }: { assistantId: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const { can } = useSession();
  const sets = useQuery(trpc.evals.sets.list.queryOptions({ assistantId }));
  const versions = useQuery(trpc.studio.versions.list.queryOptions({ assistantId }));
  const models = useQuery(trpc.models.list.queryOptions());
  const [setId, setSetId] = useState("");
  const [picked, setPicked] = useState<string[] | null>(null);
  const [knowledge, setKnowledge] = useState({ on: true, off: true });
  const [maxTokens, setMaxTokens] = useState("");
  const [judgeKind, setJudgeKind] = useState<"none" | "model" | "endpoint">("none");
  const [judgeModel, setJudgeModel] = useState("");
  const [endpoint, setEndpoint] = useState({ url: "", model: "", apiKey: "" });
  const [persona, setPersona] = useState({ label: "", systemPrompt: "" });

  const ready = useMemo(() => (versions.data ?? []).filter((v) => v.status === "ready"), [versions.data]);
  const active = ready.find((v) => v.activeFor.includes(assistantId));
  useEffect(() => {
    if (!setId && sets.data?.[0]) setSetId((sets.data.find((s) => s.isDefault) ?? sets.data[0]).id);
  }, [sets.data, setId]);
  // default: the active version and the newest other one
  const chosen = picked ?? [active?.id, ready.find((v) => v.id !== active?.id)?.id].filter((x): x is string => !!x);

  const start = useMutation(
    trpc.evals.runs.start.mutationOptions({
      onSuccess: (r) => {
        void queryClient.invalidateQueries(trpc.evals.runs.list.queryFilter());
        router.push(`/evals/runs/${r.runId}`);
      },
    }),
  );
  if (!can("editor")) return <p className="text-sm text-zinc-500">Starting a run needs the editor role.</p>;
  if (sets.data && sets.data.length === 0) return <p className={`${cardClass} text-sm text-zinc-500`}>Create an eval set first.</p>;

  const judge: JudgeInput =
    judgeKind === "model" && judgeModel
      ? { kind: "model", modelId: judgeModel }
      : judgeKind === "endpoint"
        ? { kind: "endpoint", url: endpoint.url, model: endpoint.model, apiKey: endpoint.apiKey || null }
        : null;
  const k = [...(knowledge.on ? (["on"] as const) : []), ...(knowledge.off ? (["off"] as const) : [])];
  const personas = persona.systemPrompt.trim() ? [{ label: persona.label.trim() || "alternative persona", systemPrompt: persona.systemPrompt }] : [];
  const count = chosen.length * k.length * (1 + personas.length);

  return (
    <form
      className={`${cardClass} space-y-4`}
      data-testid="new-eval-run"
      onSubmit={(e) => {
        e.preventDefault();
        start.mutate({ assistantId, setId, versions: chosen, knowledge: k, personas, judge, ...(maxTokens ? { maxTokens: Number(maxTokens) } : {}) });
      }}
    >
      <div className="grid gap-4 sm:grid-cols-2">
        <div>
          <label htmlFor="run-set" className={labelClass}>
            Eval set
          </label>
          <select id="run-set" value={setId} onChange={(e) => setSetId(e.target.value)} className={inputClass} data-testid="run-set">
            {sets.data?.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} ({s.coverage.rows} questions){s.isDefault ? " — default" : ""}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="run-max-tokens" className={labelClass}>
            Max tokens per answer (empty: the assistant&apos;s setting)
          </label>
          <input id="run-max-tokens" type="number" min={1} max={4096} value={maxTokens} onChange={(e) => setMaxTokens(e.target.value)} className={inputClass} />
        </div>
      </div>
      <fieldset>
        <legend className={labelClass}>Versions</legend>
        <div className="flex flex-wrap gap-x-4 gap-y-1" data-testid="run-versions">
          {ready.map((v) => (
            <label key={v.id} className="flex items-center gap-1.5 text-sm">
              <input
                type="checkbox"
                checked={chosen.includes(v.id)}
                onChange={(e) => setPicked(e.target.checked ? [...chosen, v.id] : chosen.filter((x) => x !== v.id))}
              />
              {v.name}
              {v.id === active?.id && <span className="text-xs text-emerald-700 dark:text-emerald-400">(active)</span>}
            </label>
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend className={labelClass}>Knowledge base</legend>
        <div className="flex gap-4 text-sm">
          <label className="flex items-center gap-1.5">
            <input type="checkbox" checked={knowledge.on} onChange={(e) => setKnowledge({ ...knowledge, on: e.target.checked })} /> with
          </label>
          <label className="flex items-center gap-1.5">
            <input type="checkbox" checked={knowledge.off} onChange={(e) => setKnowledge({ ...knowledge, off: e.target.checked })} /> without
          </label>
        </div>
      </fieldset>
      <details>
        <summary className="cursor-pointer text-xs font-medium text-zinc-600 dark:text-zinc-400">Also try another persona (optional)</summary>
        <div className="mt-2 grid gap-2 sm:grid-cols-[12rem_1fr]">
          <input aria-label="Persona name" placeholder="name, e.g. concise" value={persona.label} onChange={(e) => setPersona({ ...persona, label: e.target.value })} className={inputClass} />
          <textarea aria-label="Persona system prompt" rows={2} placeholder="A system prompt to compare with the saved one" value={persona.systemPrompt} onChange={(e) => setPersona({ ...persona, systemPrompt: e.target.value })} className={inputClass} />
        </div>
      </details>
      <fieldset>
        <legend className={labelClass}>Judge (optional; an opinion shown apart from the metrics)</legend>
        <div className="flex flex-wrap items-center gap-3 text-sm">
          {(["none", "model", "endpoint"] as const).map((kind) => (
            <label key={kind} className="flex items-center gap-1.5">
              <input type="radio" name="judge" checked={judgeKind === kind} onChange={() => setJudgeKind(kind)} />
              {kind === "none" ? "none" : kind === "model" ? "a registered model" : "an OpenAI-compatible endpoint"}
            </label>
          ))}
        </div>
        {judgeKind === "model" && (
          <select aria-label="Judge model" value={judgeModel} onChange={(e) => setJudgeModel(e.target.value)} className={`${inputClass} mt-2 max-w-sm`}>
            <option value="">Choose a model…</option>
            {models.data?.filter((m) => m.status === "ready").map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        )}
        {judgeKind === "endpoint" && (
          <div className="mt-2 grid gap-2 sm:grid-cols-3">
            <input aria-label="Endpoint URL" placeholder="https://host/v1" value={endpoint.url} onChange={(e) => setEndpoint({ ...endpoint, url: e.target.value })} className={inputClass} />
            <input aria-label="Endpoint model" placeholder="model name" value={endpoint.model} onChange={(e) => setEndpoint({ ...endpoint, model: e.target.value })} className={inputClass} />
            <input aria-label="Endpoint API key" type="password" placeholder="API key" value={endpoint.apiKey} onChange={(e) => setEndpoint({ ...endpoint, apiKey: e.target.value })} className={inputClass} />
          </div>
        )}
      </fieldset>
      <p className="text-xs text-zinc-500">
        Answers are greedy (temperature 0), so a rerun gives the same answers; {count} configuration{count === 1 ? "" : "s"}. The run
        waits for any training in progress (one heavy job at a time).
      </p>
      <button type="submit" className={primaryButtonClass} disabled={!setId || chosen.length === 0 || k.length === 0 || start.isPending} data-testid="start-eval-run">
        {start.isPending ? "Starting…" : "Run"}
      </button>
      {start.isError && <FormError message={errorMessage(start.error)} />}
    </form>
  );
}
