"use client";

import { useState } from "react";
import { Markdown } from "@/app/_components/markdown";
import { RefreshIcon } from "@/app/_components/icons";
import type { Citation, Message } from "@/app/_lib/types";
import { CitationDrawer, CitationList, CitedMarkdown } from "./citations";
import { FeedbackButtons } from "./feedback-buttons";
import { MessageMeta } from "./message-meta";

interface Props {
  message: Message;
  streaming: boolean;
  onRegenerate?: () => void;
}

export function AssistantMessage({ message, streaming, onRegenerate }: Props) {
  const empty = message.content.length === 0;
  const citations = message.citations ?? [];
  const [openCitation, setOpenCitation] = useState<Citation | null>(null);
  return (
    <article
      data-testid="message-assistant"
      data-message-id={message.id}
      data-status={message.status}
      aria-busy={streaming || undefined}
      className="group"
    >
      {!(empty && message.status === "error") && (
        <div data-testid="message-content" className="min-h-6">
          {empty && streaming ? (
            <TypingDots />
          ) : empty ? (
            <p className="text-sm italic text-zinc-400">No text was generated.</p>
          ) : citations.length > 0 ? (
            <CitedMarkdown text={message.content} citations={citations} onOpen={setOpenCitation} />
          ) : (
            <Markdown text={message.content} />
          )}
        </div>
      )}
      {message.status === "error" && message.error && (
        <p role="alert" className="mt-2 rounded-md first:mt-0 border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-900/60 dark:bg-red-950/40 dark:text-red-300">
          {message.error}
        </p>
      )}
      {citations.length > 0 && <CitationList citations={citations} onOpen={setOpenCitation} />}
      {openCitation && <CitationDrawer citation={openCitation} onClose={() => setOpenCitation(null)} />}
      <div className="mt-2 flex items-center gap-3">
        <MessageMeta message={message} streaming={streaming} />
        {!streaming && message.status !== "error" && !empty && <FeedbackButtons message={message} />}
        {onRegenerate && !streaming && (
          <button
            type="button"
            data-testid="regenerate-button"
            onClick={onRegenerate}
            className="ml-auto flex items-center gap-1 rounded-md px-1.5 py-0.5 text-xs text-zinc-500 opacity-70 hover:bg-zinc-100 hover:text-zinc-900 group-hover:opacity-100 focus-visible:opacity-100 dark:hover:bg-zinc-800 dark:hover:text-zinc-100"
          >
            <RefreshIcon width={13} height={13} /> Regenerate
          </button>
        )}
      </div>
    </article>
  );
}

export function TypingDots({ label = "Generating" }: { label?: string }) {
  return (
    <span role="status" className="inline-flex h-6 items-center gap-1" aria-label={label}>
      {[0, 150, 300].map((d) => (
        <span key={d} className="size-1.5 animate-bounce rounded-full bg-zinc-400" style={{ animationDelay: `${d}ms` }} />
      ))}
    </span>
  );
}
