"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useTRPC } from "@/app/_lib/trpc";
import { FormError } from "../../models/_components/panel";

/** Which assistant to improve: the loop works per assistant. */
export function ImproveList() {
  const trpc = useTRPC();
  const list = useQuery(trpc.assistants.list.queryOptions());
  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-4xl px-4 py-8 sm:px-6">
        <h1 className="text-xl font-semibold tracking-tight">Improve</h1>
        <p className="mt-1 text-sm text-zinc-500">Review what visitors asked on every channel, correct answers, and turn the reviewed ones into the next training run.</p>
        {list.isError && <FormError message={`Couldn’t load assistants: ${list.error.message}`} />}
        <ul className="mt-6 divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800" data-testid="improve-list">
          {list.data?.map((a) => (
            <li key={a.id}>
              <Link href={`/improve/${a.id}`} className="flex items-center gap-3 px-4 py-3 hover:bg-zinc-50 dark:hover:bg-zinc-900">
                <span className="flex-1 font-medium">{a.name}</span>
                <span className="text-xs text-zinc-500">Review inbox →</span>
              </Link>
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
