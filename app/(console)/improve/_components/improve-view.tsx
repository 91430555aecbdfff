"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError, inputClass, Panel, primaryButtonClass, secondaryButtonClass } from "../../models/_components/panel";
import { ExperimentsPanel } from "./experiments-panel";
import { InboxItemCard } from "./inbox-item";

type Filters = {
  state: "unreviewed" | "reviewed" | "all";
  rating: "any" | "up" | "down" | "rated" | "unrated";
  channel?: "console" | "widget" | "api";
  regenerated?: boolean;
  outOfScope?: boolean;
  hasCitations?: boolean;
  modelId?: string;
  from?: number;
  to?: number;
  /** Paging: answers older than this time. */
  before?: number;
};

const triState = (v: string) => (v === "yes" ? true : v === "no" ? false : undefined);
const dayStart = (s: string) => (s ? new Date(`${s}T00:00:00`).getTime() : undefined);
const dayEnd = (s: string) => (s ? new Date(`${s}T23:59:59.999`).getTime() : undefined);

/** The loop for one assistant: the funnel, the review inbox, and improvement datasets with Retrain. */
export function ImproveView({ assistantId }: { assistantId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [filters, setFilters] = useState<Filters>({ state: "unreviewed", rating: "any" });
  const assistant = useQuery(trpc.assistants.get.queryOptions({ id: assistantId }));
  const counts = useQuery(trpc.loop.counts.queryOptions({ assistantId }));
  const inbox = useQuery(trpc.loop.inbox.queryOptions({ assistantId, ...filters, limit: 50 }));
  const datasets = useQuery(trpc.loop.datasets.queryOptions({ assistantId }));
  const sets = useQuery(trpc.evals.sets.list.queryOptions({ assistantId }));
  const experimentList = useQuery(trpc.loop.experiments.list.queryOptions({ assistantId }));
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries(trpc.loop.inbox.queryFilter()),
      queryClient.invalidateQueries(trpc.loop.counts.queryFilter()),
      queryClient.invalidateQueries(trpc.loop.datasets.queryFilter()),
    ]);
  const createVersion = useMutation(trpc.loop.createDataset.mutationOptions({ onSuccess: refresh }));
  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, before: undefined, ...patch }));
  const PAGE = 50;
  const c = counts.data;
  const trainedVersions = datasets.data?.filter((d) => d.trained).length ?? 0;

  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-5xl space-y-6 px-4 py-8 sm:px-6">
        <header>
          <Link href="/improve" className="text-xs text-zinc-500 hover:underline">← Improve</Link>
          <h1 className="text-xl font-semibold tracking-tight">Improve {assistant.data?.name ?? ""}</h1>
        </header>
        <ol className="grid grid-cols-2 gap-2 sm:grid-cols-4 lg:grid-cols-8" data-testid="funnel" aria-label="The improvement funnel">
          {[
            ["Conversations", c?.conversations, "#inbox"],
            ["Rated answers", c?.rated, "#inbox"],
            ["Reviewed", c?.reviewed, "#inbox"],
            ["Approved for training", c?.approved, "#datasets"],
            ["Dataset versions", datasets.data?.length, "#datasets"],
            ["Trained versions", trainedVersions, "#experiments"],
            ["Experiments", experimentList.data?.length, "#experiments"],
            ["Promoted", experimentList.data?.filter((e) => e.status === "promoted").length, "#experiments"],
          ].map(([label, n, href]) => (
            <li key={label as string}>
              <a href={href as string} className="block rounded-lg border border-zinc-200 px-3 py-2 hover:bg-zinc-50 dark:border-zinc-800 dark:hover:bg-zinc-900">
                <span className="block text-lg font-semibold tabular-nums">{(n as number | undefined) ?? "–"}</span>
                <span className="text-xs text-zinc-500">{label as string}</span>
              </a>
            </li>
          ))}
        </ol>

        <section id="inbox" aria-label="Review inbox" className="space-y-3">
          <h2 className="text-base font-semibold">Review inbox</h2>
          <div className="flex flex-wrap gap-2 text-sm" data-testid="inbox-filters">
            <select aria-label="State" value={filters.state} onChange={(e) => set({ state: e.target.value as Filters["state"] })} className={`${inputClass} w-auto`}>
              <option value="unreviewed">To review</option>
              <option value="reviewed">Reviewed</option>
              <option value="all">All</option>
            </select>
            <select aria-label="Rating" value={filters.rating} onChange={(e) => set({ rating: e.target.value as Filters["rating"] })} className={`${inputClass} w-auto`}>
              <option value="any">Any rating</option>
              <option value="down">👎 only</option>
              <option value="up">👍 only</option>
              <option value="rated">Rated</option>
              <option value="unrated">Not rated</option>
            </select>
            <select aria-label="Channel" value={filters.channel ?? ""} onChange={(e) => set({ channel: (e.target.value || undefined) as Filters["channel"] })} className={`${inputClass} w-auto`}>
              <option value="">All channels</option>
              <option value="widget">Widget</option>
              <option value="api">API</option>
              <option value="console">Console</option>
            </select>
            {(
              [
                ["regenerated", "Regenerated"],
                ["outOfScope", "Out-of-scope reply"],
                ["hasCitations", "Had citations"],
              ] as const
            ).map(([k, label]) => (
              <select key={k} aria-label={label} value={filters[k] === undefined ? "" : filters[k] ? "yes" : "no"} onChange={(e) => set({ [k]: triState(e.target.value) })} className={`${inputClass} w-auto`}>
                <option value="">{label}: any</option>
                <option value="yes">{label}: yes</option>
                <option value="no">{label}: no</option>
              </select>
            ))}
            <input aria-label="Version" placeholder="Model version id" value={filters.modelId ?? ""} onChange={(e) => set({ modelId: e.target.value.trim() || undefined })} className={`${inputClass} w-44`} />
            <label className="flex items-center gap-1 text-xs text-zinc-500">From <input type="date" aria-label="From" onChange={(e) => set({ from: dayStart(e.target.value) })} className={`${inputClass} w-auto`} /></label>
            <label className="flex items-center gap-1 text-xs text-zinc-500">To <input type="date" aria-label="To" onChange={(e) => set({ to: dayEnd(e.target.value) })} className={`${inputClass} w-auto`} /></label>
          </div>
          {inbox.isError && <FormError message={inbox.error.message} />}
          {inbox.data?.length === 0 && <p className="text-sm text-zinc-500">Nothing here with these filters.</p>}
          <ul className="space-y-3" data-testid="inbox">
            {inbox.data?.map((item) => <InboxItemCard key={item.messageId} item={item} evalSets={sets.data ?? []} onChanged={refresh} />)}
          </ul>
          <div className="flex gap-3 text-sm">
            {filters.before !== undefined && <button type="button" className="text-accent-600 hover:underline" onClick={() => set({})}>← Newest</button>}
            {inbox.data?.length === PAGE && (
              <button type="button" className="text-accent-600 hover:underline" data-testid="inbox-older" onClick={() => setFilters((f) => ({ ...f, before: inbox.data!.at(-1)!.createdAt }))}>
                Older answers →
              </button>
            )}
          </div>
        </section>

        <section id="datasets" aria-label="Improvement datasets">
          <Panel title="Improvement datasets" description="Every answer marked good or corrected, as chat records (the history the model saw + the approved answer). Only reviewed answers are ever included.">
            <button type="button" className={primaryButtonClass} data-testid="create-version" disabled={createVersion.isPending} onClick={() => createVersion.mutate({ assistantId })}>
              Create version {datasets.data ? (datasets.data[0]?.version ?? 0) + 1 : ""} from {c?.approved ?? 0} approved answers
            </button>
            {createVersion.error && <FormError message={createVersion.error.message} />}
            <ul className="mt-4 space-y-3">
              {datasets.data?.map((d) => <DatasetVersion key={d.id} version={d} />)}
            </ul>
          </Panel>
        </section>

        <section id="experiments" aria-label="Experiments">
          <ExperimentsPanel assistantId={assistantId} />
        </section>
      </div>
    </div>
  );
}

type Version = { id: string; version: number; recordCount: number; createdAt: number; trained: boolean; trainedModels: { id: string; name: string }[] };

function DatasetVersion({ version }: { version: Version }) {
  const trpc = useTRPC();
  const [share, setShare] = useState(20);
  const [epochs, setEpochs] = useState(2);
  const retrain = useMutation(trpc.loop.retrain.mutationOptions());
  const start = useMutation(trpc.studio.runs.start.mutationOptions());
  const plan = retrain.data;
  return (
    <li className="rounded-lg border border-zinc-200 p-3 text-sm dark:border-zinc-800" data-testid="dataset-version">
      <div className="flex flex-wrap items-center gap-3">
        <span className="font-medium">Version {version.version}</span>
        <span className="text-zinc-500">{version.recordCount} records · {new Date(version.createdAt).toLocaleString()}</span>
        {version.trained && <span className="text-xs text-emerald-700">trained: {version.trainedModels.map((m) => m.name).join(", ") || "run in progress"}</span>}
        <label className="ml-auto flex items-center gap-1 text-xs">Replay share
          <input type="number" min={0} max={90} value={share} onChange={(e) => setShare(Number(e.target.value))} className={`${inputClass} w-16`} aria-label="Replay share (%)" />%
        </label>
        <label className="flex items-center gap-1 text-xs">Epochs
          <input type="number" min={0.1} max={100} step={0.5} value={epochs} onChange={(e) => setEpochs(Number(e.target.value))} className={`${inputClass} w-16`} />
        </label>
        <button type="button" className={secondaryButtonClass} data-testid="retrain" disabled={retrain.isPending} onClick={() => retrain.mutate({ datasetId: version.id, replayShare: share / 100, epochs })}>
          {retrain.isPending ? "Planning…" : "Retrain"}
        </button>
      </div>
      {retrain.error && <FormError message={retrain.error.message} />}
      {plan && (
        <div className="mt-3 space-y-1 rounded-md bg-zinc-50 p-3 dark:bg-zinc-900" data-testid="retrain-plan">
          <p>Continues from <strong>{plan.continuesFrom.name}</strong> ({plan.continuesFrom.kind}) with a {plan.start.method} run on {plan.records} reviewed records.</p>
          {plan.continuesFrom.note && <p className="text-xs text-zinc-500">{plan.continuesFrom.note}</p>}
          <p className="text-xs text-zinc-500">{plan.replay.note}</p>
          <p>Planner: about {Math.max(1, Math.round(plan.plan.estSeconds / 60))} min, peak {Math.round(plan.plan.peakMemoryBytes / 1024 / 1024)} MB{plan.plan.fits ? "" : " (does not fit in memory)"}; it recommends <strong>{plan.plan.recommendation}</strong>.</p>
          <ul className="list-disc pl-5 text-xs text-zinc-500">{plan.plan.reasons.map((r) => <li key={r}>{r}</li>)}</ul>
          <div className="flex items-center gap-3">
            <button type="button" className={primaryButtonClass} data-testid="start-retrain" disabled={start.isPending || !!start.data} onClick={() => start.mutate(plan.start)}>
              Start training
            </button>
            {start.data && <Link className="text-accent-600 hover:underline" href="/studio">Training queued: follow it in the studio →</Link>}
          </div>
          {start.error && <FormError message={start.error.message} />}
        </div>
      )}
    </li>
  );
}
