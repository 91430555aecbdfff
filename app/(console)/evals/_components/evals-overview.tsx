"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { errorMessage, formatRelativeTime } from "@/app/_lib/format";
import { useSession } from "@/app/_lib/session";
import { useTRPC } from "@/app/_lib/trpc";
import { NewRunForm } from "./new-run-form";
import { AssistantSelect, EvalStatusPill, FormError, PageFrame, Section, cardClass, inputClass, labelClass, primaryButtonClass } from "./ui";

/** Evaluate: an assistant's eval sets, its runs, and a new run. */
export function EvalsOverview() {
  const [assistantId, setAssistantId] = useState<string | null>(null);
  return (
    <PageFrame>
      <header>
        <h1 className="text-xl font-semibold tracking-tight">Evaluate</h1>
        <p className="mt-1 max-w-3xl text-sm text-zinc-500">
          Score what an assistant answers on your own questions: each version with and without its knowledge base, with confidence
          intervals and a verdict in plain words — so “fine-tune, knowledge base, or both?” is settled with numbers.
        </p>
      </header>
      <div className="mt-6">
        <AssistantSelect value={assistantId} onChange={setAssistantId} />
      </div>
      {assistantId && (
        <>
          <Section title="Eval sets">
            <SetsList assistantId={assistantId} />
          </Section>
          <Section title="New run">
            <NewRunForm assistantId={assistantId} />
          </Section>
          <Section title="Runs">
            <RunsList assistantId={assistantId} />
          </Section>
        </>
      )}
    </PageFrame>
  );
}

function SetsList({ assistantId }: { assistantId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const { can } = useSession();
  const sets = useQuery(trpc.evals.sets.list.queryOptions({ assistantId }));
  const [name, setName] = useState("");
  const [shared, setShared] = useState(false);
  const create = useMutation(
    trpc.evals.sets.create.mutationOptions({
      onSuccess: (s) => {
        void queryClient.invalidateQueries(trpc.evals.sets.list.queryFilter());
        router.push(`/evals/sets/${s.id}`);
      },
    }),
  );
  if (sets.isError) return <FormError message={`Couldn’t load eval sets: ${sets.error.message}`} />;
  return (
    <div className="space-y-3">
      {sets.isPending ? (
        <p className="text-sm text-zinc-400">Loading…</p>
      ) : sets.data.length === 0 ? (
        <p className={`${cardClass} text-sm text-zinc-500`}>No eval sets yet. Create one, then build its rows from a knowledge collection, import a file or write them.</p>
      ) : (
        <ul className="grid gap-3 md:grid-cols-2" data-testid="eval-sets">
          {sets.data.map((s) => (
            <li key={s.id} className={cardClass} data-testid="eval-set-card">
              <div className="flex items-start justify-between gap-2">
                <Link href={`/evals/sets/${s.id}`} className="font-medium hover:underline">
                  {s.name}
                </Link>
                {s.isDefault && <span className="rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700 dark:bg-emerald-950/50 dark:text-emerald-400">Default</span>}
                {!s.assistantId && <span className="text-xs text-zinc-500">shared</span>}
              </div>
              <p className="mt-1 text-xs text-zinc-500">
                {s.coverage.rows} question{s.coverage.rows === 1 ? "" : "s"}
                {s.coverage.candidates > 0 && ` · ${s.coverage.candidates} to review`} · {s.coverage.withReference} with a reference · {s.coverage.withFacts} with facts ·{" "}
                {s.coverage.shouldRefuse} out of scope
              </p>
            </li>
          ))}
        </ul>
      )}
      {can("editor") && (
        <form
          className="flex flex-wrap items-end gap-2"
          data-testid="create-eval-set"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate({ name, assistantId: shared ? null : assistantId, description: "", isDefault: false });
          }}
        >
          <div className="min-w-64 flex-1">
            <label htmlFor="new-set-name" className={labelClass}>
              New set
            </label>
            <input id="new-set-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Customer questions" className={inputClass} />
          </div>
          <label className="flex items-center gap-1.5 pb-2 text-sm">
            <input type="checkbox" checked={shared} onChange={(e) => setShared(e.target.checked)} />
            shared by every assistant
          </label>
          <button type="submit" className={primaryButtonClass} disabled={!name.trim() || create.isPending}>
            Create set
          </button>
        </form>
      )}
      {create.isError && <FormError message={errorMessage(create.error)} />}
    </div>
  );
}

function RunsList({ assistantId }: { assistantId: string }) {
  const trpc = useTRPC();
  const runs = useQuery(
    trpc.evals.runs.list.queryOptions({ assistantId }, { refetchInterval: (q) => (q.state.data?.some((r) => r.status === "queued" || r.status === "running") ? 1500 : false) }),
  );
  if (runs.isError) return <FormError message={`Couldn’t load runs: ${runs.error.message}`} />;
  if (runs.isPending) return <p className="text-sm text-zinc-400">Loading…</p>;
  if (runs.data.length === 0) return <p className={`${cardClass} text-sm text-zinc-500`}>No runs yet.</p>;
  return (
    <ul className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800" data-testid="eval-runs">
      {runs.data.map((r) => (
        <li key={r.id} className="flex flex-wrap items-center justify-between gap-2 px-4 py-3" data-testid="eval-run-row">
          <div className="min-w-0">
            <Link href={`/evals/runs/${r.id}`} className="font-medium hover:underline">
              {r.name}
            </Link>
            <p className="text-xs text-zinc-500">
              {r.setName} · {r.configs.length} configurations · {formatRelativeTime(r.createdAt)}
              {r.status === "running" && ` · ${r.progress.done} of ${r.progress.total} answers`}
            </p>
            {r.summary?.verdict[0] && <p className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">{r.summary.verdict[0]}</p>}
          </div>
          <EvalStatusPill status={r.status} />
        </li>
      ))}
    </ul>
  );
}
