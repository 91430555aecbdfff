"use client";

import { useQuery } from "@tanstack/react-query";
import { useParams } from "next/navigation";
import { useTRPC } from "@/app/_lib/trpc";
import { ConversationItem } from "./conversation-item";

export function ConversationList({ search }: { search: string }) {
  const trpc = useTRPC();
  const params = useParams<{ conversationId?: string }>();
  const list = useQuery(
    trpc.conversations.list.queryOptions(search ? { search } : {}, { placeholderData: (prev) => prev }),
  );

  return (
    <nav aria-label="Conversations" className="mt-3 min-h-0 flex-1 overflow-y-auto px-3 pb-3">
      <h2 className="px-2 pb-1 text-[11px] font-medium uppercase tracking-wider text-zinc-500">
        {search ? "Results" : "Recent"}
      </h2>
      {list.isError ? (
        <p className="px-2 py-1 text-xs text-red-600 dark:text-red-400">Couldn’t load conversations.</p>
      ) : list.data?.length === 0 ? (
        <p className="px-2 py-1 text-xs text-zinc-500">{search ? "No chats match." : "No chats yet."}</p>
      ) : (
        <ul className="space-y-0.5">
          {list.data?.map((c) => (
            <ConversationItem key={c.id} conversation={c} active={c.id === params.conversationId} />
          ))}
        </ul>
      )}
    </nav>
  );
}
