"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { errorMessage } from "@/app/_lib/format";
import { setPendingSend } from "@/app/_lib/pending-send";
import { useTRPC } from "@/app/_lib/trpc";
import { AssistantPicker } from "./assistant-picker";
import { ChatHeader } from "./chat-header";
import { Composer } from "./composer";
import { EmptyState } from "./empty-state";
import { ErrorBanner } from "./error-banner";

/** /chat: pick an assistant, see its greeting; the first message creates the conversation. */
export function NewChat({ initialAssistantId }: { initialAssistantId?: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const assistants = useQuery(trpc.assistants.list.queryOptions());
  const [picked, setPicked] = useState<string | null>(initialAssistantId ?? null);
  const [draft, setDraft] = useState("");
  const [error, setError] = useState<string | null>(null);
  const create = useMutation(trpc.conversations.create.mutationOptions());

  const list = assistants.data ?? [];
  const assistant = list.find((a) => a.id === picked) ?? list[0];

  const send = async (content: string) => {
    if (!assistant || create.isPending) return;
    setError(null);
    try {
      const conversation = await create.mutateAsync({ assistantId: assistant.id });
      setPendingSend(conversation.id, content);
      void queryClient.invalidateQueries(trpc.conversations.list.queryFilter());
      router.push(`/chat/${conversation.id}`);
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const starting = create.isPending || create.isSuccess;

  return (
    <div className="flex h-full flex-col">
      <ChatHeader title="New chat">
        {list.length > 1 && <AssistantPicker assistants={list} value={assistant?.id ?? null} onChange={setPicked} />}
      </ChatHeader>
      <div className="min-h-0 flex-1 overflow-y-auto">
        {assistants.isPending ? (
          <div className="mx-auto mt-16 size-12 animate-pulse rounded-full bg-zinc-200 dark:bg-zinc-800" />
        ) : assistants.isError ? (
          <div className="mx-auto max-w-md px-4 py-16">
            <ErrorBanner message={`Couldn’t load assistants: ${assistants.error.message}`} />
          </div>
        ) : !assistant ? (
          <div className="mx-auto max-w-md px-4 py-16 text-center">
            <h1 className="text-lg font-semibold">No assistants yet</h1>
            <p className="mt-2 text-sm text-zinc-500">Create an assistant to start chatting.</p>
          </div>
        ) : (
          <EmptyState assistant={assistant} onStarter={send} disabled={starting} />
        )}
        {error && (
          <div className="mx-auto max-w-3xl px-4">
            <ErrorBanner message={error} onDismiss={() => setError(null)} />
          </div>
        )}
      </div>
      <Composer
        value={draft}
        onChange={setDraft}
        onSend={(content) => void send(content)}
        streaming={false}
        busy={!assistant || starting}
        placeholder={assistant ? `Message ${assistant.name}` : "Send a message"}
        autoFocus
      />
    </div>
  );
}
