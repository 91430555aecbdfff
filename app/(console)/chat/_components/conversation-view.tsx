"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useCallback, useEffect, useState } from "react";
import { peekPendingSend, takePendingSend } from "@/app/_lib/pending-send";
import { useTRPC } from "@/app/_lib/trpc";
import { AssistantAvatar } from "./assistant-avatar";
import { ExportMenu } from "../../_components/export-menu";
import { ChatHeader } from "./chat-header";
import { Composer } from "./composer";
import { EmptyState } from "./empty-state";
import { ErrorBanner } from "./error-banner";
import { MessageList } from "./message-list";
import { useChat } from "./use-chat";

export function ConversationView({ conversationId }: { conversationId: string }) {
  const trpc = useTRPC();
  const query = useQuery(
    trpc.conversations.get.queryOptions(
      { id: conversationId },
      {
        // A reply generating elsewhere (another tab, before a reload): follow it until it settles.
        refetchInterval: (q) => (q.state.data?.messages.some((m) => m.status === "streaming") ? 2000 : false),
      },
    ),
  );
  const chat = useChat(conversationId, query.data?.messages);
  const [draft, setDraft] = useState("");
  const { run } = chat;

  const send = useCallback(
    async (content: string) => {
      setDraft("");
      const result = await run({ kind: "send", conversationId, content });
      // The server rejected the message before storing it: give the text back.
      if (!result.userPersisted && !result.aborted) setDraft((d) => (d === "" ? content : d));
    },
    [run, conversationId],
  );

  // First message of a brand-new chat, handed over by the new-chat page.
  const loaded = query.isSuccess;
  useEffect(() => {
    if (!loaded) return;
    const t = setTimeout(() => {
      const content = takePendingSend(conversationId);
      if (content) void send(content);
    }, 0);
    return () => clearTimeout(t);
  }, [loaded, conversationId, send]);

  if (query.isError) {
    const notFound = query.error.data?.code === "NOT_FOUND";
    return (
      <div className="mx-auto max-w-md px-4 py-16 text-center">
        <h1 className="text-lg font-semibold">{notFound ? "Conversation not found" : "Couldn’t load this conversation"}</h1>
        <p className="mt-2 text-sm text-zinc-500">{notFound ? "It may have been deleted." : query.error.message}</p>
        <Link href="/chat" className="mt-6 inline-block rounded-lg bg-accent-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-accent-700">
          Start a new chat
        </Link>
      </div>
    );
  }

  const data = query.data;
  const waitingForHandoff = !!peekPendingSend(conversationId);
  const showEmpty = data && chat.messages.length === 0 && !chat.busy && !waitingForHandoff;

  return (
    <div className="flex h-full flex-col">
      <ChatHeader
        title={
          data ? (
            <>
              <AssistantAvatar name={data.assistant.name} color={data.assistant.color} avatar={data.assistant.avatar} size="sm" />
              <span className="truncate" data-testid="conversation-title">
                {data.conversation.title || "New chat"}
              </span>
              <span className="hidden truncate font-normal text-zinc-500 sm:inline">· {data.assistant.name}</span>
            </>
          ) : (
            <span className="h-4 w-40 animate-pulse rounded bg-zinc-200 dark:bg-zinc-800" />
          )
        }
      >
        {data && <ExportMenu conversationId={conversationId} />}
      </ChatHeader>
      {showEmpty ? (
        <div className="min-h-0 flex-1 overflow-y-auto">
          <EmptyState assistant={data.assistant} onStarter={send} />
        </div>
      ) : (
        <MessageList
          messages={chat.messages}
          streamingId={chat.streamingId}
          busy={chat.busy}
          waiting={chat.phase === "sending"}
          onRegenerate={(messageId) => void run({ kind: "regenerate", conversationId, messageId })}
          onEdit={(messageId, content) => void run({ kind: "edit", conversationId, messageId, content })}
          greeting={data?.assistant.greeting}
          footer={chat.error ? <ErrorBanner message={chat.error} onDismiss={chat.dismissError} /> : undefined}
        />
      )}
      <Composer
        value={draft}
        onChange={setDraft}
        onSend={send}
        onStop={chat.stop}
        streaming={chat.busy}
        busy={!data}
        autoFocus
      />
    </div>
  );
}
