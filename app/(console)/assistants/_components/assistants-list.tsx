"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { PlusIcon } from "@/app/_components/icons";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError, primaryButtonClass } from "../../models/_components/panel";
import { AssistantCard } from "./assistant-card";
import { useAssistantActions } from "./use-assistant-actions";

type Tab = "active" | "archived";

export function AssistantsList() {
  const trpc = useTRPC();
  const [tab, setTab] = useState<Tab>("active");
  const all = useQuery(trpc.assistants.list.queryOptions({ status: "all" }));
  const actions = useAssistantActions();
  const list = (all.data ?? []).filter((a) => (tab === "archived") === (a.archivedAt !== null));
  const counts = {
    active: (all.data ?? []).filter((a) => a.archivedAt === null).length,
    archived: (all.data ?? []).filter((a) => a.archivedAt !== null).length,
  };

  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-6xl px-4 py-8 sm:px-6">
        <header className="flex flex-wrap items-end gap-4">
          <div className="min-w-0 flex-1">
            <h1 className="text-xl font-semibold tracking-tight">Assistants</h1>
            <p className="mt-1 text-sm text-zinc-500">
              Each assistant is a persona on a model version: its prompt, greeting, sampling and the knowledge it draws on.
            </p>
          </div>
          <Link href="/assistants/new" className={`${primaryButtonClass} inline-flex items-center gap-1.5`} data-testid="new-assistant">
            <PlusIcon width={16} height={16} /> New assistant
          </Link>
        </header>

        <div role="tablist" aria-label="Assistants" className="mt-6 flex gap-1 border-b border-zinc-200 dark:border-zinc-800">
          {(["active", "archived"] as const).map((t) => (
            <button
              key={t}
              type="button"
              role="tab"
              aria-selected={tab === t}
              onClick={() => setTab(t)}
              data-testid={`assistants-tab-${t}`}
              className={`-mb-px border-b-2 px-3 py-2 text-sm font-medium capitalize ${
                tab === t ? "border-accent-600 text-zinc-900 dark:text-zinc-100" : "border-transparent text-zinc-500 hover:text-zinc-800 dark:hover:text-zinc-200"
              }`}
            >
              {t} <span className="ml-1 rounded-full bg-zinc-100 px-1.5 text-xs text-zinc-500 dark:bg-zinc-800">{counts[t]}</span>
            </button>
          ))}
        </div>

        {all.isError && <FormError message={`Couldn’t load assistants: ${all.error.message}`} />}
        {actions.error && <FormError message={actions.error} />}

        {all.isPending ? (
          <ul className="mt-6 grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
            {[0, 1, 2].map((i) => (
              <li key={i} className="h-52 animate-pulse rounded-xl bg-zinc-100 dark:bg-zinc-900" />
            ))}
          </ul>
        ) : list.length === 0 ? (
          <div className="mt-10 rounded-xl border border-dashed border-zinc-300 px-6 py-12 text-center dark:border-zinc-700">
            <p className="text-sm font-medium">{tab === "archived" ? "No archived assistants" : "No assistants yet"}</p>
            <p className="mt-1 text-sm text-zinc-500">
              {tab === "archived" ? "Archived assistants leave the chat picker but keep their conversations." : "Create one to give your model a persona."}
            </p>
          </div>
        ) : (
          <ul className="mt-6 grid gap-4 sm:grid-cols-2 lg:grid-cols-3" data-testid="assistant-cards">
            {list.map((a) => (
              <AssistantCard key={a.id} assistant={a} actions={actions} />
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
