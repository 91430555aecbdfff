"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useMemo, useState } from "react";
import { errorMessage, formatRelativeTime } from "@/app/_lib/format";
import { describeSettings } from "@/app/_lib/studio-format";
import { useTRPC, type RouterOutputs } from "@/app/_lib/trpc";
import { Perplexity } from "./perplexity";
import { FormError, FormSuccess, inputClass, labelClass } from "./ui";

type Version = RouterOutputs["studio"]["versions"]["list"][number];

/** Picks an assistant; remembers nothing beyond the page, defaults to `initial` or the first one. */
export function AssistantSelect({ value, onChange, label = "Assistant" }: { value: string | null; onChange: (id: string) => void; label?: string }) {
  const trpc = useTRPC();
  const id = useId();
  const assistants = useQuery(trpc.assistants.list.queryOptions());
  useEffect(() => {
    const first = assistants.data?.[0];
    if (!value && first) onChange(first.id);
  }, [assistants.data, value, onChange]);
  return (
    <div>
      <label htmlFor={id} className={labelClass}>
        {label}
      </label>
      <select id={id} value={value ?? ""} onChange={(e) => onChange(e.target.value)} className={`${inputClass} max-w-xs`} data-testid="assistant-select">
        {assistants.data?.map((a) => (
          <option key={a.id} value={a.id}>
            {a.name}
          </option>
        ))}
      </select>
    </div>
  );
}

/**
 * Every model version an assistant can run on, newest first, each with where it came from
 * (base, dataset, settings, metrics). One click activates; activating an older one is the rollback.
 */
export function VersionsList({ assistantId, highlightModelId }: { assistantId: string; highlightModelId?: string | null }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const versions = useQuery(trpc.studio.versions.list.queryOptions({ assistantId }));
  const models = useQuery(trpc.models.list.queryOptions());
  const datasets = useQuery(trpc.studio.datasets.list.queryOptions());
  const [notice, setNotice] = useState<string | null>(null);
  // the activation gate (server/evals/gate.ts): what each version was activated on, and a refusal to override
  const checks = useQuery(trpc.evals.gate.lineage.queryOptions({ assistantId }));
  const [refused, setRefused] = useState<{ version: Version; rollback: boolean } | null>(null);
  const activate = useMutation(
    trpc.studio.versions.activate.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries(trpc.studio.versions.list.queryFilter());
        void queryClient.invalidateQueries(trpc.assistants.list.queryFilter());
        void queryClient.invalidateQueries(trpc.evals.gate.lineage.queryFilter());
      },
    }),
  );

  const modelName = useMemo(() => new Map(models.data?.map((m) => [m.id, m.name])), [models.data]);
  const datasetName = useMemo(() => new Map(datasets.data?.map((d) => [d.id, d.name])), [datasets.data]);
  const sorted = useMemo(() => [...(versions.data ?? [])].sort((a, b) => b.createdAt - a.createdAt), [versions.data]);
  const active = sorted.find((v) => v.activeFor.includes(assistantId));

  if (versions.isError) return <FormError message={`Couldn’t load versions: ${versions.error.message}`} />;
  if (versions.isPending) return <p className="text-sm text-zinc-400">Loading…</p>;

  const onActivate = (v: Version, rollback: boolean, override = false) => {
    setNotice(null);
    setRefused(null);
    activate.mutate(
      { assistantId, modelId: v.id, ...(override ? { override: true } : {}) },
      {
        onSuccess: (r) => {
          // What the inference nodes that served the previous version did with this one.
          const nodes = r.nodes.map((n) => `${n.nodeName}: ${n.message}`).join(" ");
          setNotice(`${rollback ? `Rolled back to ${v.name}.` : `${v.name} is now active.`}${nodes ? ` ${nodes}` : ""}`);
        },
        onError: (e) => {
          if (errorMessage(e).startsWith("Activation refused:")) setRefused({ version: v, rollback });
        },
      },
    );
  };

  const tokenizers = new Set(sorted.map((v) => v.tokenizer.key));
  return (
    <div>
      {tokenizers.size > 1 && (
        <p className="mb-2 text-xs text-zinc-500" data-testid="tokenizer-caveat">
          These versions use {tokenizers.size} different tokenizers. Perplexity is measured per token, so compare it only between versions with the same tokenizer;
          bits per byte compare across all of them.
        </p>
      )}
      <ol className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800" data-testid="versions-list">
        {sorted.length === 0 && <li className="px-4 py-6 text-center text-sm text-zinc-500">No versions yet.</li>}
        {sorted.map((v) => {
          const isActive = v.activeFor.includes(assistantId);
          const rollback = !!active && v.createdAt < active.createdAt;
          return (
            <li
              key={v.id}
              data-testid="version-row"
              data-model-id={v.id}
              data-active={isActive || undefined}
              className={`flex flex-col gap-3 px-4 py-3 sm:flex-row sm:items-start sm:justify-between ${v.id === highlightModelId ? "bg-accent-50/50 dark:bg-accent-950/20" : ""}`}
            >
              <div className="min-w-0 flex-1">
                <div className="flex flex-wrap items-center gap-2">
                  <span className="font-medium">{v.name}</span>
                  <span className="text-xs text-zinc-500">{v.kind === "base" ? "base model" : v.kind === "lora" ? "LoRA adapter" : "fine-tuned"}</span>
                  {isActive && (
                    <span data-testid="version-active" className="rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700 dark:bg-emerald-950/50 dark:text-emerald-400">
                      Active
                    </span>
                  )}
                </div>
                <dl className="mt-1 grid gap-x-4 gap-y-0.5 text-xs text-zinc-500 sm:grid-cols-2" data-testid="version-lineage">
                  <Lineage label="Base">{v.baseModelId ? (modelName.get(v.baseModelId) ?? "removed model") : v.kind === "base" ? "—" : "trained from scratch"}</Lineage>
                  <Lineage label="Dataset">{v.datasetId ? (datasetName.get(v.datasetId) ?? "removed dataset") : "—"}</Lineage>
                  <Lineage label="Settings">{describeSettings(v.meta.settings)}</Lineage>
                  <Lineage label="Held-out">
                    <Perplexity before={v.meta.pplBefore} after={v.meta.pplAfter} beforeUntrained={v.meta.beforeUntrained} bpbBefore={v.meta.bpbBefore} bpbAfter={v.meta.bpbAfter} />
                  </Lineage>
                  <Lineage label="Tokenizer">
                    <span data-testid="version-tokenizer" data-tokenizer={v.tokenizer.key}>
                      {v.tokenizer.label}
                    </span>
                  </Lineage>
                  <Lineage label="Created">{formatRelativeTime(v.createdAt)}</Lineage>
                  {checks.data?.some((c) => c.modelId === v.id) && (
                    <Lineage label="Evaluation">
                      <EvalCheck check={checks.data.find((c) => c.modelId === v.id)!} />
                    </Lineage>
                  )}
                </dl>
              </div>
              {!isActive && active && <NodePlanNote currentModelId={active.id} modelId={v.id} />}
              {!isActive && (
                <button
                  type="button"
                  data-testid={rollback ? "rollback-button" : "activate-button"}
                  disabled={activate.isPending || v.status !== "ready"}
                  onClick={() => onActivate(v, rollback)}
                  className="shrink-0 self-start rounded-lg border border-zinc-200 px-3 py-1.5 text-sm font-medium text-zinc-700 hover:bg-zinc-100 disabled:cursor-not-allowed disabled:opacity-50 dark:border-zinc-700 dark:text-zinc-300 dark:hover:bg-zinc-800"
                >
                  {rollback ? "Roll back to this" : "Activate"}
                </button>
              )}
            </li>
          );
        })}
      </ol>
      {activate.isError && <FormError message={errorMessage(activate.error)} />}
      {refused && (
        <button
          type="button"
          data-testid="activate-override"
          onClick={() => onActivate(refused.version, refused.rollback, true)}
          className="mt-2 rounded-lg border border-red-300 px-3 py-1.5 text-sm font-medium text-red-700 hover:bg-red-50 dark:border-red-800 dark:text-red-300 dark:hover:bg-red-950/40"
        >
          Activate {refused.version.name} anyway (the override is recorded)
        </button>
      )}
      {notice && <FormSuccess message={notice} />}
    </div>
  );
}

/** Before activation: what each inference node serving the current version can do with this one. */
function NodePlanNote({ currentModelId, modelId }: { currentModelId: string; modelId: string }) {
  const trpc = useTRPC();
  const plan = useQuery(trpc.nodes.activationPlan.queryOptions({ currentModelId, modelId }));
  if (!plan.data?.length) return null;
  return (
    <ul className="max-w-xs text-xs text-zinc-500" data-testid="node-plan">
      {plan.data.map((p) => (
        <li key={p.nodeId} className={p.ok ? "" : "text-amber-700 dark:text-amber-400"}>
          {p.nodeName} ({p.kind}): {p.already ? "already serves it" : p.how}
        </li>
      ))}
    </ul>
  );
}

type Check = RouterOutputs["evals"]["gate"]["lineage"][number];

/** The eval evidence the version was activated on (runs on the assistant's default eval set). */
function EvalCheck({ check }: { check: Check }) {
  const label = { better: "better than the version it replaced", "no-difference": "no measurable difference", worse: "worse on the default eval set", "not-evaluated": "not evaluated" }[check.verdict] ?? check.verdict;
  return (
    <span title={check.message} data-testid="version-eval-check" data-verdict={check.verdict}>
      {label}
      {check.overridden ? " — activated by override" : ""}
      {check.evalRunId ? (
        <>
          {" "}
          (<a href={`/evals/runs/${check.evalRunId}`} className="underline">
            eval run
          </a>
          )
        </>
      ) : null}
    </span>
  );
}

function Lineage({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="flex min-w-0 gap-1.5">
      <dt className="shrink-0">{label}:</dt>
      <dd className="min-w-0 truncate text-zinc-700 dark:text-zinc-300">{children}</dd>
    </div>
  );
}

export function VersionsPanel() {
  const [assistantId, setAssistantId] = useState<string | null>(null);
  return (
    <div className="space-y-3">
      <AssistantSelect value={assistantId} onChange={setAssistantId} />
      {assistantId && <VersionsList assistantId={assistantId} />}
    </div>
  );
}
