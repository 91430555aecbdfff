"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError, inputClass, Panel, primaryButtonClass, secondaryButtonClass } from "../../models/_components/panel";

const pct = (x: number | null | undefined) => (x === null || x === undefined ? "–" : `${Math.round(x * 100)}%`);

/** Start an A/B experiment between versions, watch it live, promote a winner or stop; roll back a promotion. */
export function ExperimentsPanel({ assistantId }: { assistantId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.loop.experiments.list.queryOptions({ assistantId }));
  const versions = useQuery(trpc.models.list.queryOptions());
  const current = list.data?.find((e) => e.status === "running") ?? list.data?.[0];
  const detail = useQuery({ ...trpc.loop.experiments.get.queryOptions({ id: current?.id ?? "" }), enabled: !!current, refetchInterval: current?.status === "running" ? 3000 : false });
  const refresh = () => Promise.all([queryClient.invalidateQueries(trpc.loop.experiments.list.queryFilter()), queryClient.invalidateQueries(trpc.loop.experiments.get.queryFilter())]);
  const [arms, setArms] = useState<{ modelId: string; weight: number }[]>([{ modelId: "", weight: 50 }, { modelId: "", weight: 50 }]);
  const [override, setOverride] = useState(false);
  const create = useMutation(trpc.loop.experiments.create.mutationOptions({ onSuccess: refresh }));
  const promote = useMutation(trpc.loop.experiments.promote.mutationOptions({ onSuccess: refresh }));
  const stop = useMutation(trpc.loop.experiments.stop.mutationOptions({ onSuccess: refresh }));
  const rollback = useMutation(trpc.loop.experiments.rollback.mutationOptions({ onSuccess: refresh }));
  const exp = detail.data;
  const ready = (versions.data ?? []).filter((m) => m.status === "ready");
  const error = create.error ?? promote.error ?? stop.error ?? rollback.error;

  return (
    <Panel title="Experiments" description="Try two or more versions on live traffic. Each visitor (or conversation) stays on one arm; every answer records its arm.">
      {exp && (
        <div className="space-y-3" data-testid="experiment">
          <p className="text-sm">
            <strong>{exp.name}</strong> · <span data-testid="experiment-status">{exp.status}</span>
            {exp.endedReason && <span className="text-zinc-500"> · {exp.endedReason}</span>}
          </p>
          <p className="text-sm" data-testid="experiment-reading">{exp.reading}</p>
          <div className="overflow-x-auto">
            <table className="w-full text-left text-xs">
              <thead className="text-zinc-500">
                <tr>
                  {["Arm", "Version", "Share", "Conversations", "👍 rate (95% CI)", "Regenerate", "Out of scope", "Answer length", "Latency", "Errors", "Default eval set", ""].map((h) => <th key={h} className="px-2 py-1 font-medium">{h}</th>)}
                </tr>
              </thead>
              <tbody>
                {exp.arms.map((a) => (
                  <tr key={a.id} data-testid="experiment-arm" className="border-t border-zinc-200 dark:border-zinc-800">
                    <td className="px-2 py-1 font-semibold">{a.label}</td>
                    <td className="px-2 py-1">{a.modelName}</td>
                    <td className="px-2 py-1">{a.live ? `${a.weight}%` : "stopped"}</td>
                    <td className="px-2 py-1 tabular-nums">{a.conversations}</td>
                    <td className="px-2 py-1 tabular-nums">{a.thumbsUpRate ? `${pct(a.thumbsUpRate.rate)} (${pct(a.thumbsUpRate.low)}–${pct(a.thumbsUpRate.high)}) of ${a.ratings}` : "no ratings"}</td>
                    <td className="px-2 py-1 tabular-nums">{pct(a.regenerateRate)}</td>
                    <td className="px-2 py-1 tabular-nums">{pct(a.outOfScopeRate)}</td>
                    <td className="px-2 py-1 tabular-nums">{a.avgTokens === null ? "–" : `${Math.round(a.avgTokens)} tok`}</td>
                    <td className="px-2 py-1 tabular-nums">{a.avgLatencyMs === null ? "–" : `${Math.round(a.avgLatencyMs)} ms`}</td>
                    <td className="px-2 py-1 tabular-nums" title={a.stoppedReason ?? undefined}>{pct(a.errorRate)}{a.stoppedReason ? " ⚠" : ""}</td>
                    <td className="max-w-56 px-2 py-1 text-zinc-500" title={a.eval.message}>{a.eval.verdict}</td>
                    <td className="px-2 py-1">
                      {exp.status === "running" && (
                        <button type="button" className={secondaryButtonClass} data-testid="promote-arm" onClick={() => promote.mutate({ experimentId: exp.id, armId: a.id, override })}>
                          Promote {a.label}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {exp.arms.filter((a) => a.stoppedReason).map((a) => <p key={a.id} role="alert" className="text-xs text-amber-700">Arm {a.label}: {a.stoppedReason}</p>)}
          <div className="flex items-center gap-3">
            {exp.status === "running" && <button type="button" className={secondaryButtonClass} data-testid="stop-experiment" onClick={() => stop.mutate({ id: exp.id })}>Stop (all traffic to the active version)</button>}
            {exp.status === "running" && <label className="flex items-center gap-1 text-xs"><input type="checkbox" checked={override} onChange={(e) => setOverride(e.target.checked)} /> Override the activation gate</label>}
            {exp.status === "promoted" && <button type="button" className={secondaryButtonClass} data-testid="rollback-experiment" onClick={() => rollback.mutate({ id: exp.id })}>Roll back to the earlier version</button>}
          </div>
        </div>
      )}
      {!list.data?.some((e) => e.status === "running") && (
        <form
          className="mt-4 space-y-2"
          data-testid="new-experiment"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate({ assistantId, arms });
          }}
        >
          <p className="text-sm font-medium">New experiment</p>
          {arms.map((arm, i) => (
            <div key={i} className="flex items-center gap-2">
              <span className="w-6 text-sm font-semibold">{"ABCD"[i]}</span>
              <select aria-label={`Arm ${"ABCD"[i]} version`} value={arm.modelId} onChange={(e) => setArms(arms.map((a, j) => (j === i ? { ...a, modelId: e.target.value } : a)))} className={`${inputClass} w-auto`}>
                <option value="">Choose a version…</option>
                {ready.map((m) => <option key={m.id} value={m.id}>{m.name}</option>)}
              </select>
              <input type="number" aria-label={`Arm ${"ABCD"[i]} share`} min={1} max={100} value={arm.weight} onChange={(e) => setArms(arms.map((a, j) => (j === i ? { ...a, weight: Number(e.target.value) } : a)))} className={`${inputClass} w-20`} />%
            </div>
          ))}
          <div className="flex gap-2">
            {arms.length < 4 && <button type="button" className={secondaryButtonClass} onClick={() => setArms([...arms, { modelId: "", weight: 0 }])}>Add an arm</button>}
            <button type="submit" className={primaryButtonClass} data-testid="start-experiment" disabled={create.isPending || arms.some((a) => !a.modelId)}>Start experiment</button>
          </div>
        </form>
      )}
      {error && <FormError message={error.message} />}
    </Panel>
  );
}
