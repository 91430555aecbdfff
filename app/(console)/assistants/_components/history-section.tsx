"use client";

import { useQuery } from "@tanstack/react-query";
import { formatRelativeTime } from "@/app/_lib/format";
import { useTRPC, type RouterOutputs } from "@/app/_lib/trpc";
import { FIELD_LABELS } from "../_lib/draft";
import { Section } from "./form-fields";

type Entry = RouterOutputs["assistants"]["history"][number];

const ACTIONS: Record<string, string> = {
  "assistant.create": "created this assistant",
  "assistant.duplicate": "created this assistant as a copy",
  "assistant.archive": "archived it",
  "assistant.restore": "restored it",
  "assistant.set_default": "made it the default",
};

const show = (v: unknown): string => {
  if (v === null || v === undefined || v === "") return "—";
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s.length > 240 ? `${s.slice(0, 240)}…` : s;
};

/** Field → [before, after] pairs; sampling is broken down per setting. */
function changes(detail: Record<string, unknown>, modelName: (id: unknown) => string): { field: string; before: string; after: string }[] {
  const out: { field: string; before: string; after: string }[] = [];
  for (const [field, pair] of Object.entries(detail)) {
    if (!Array.isArray(pair) || pair.length !== 2) continue;
    const [before, after] = pair as [unknown, unknown];
    if (field === "sampling" && before && after && typeof before === "object" && typeof after === "object") {
      const b = before as Record<string, unknown>;
      const a = after as Record<string, unknown>;
      for (const k of Object.keys(a)) if (b[k] !== a[k]) out.push({ field: k, before: show(b[k]), after: show(a[k]) });
    } else if (field === "modelId") {
      out.push({ field: "model", before: modelName(before), after: modelName(after) });
    } else if (field === "collectionIds") {
      out.push({ field: "knowledge", before: `${(before as unknown[] | null)?.length ?? 0} collections`, after: `${(after as unknown[] | null)?.length ?? 0} collections` });
    } else {
      out.push({ field: FIELD_LABELS[field] ?? field, before: show(before), after: show(after) });
    }
  }
  return out;
}

function summary(e: Entry): string {
  if (e.action !== "assistant.update") return ACTIONS[e.action] ?? e.action;
  const fields = Object.keys(e.detail ?? {}).map((f) => FIELD_LABELS[f] ?? f);
  return `changed ${fields.join(", ")}`;
}

export function HistorySection({ assistantId }: { assistantId: string }) {
  const trpc = useTRPC();
  const history = useQuery(trpc.assistants.history.queryOptions({ id: assistantId }));
  const models = useQuery(trpc.models.list.queryOptions());
  const modelName = (id: unknown) => (typeof id === "string" ? (models.data?.find((m) => m.id === id)?.name ?? "a removed model") : "none");

  return (
    <Section id="history" title="History" description="Every change to this assistant: who made it, when, and what changed.">
      {history.isPending ? (
        <div className="h-10 animate-pulse rounded-lg bg-zinc-100 dark:bg-zinc-900" />
      ) : history.isError ? (
        <p className="text-sm text-red-600">Couldn’t load the history: {history.error.message}</p>
      ) : history.data.length === 0 ? (
        <p className="text-sm text-zinc-500">No recorded changes.</p>
      ) : (
        <ol className="relative space-y-4 border-l border-zinc-200 pl-5 dark:border-zinc-800" data-testid="assistant-history">
          {history.data.map((e) => {
            const rows = e.action === "assistant.update" && e.detail ? changes(e.detail, modelName) : [];
            return (
              <li key={e.id} data-testid="history-entry" className="relative">
                <span aria-hidden="true" className="absolute top-1.5 -left-[25px] size-2.5 rounded-full border-2 border-white bg-accent-500 dark:border-zinc-900" />
                <p className="text-sm">
                  <span className="font-medium">{e.user?.name || e.user?.email || "Someone"}</span> {summary(e)}
                  <time className="ml-2 text-xs text-zinc-500" dateTime={new Date(e.createdAt).toISOString()} title={new Date(e.createdAt).toLocaleString()}>
                    {formatRelativeTime(e.createdAt)}
                  </time>
                </p>
                {rows.length > 0 && (
                  <details className="mt-1 text-xs">
                    <summary className="cursor-pointer text-zinc-500 hover:text-zinc-800 dark:hover:text-zinc-200">Show changes</summary>
                    <dl className="mt-2 space-y-2">
                      {rows.map((r) => (
                        <div key={r.field} className="grid gap-1 sm:grid-cols-[8rem_1fr]">
                          <dt className="font-medium text-zinc-600 dark:text-zinc-400">{r.field}</dt>
                          <dd className="min-w-0 space-y-0.5 font-mono break-words">
                            <p className="rounded bg-red-50 px-1.5 py-0.5 text-red-800 line-through decoration-red-300 dark:bg-red-950/40 dark:text-red-300">{r.before}</p>
                            <p className="rounded bg-emerald-50 px-1.5 py-0.5 text-emerald-800 dark:bg-emerald-950/40 dark:text-emerald-300">{r.after}</p>
                          </dd>
                        </div>
                      ))}
                    </dl>
                  </details>
                )}
              </li>
            );
          })}
        </ol>
      )}
    </Section>
  );
}
