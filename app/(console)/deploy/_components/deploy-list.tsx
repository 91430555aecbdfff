"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError } from "../../models/_components/panel";

export function DeployList() {
  const trpc = useTRPC();
  const list = useQuery(trpc.deploy.list.queryOptions());
  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-4xl px-4 py-8 sm:px-6">
        <header>
          <h1 className="text-xl font-semibold tracking-tight">Deploy</h1>
          <p className="mt-1 text-sm text-zinc-500">
            Put an assistant on your website with the chat widget, or call it from code through the OpenAI-compatible API.
          </p>
        </header>
        {list.isError && <FormError message={`Couldn’t load assistants: ${list.error.message}`} />}
        <ul className="mt-6 divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800" data-testid="deploy-list">
          {list.isPending && <li className="px-4 py-6 text-center text-sm text-zinc-400">Loading…</li>}
          {list.data?.length === 0 && <li className="px-4 py-6 text-center text-sm text-zinc-500">No assistants yet.</li>}
          {list.data?.map((a) => (
            <li key={a.id}>
              <Link href={`/deploy/${a.id}`} className="flex items-center gap-3 px-4 py-3 hover:bg-zinc-50 dark:hover:bg-zinc-900">
                <span className="flex size-8 items-center justify-center rounded-full text-sm text-white" style={{ background: a.color }} aria-hidden="true">
                  {a.avatar || a.name.slice(0, 1)}
                </span>
                <span className="flex-1 font-medium">{a.name}</span>
                <span className="text-xs text-zinc-500">
                  {a.origins === "any" ? "any origin" : `${a.origins} origin${a.origins === 1 ? "" : "s"}`}
                </span>
                <span
                  className={`rounded-full px-2 py-0.5 text-xs font-medium ${a.enabled ? "bg-emerald-100 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300" : "bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400"}`}
                >
                  {a.enabled ? "Widget on" : "Widget off"}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
