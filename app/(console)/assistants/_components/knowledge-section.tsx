"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useTRPC } from "@/app/_lib/trpc";
import { DEFAULT_RETRIEVAL, RETRIEVAL_LIMITS, type Settings } from "../_lib/draft";
import { Field, Section, numberInputClass } from "./form-fields";

type Props = { draft: Settings; update: (patch: Partial<Settings>) => void };

export function KnowledgeSection({ draft, update }: Props) {
  const trpc = useTRPC();
  const collections = useQuery(trpc.assistants.collections.queryOptions());
  const chosen = new Set(draft.collectionIds ?? []);
  const toggle = (id: string) => {
    const next = new Set(chosen);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    update({ collectionIds: [...next] });
  };
  const list = collections.data ?? [];

  return (
    <Section id="knowledge" title="Knowledge" description="Collections the assistant searches and cites when it answers.">
      {collections.isPending ? (
        <div className="h-10 animate-pulse rounded-lg bg-zinc-100 dark:bg-zinc-900" />
      ) : list.length === 0 ? (
        <p className="text-sm text-zinc-500">
          No collections yet. <Link href="/knowledge" className="font-medium text-accent-600 underline">Create one on the Knowledge page</Link>.
        </p>
      ) : (
        <ul className="grid gap-2 sm:grid-cols-2">
          {list.map((c) => (
            <li key={c.id}>
              <label className="flex cursor-pointer items-start gap-3 rounded-lg border border-zinc-200 p-3 has-checked:border-accent-500 has-checked:bg-accent-50/50 dark:border-zinc-800 dark:has-checked:bg-accent-950/40">
                <input type="checkbox" checked={chosen.has(c.id)} onChange={() => toggle(c.id)} className="mt-0.5 accent-accent-600" />
                <span className="min-w-0">
                  <span className="block truncate text-sm font-medium">{c.name}</span>
                  <span className="block text-xs text-zinc-500">
                    {c.documentCount} {c.documentCount === 1 ? "document" : "documents"}
                    {c.description ? ` · ${c.description}` : ""}
                  </span>
                </span>
              </label>
            </li>
          ))}
        </ul>
      )}
      {chosen.size > 0 && <RetrievalSettings draft={draft} update={update} />}
    </Section>
  );
}

/** How many passages, how relevant they must be, and whether a reranker orders them. */
function RetrievalSettings({ draft, update }: Props) {
  const trpc = useTRPC();
  const status = useQuery(trpc.knowledge.status.queryOptions());
  const r = draft.retrieval ?? DEFAULT_RETRIEVAL;
  const set = (patch: Partial<typeof r>) => update({ retrieval: { ...r, ...patch } });
  const reranker = status.data?.reranker;
  const rerankOn = r.rerank && !!reranker?.configured && !reranker.error;
  return (
    <div className="space-y-4 border-t border-zinc-200 pt-4 dark:border-zinc-800" data-testid="retrieval-settings">
      <Field label="Passages per answer" htmlFor="retrieval-passages" hint="The most passages given to the model as numbered sources. Fewer keep short contexts free for the conversation; the model’s context may hold fewer still.">
        <input
          id="retrieval-passages"
          type="number"
          min={RETRIEVAL_LIMITS.passages.min}
          max={RETRIEVAL_LIMITS.passages.max}
          step={1}
          value={r.passages}
          onChange={(e) => set({ passages: Math.round(Number(e.target.value)) })}
          className={numberInputClass}
          data-testid="retrieval-passages"
        />
      </Field>
      <Field
        label={`Minimum score: ${r.minScore.toFixed(2)}`}
        htmlFor="retrieval-min-score"
        hint={
          rerankOn
            ? "Passages the reranker scores below this (0–1, its estimate that the passage answers the question) are left out."
            : "Passages whose keyword match is weaker than this share of the best match are left out (0 keeps all; 0.5 drops those half as good). With a reranker it is the reranker’s 0–1 relevance."
        }
      >
        <input
          id="retrieval-min-score"
          type="range"
          min={0}
          max={1}
          step={0.05}
          value={r.minScore}
          onChange={(e) => set({ minScore: Number(e.target.value) })}
          className="w-full accent-accent-600"
          data-testid="retrieval-min-score"
        />
      </Field>
      <div className="flex items-start gap-2">
        <input
          id="retrieval-rerank"
          type="checkbox"
          checked={r.rerank}
          disabled={!reranker?.configured}
          onChange={(e) => set({ rerank: e.target.checked })}
          className="mt-0.5 accent-accent-600"
          aria-describedby="retrieval-rerank-hint"
          data-testid="retrieval-rerank"
        />
        <div>
          <label htmlFor="retrieval-rerank" className="text-xs font-medium text-zinc-700 dark:text-zinc-300">
            Rerank passages
          </label>
          <p id="retrieval-rerank-hint" className="text-xs text-zinc-500" data-testid="retrieval-rerank-hint">
            {!reranker?.configured
              ? "Off: no reranker model is configured. Set ATELIER_RERANKER_MODEL to a reranker GGUF (a cross-encoder such as a BGE or Qwen3 reranker) to let it reorder passages by relevance."
              : reranker.error
                ? `The reranker (${reranker.model}) does not load: ${reranker.error}`
                : `A cross-encoder (${reranker.model}) reads the question with each candidate passage and keeps the most relevant.`}
          </p>
        </div>
      </div>
    </div>
  );
}
