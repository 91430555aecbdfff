"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC, type RouterOutputs } from "@/app/_lib/trpc";
import { FormError, Panel, secondaryButtonClass } from "../../models/_components/panel";

/** Widget and API conversations: where they came from, who (verified or anonymous), when, and the ratings. */
export function WidgetConversations({ assistantId }: { assistantId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.deploy.conversations.queryOptions({ assistantId }));
  const [open, setOpen] = useState<string | null>(null);
  const [exportError, setExportError] = useState<string | null>(null);

  const download = async (format: "csv" | "jsonl") => {
    setExportError(null);
    try {
      const file = await queryClient.fetchQuery(trpc.deploy.export.queryOptions({ assistantId, format }, { staleTime: 0 }));
      const url = URL.createObjectURL(new Blob([file.content], { type: format === "csv" ? "text/csv" : "application/x-ndjson" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = file.filename;
      a.click();
      URL.revokeObjectURL(url);
    } catch (err) {
      setExportError((err as Error).message);
    }
  };

  return (
    <Panel title="Visitor conversations" description="Conversations from the widget and the API, newest first.">
      <div className="mb-3 flex gap-2">
        <button type="button" className={secondaryButtonClass} onClick={() => void download("csv")}>
          Export CSV
        </button>
        <button type="button" className={secondaryButtonClass} onClick={() => void download("jsonl")}>
          Export JSONL
        </button>
      </div>
      {exportError && <FormError message={exportError} />}
      {list.isError && <FormError message={list.error.message} />}
      <div className="overflow-x-auto">
        <table className="w-full min-w-[40rem] text-left text-sm" data-testid="widget-conversations">
          <thead className="text-xs text-zinc-500">
            <tr>
              <th className="py-1 font-medium">When</th>
              <th className="py-1 font-medium">Channel</th>
              <th className="py-1 font-medium">Origin</th>
              <th className="py-1 font-medium">Visitor</th>
              <th className="py-1 font-medium">Messages</th>
              <th className="py-1 font-medium">Ratings</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.length === 0 && (
              <tr>
                <td colSpan={6} className="py-2 text-zinc-500">
                  No visitor conversations yet.
                </td>
              </tr>
            )}
            {list.data?.map((c) => (
              <ConversationRow key={c.id} c={c} assistantId={assistantId} open={open === c.id} toggle={() => setOpen(open === c.id ? null : c.id)} />
            ))}
          </tbody>
        </table>
      </div>
    </Panel>
  );
}

type Row = RouterOutputs["deploy"]["conversations"][number];

function ConversationRow({ c, assistantId, open, toggle }: { c: Row; assistantId: string; open: boolean; toggle: () => void }) {
  const trpc = useTRPC();
  const messages = useQuery(trpc.deploy.messages.queryOptions({ assistantId, conversationId: c.id }, { enabled: open }));
  return (
    <>
      <tr className="cursor-pointer border-t border-zinc-200 hover:bg-zinc-50 dark:border-zinc-800 dark:hover:bg-zinc-900" onClick={toggle}>
        <td className="py-1.5 text-xs">
          <button type="button" aria-expanded={open} className="text-left hover:underline">
            {new Date(c.updatedAt).toLocaleString()}
          </button>
        </td>
        <td className="py-1.5 text-xs">{c.channel}</td>
        <td className="py-1.5 font-mono text-xs">{c.origin ?? "—"}</td>
        <td className="py-1.5 text-xs">
          {c.visitorVerified ? <span className="mr-1 rounded bg-emerald-100 px-1 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300">verified</span> : null}
          <span className="font-mono">{c.visitorId ?? "anonymous"}</span>
        </td>
        <td className="py-1.5 text-xs">{c.messageCount}</td>
        <td className="py-1.5 text-xs">
          👍 {c.thumbsUp} · 👎 {c.thumbsDown}
        </td>
      </tr>
      {open && (
        <tr>
          <td colSpan={6} className="bg-zinc-50 px-3 py-2 dark:bg-zinc-900/50">
            {messages.isPending && <p className="text-xs text-zinc-400">Loading…</p>}
            <ol className="space-y-1">
              {messages.data?.map((m) => (
                <li key={m.id} className="text-sm whitespace-pre-wrap">
                  <span className="mr-2 text-xs font-semibold uppercase text-zinc-500">{m.role}</span>
                  {m.content}
                  {m.feedback ? <span className="ml-2">{m.feedback > 0 ? "👍" : "👎"}</span> : null}
                </li>
              ))}
            </ol>
          </td>
        </tr>
      )}
    </>
  );
}
