"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useTRPC } from "@/app/_lib/trpc";
import type { Settings } from "../_lib/draft";
import { Section } from "./form-fields";

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
    </Section>
  );
}
