"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { formatRelativeTime } from "@/app/_lib/format";
import { isActiveStatus } from "@/app/_lib/studio-format";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError, GOAL_LABEL, METHOD_LABEL, RunProgressBar, StatusPill, cardClass } from "./ui";

export function RunsList() {
  const trpc = useTRPC();
  const runs = useQuery(
    trpc.studio.runs.list.queryOptions(undefined, {
      // Progress bars move while something trains; idle lists don't poll.
      refetchInterval: (q) => (q.state.data?.some((r) => isActiveStatus(r.status)) ? 2000 : false),
    }),
  );
  if (runs.isError) return <FormError message={`Couldn’t load training runs: ${runs.error.message}`} />;
  if (runs.isPending) return <p className="text-sm text-zinc-400">Loading…</p>;
  if (runs.data.length === 0)
    return (
      <p className={`${cardClass} text-sm text-zinc-500`}>
        No training yet. Start one to teach a model your domain — the studio walks you through it.
      </p>
    );
  return (
    <ul className="grid gap-3 md:grid-cols-2" data-testid="runs-list">
      {runs.data.map((r) => (
        <li key={r.id} className={cardClass} data-testid="run-card" data-run-id={r.id}>
          <div className="flex items-start justify-between gap-2">
            <div className="min-w-0">
              <Link href={`/studio/runs/${r.id}`} className="block truncate font-medium hover:underline">
                {r.name}
              </Link>
              <p className="text-xs text-zinc-500">
                {GOAL_LABEL[r.goal]} · {METHOD_LABEL[r.method]} · {formatRelativeTime(r.createdAt)}
              </p>
            </div>
            <StatusPill status={r.status} />
          </div>
          <div className="mt-3">
            <RunProgressBar status={r.status} progress={r.progress} label={`Progress of ${r.name}`} />
          </div>
          {r.status === "failed" && r.error && <p className="mt-2 line-clamp-2 text-xs text-red-700 dark:text-red-400">{r.error}</p>}
        </li>
      ))}
    </ul>
  );
}
