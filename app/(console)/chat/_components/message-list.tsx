"use client";

import { ChevronDownIcon } from "@/app/_components/icons";
import { TEMP_PREFIX, regeneratableId } from "@/app/_lib/chat-state";
import { useAutoScroll } from "@/app/_lib/use-auto-scroll";
import type { Message } from "@/app/_lib/types";
import type { ReactNode } from "react";
import { AssistantMessage, TypingDots } from "./assistant-message";
import { UserMessage } from "./user-message";

interface Props {
  messages: Message[];
  streamingId: string | null;
  busy: boolean;
  /** Request sent, no reply placeholder yet (e.g. the model is loading). */
  waiting?: boolean;
  onRegenerate: (messageId: string) => void;
  onEdit: (messageId: string, content: string) => void;
  /** Rendered after the messages (inline errors). */
  footer?: ReactNode;
  /** The assistant's greeting, shown as the conversation's first assistant bubble. */
  greeting?: string | null;
}

export function MessageList({ messages, streamingId, busy, waiting, onRegenerate, onEdit, footer, greeting }: Props) {
  const lastContentLength = messages[messages.length - 1]?.content.length ?? 0;
  const { ref, onScroll, atBottom, scrollToBottom } = useAutoScroll<HTMLDivElement>(
    `${messages.length}:${lastContentLength}:${footer ? 1 : 0}:${waiting ? 1 : 0}`,
  );
  const regenId = busy ? null : regeneratableId(messages);

  return (
    <div className="relative min-h-0 flex-1">
      <div ref={ref} onScroll={onScroll} className="h-full overflow-y-auto">
        <div
          role="log"
          aria-live="polite"
          aria-label="Messages"
          data-testid="message-list"
          className="mx-auto flex max-w-3xl flex-col gap-6 px-4 py-6"
        >
          {greeting && (
            <div data-testid="greeting-message" className="text-[15px] leading-7 whitespace-pre-wrap text-zinc-700 dark:text-zinc-300">
              {greeting}
            </div>
          )}
          {messages.map((m) =>
            m.role === "user" ? (
              <UserMessage
                key={m.id}
                message={m}
                onEdit={busy || m.id.startsWith(TEMP_PREFIX) ? undefined : (content) => onEdit(m.id, content)}
              />
            ) : (
              <AssistantMessage
                key={m.id}
                message={m}
                streaming={m.id === streamingId}
                onRegenerate={m.id === regenId ? () => onRegenerate(m.id) : undefined}
              />
            ),
          )}
          {waiting && <TypingDots label="Waiting for the model" />}
          {footer}
        </div>
      </div>
      {!atBottom && (
        <button
          type="button"
          onClick={() => scrollToBottom("smooth")}
          className="absolute bottom-3 left-1/2 flex -translate-x-1/2 items-center gap-1 rounded-full border border-zinc-200 bg-white px-3 py-1 text-xs text-zinc-600 shadow-sm hover:bg-zinc-50 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-300"
        >
          <ChevronDownIcon width={14} height={14} /> Jump to latest
        </button>
      )}
    </div>
  );
}
