"use client";

import { useMutation } from "@tanstack/react-query";
import { useState, type KeyboardEvent } from "react";
import { ArrowUpIcon, CloseIcon, StopIcon } from "@/app/_components/icons";
import { Markdown } from "@/app/_components/markdown";
import { errorMessage, formatStats } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import { AssistantAvatar } from "../../chat/_components/assistant-avatar";
import { splitCitations } from "../../chat/_components/citation-markers";
import { forTryIt, type Settings } from "../_lib/draft";
import { useTryIt, type TryMessage } from "./use-try-it";

const chip =
  "rounded-full border border-zinc-200 px-3 py-1 text-xs text-zinc-700 hover:border-zinc-300 hover:bg-zinc-50 disabled:opacity-50 dark:border-zinc-700 dark:text-zinc-300 dark:hover:bg-zinc-800";

function Answer({ m }: { m: TryMessage }) {
  return (
    <div data-testid="try-it-answer" data-status={m.status} className="min-w-0">
      {m.content ? (
        <div className="[&_.md]:text-sm [&_.md]:leading-6" data-testid="try-it-answer-text">
          <Markdown text={m.content} />
        </div>
      ) : m.status === "streaming" ? (
        <span className="inline-flex h-5 items-center gap-1" role="status" aria-label="Generating">
          {[0, 150, 300].map((d) => (
            <span key={d} className="size-1.5 animate-bounce rounded-full bg-zinc-400" style={{ animationDelay: `${d}ms` }} />
          ))}
        </span>
      ) : m.status !== "error" ? (
        <p className="text-xs italic text-zinc-400">No text was generated.</p>
      ) : null}
      {m.sources && m.sources.length > 0 && <TrySources text={m.content} sources={m.sources} streaming={m.status === "streaming"} />}
      {m.error && <p role="alert" className="mt-1 rounded-md bg-red-50 px-2 py-1 text-xs text-red-800 dark:bg-red-950/40 dark:text-red-300">{m.error}</p>}
      <p className="mt-1 text-[11px] text-zinc-400">
        {[m.modelLabel, m.status === "interrupted" ? "stopped" : null, m.stats ? formatStats({ tokensPerSecond: m.stats.tokensPerSecond, ttftMs: m.stats.ttftMs, completionTokens: m.stats.completionTokens }) : null, m.stats ? `${m.stats.promptTokens} prompt tokens` : null]
          .filter(Boolean)
          .join(" · ")}
      </p>
    </div>
  );
}

/** The sources under a Try it answer: cited ones as used, the rest as retrieved but not cited. */
function TrySources({ text, sources, streaming }: { text: string; sources: NonNullable<TryMessage["sources"]>; streaming: boolean }) {
  const { used, uncited } = splitCitations(text, sources);
  const line = (s: (typeof sources)[number]) => `[${s.n}] ${s.title}${s.heading ? ` — ${s.heading}` : ""}`;
  return (
    <div data-testid="try-it-sources" data-used={used.length} data-uncited={uncited.length} className="mt-1 space-y-0.5 text-[11px] text-zinc-500">
      {used.length > 0 && (
        <>
          <p className="font-medium">Cited</p>
          <ul data-testid="try-it-sources-used">
            {used.map((s) => (
              <li key={s.n}>{line(s)}</li>
            ))}
          </ul>
        </>
      )}
      {uncited.length > 0 && !streaming && (
        <details data-testid="try-it-sources-uncited">
          <summary className="cursor-pointer select-none text-zinc-400">
            {used.length === 0 ? "No source cited · " : ""}
            {uncited.length} retrieved, not cited
          </summary>
          <ul>
            {uncited.map((s) => (
              <li key={s.n}>{line(s)}</li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

/** "Try it": chat with the unsaved settings; nothing is stored. */
export function TryItPanel({ draft }: { draft: Settings }) {
  const trpc = useTRPC();
  const chat = useTryIt();
  const [input, setInput] = useState("");
  const preview = useMutation(trpc.assistants.previewPrompt.mutationOptions());
  const [showPrompt, setShowPrompt] = useState(false);

  const send = (text: string) => {
    const content = text.trim();
    if (!content || chat.busy) return;
    setInput("");
    void chat.send(content, forTryIt(draft));
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send(input);
    }
  };
  const viewPrompt = () => {
    setShowPrompt(true);
    preview.mutate({ draft: forTryIt(draft), messages: chat.historyFor(input.trim() || "…") });
  };

  return (
    <section aria-label="Try it" data-testid="try-it-panel" className="flex h-full min-h-0 flex-col">
      <header className="flex items-center gap-2 border-b border-zinc-200 px-4 py-2.5 dark:border-zinc-800">
        <div className="min-w-0 flex-1">
          <h2 className="text-sm font-semibold">Try it</h2>
          <p className="truncate text-xs text-zinc-500">Unsaved settings included · nothing is stored</p>
        </div>
        <button type="button" onClick={viewPrompt} className="rounded-md px-2 py-1 text-xs font-medium text-zinc-600 hover:bg-zinc-100 dark:text-zinc-400 dark:hover:bg-zinc-800" data-testid="try-it-view-prompt">
          View prompt
        </button>
        <button type="button" onClick={chat.clear} disabled={chat.messages.length === 0} className="rounded-md px-2 py-1 text-xs font-medium text-zinc-600 hover:bg-zinc-100 disabled:opacity-40 dark:text-zinc-400 dark:hover:bg-zinc-800">
          Clear
        </button>
      </header>

      {showPrompt && (
        <div className="border-b border-zinc-200 bg-zinc-50 px-4 py-3 dark:border-zinc-800 dark:bg-zinc-900" data-testid="try-it-prompt">
          <div className="flex items-center justify-between text-xs text-zinc-500">
            <span>
              {preview.isPending ? "Rendering…" : preview.data ? `What ${preview.data.model.label} sees · ${preview.data.tokens} tokens` : "Prompt"}
            </span>
            <button type="button" aria-label="Close prompt" onClick={() => setShowPrompt(false)} className="rounded p-1 hover:bg-zinc-200 dark:hover:bg-zinc-800">
              <CloseIcon width={12} height={12} />
            </button>
          </div>
          {preview.isError && <p className="mt-1 text-xs text-red-600">{errorMessage(preview.error)}</p>}
          {preview.data && <pre className="mt-2 max-h-56 overflow-auto whitespace-pre-wrap rounded-md bg-white p-2 font-mono text-[11px] leading-4 dark:bg-zinc-950">{preview.data.text}</pre>}
        </div>
      )}

      <div className="min-h-0 flex-1 space-y-4 overflow-y-auto px-4 py-4" aria-live="polite">
        <div className="flex gap-2.5">
          <AssistantAvatar name={draft.name || "A"} color={draft.color} avatar={draft.avatar} size="md" />
          <p className="min-w-0 whitespace-pre-wrap pt-1 text-sm text-zinc-700 dark:text-zinc-300" data-testid="try-it-greeting">
            {draft.greeting?.trim() || "How can I help?"}
          </p>
        </div>
        {chat.messages.length === 0 && (draft.starterQuestions ?? []).some((q) => q.trim()) && (
          <div className="flex flex-wrap gap-2 pl-9">
            {(draft.starterQuestions ?? []).filter((q) => q.trim()).map((q, i) => (
              <button key={i} type="button" className={chip} onClick={() => send(q)}>
                {q}
              </button>
            ))}
          </div>
        )}
        {chat.messages.map((m) =>
          m.role === "user" ? (
            <div key={m.id} className="flex justify-end">
              <p className="max-w-[85%] whitespace-pre-wrap rounded-2xl bg-zinc-100 px-3 py-2 text-sm dark:bg-zinc-800" data-testid="try-it-user">
                {m.content}
              </p>
            </div>
          ) : (
            <div key={m.id} className="flex gap-2.5">
              <AssistantAvatar name={draft.name || "A"} color={draft.color} avatar={draft.avatar} size="md" />
              <Answer m={m} />
            </div>
          ),
        )}
      </div>

      <form
        className="border-t border-zinc-200 p-3 dark:border-zinc-800"
        onSubmit={(e) => {
          e.preventDefault();
          send(input);
        }}
      >
        <div className="flex items-end gap-2 rounded-xl border border-zinc-200 bg-white p-1.5 focus-within:border-accent-500 focus-within:ring-2 focus-within:ring-accent-500/20 dark:border-zinc-700 dark:bg-zinc-900">
          <textarea
            aria-label="Try a message"
            data-testid="try-it-input"
            rows={2}
            value={input}
            onChange={(e) => setInput(e.target.value)}
            onKeyDown={onKeyDown}
            placeholder="Ask something to test these settings"
            className="min-h-10 flex-1 resize-none bg-transparent px-2 py-1 text-sm placeholder:text-zinc-400 focus:outline-none"
          />
          {chat.busy ? (
            <button type="button" onClick={chat.stop} aria-label="Stop" data-testid="try-it-stop" className="grid size-8 place-items-center rounded-lg bg-zinc-900 text-white dark:bg-zinc-100 dark:text-zinc-900">
              <StopIcon width={14} height={14} />
            </button>
          ) : (
            <button type="submit" aria-label="Send" data-testid="try-it-send" disabled={!input.trim()} className="grid size-8 place-items-center rounded-lg bg-accent-600 text-white hover:bg-accent-700 disabled:opacity-40">
              <ArrowUpIcon width={14} height={14} />
            </button>
          )}
        </div>
      </form>
    </section>
  );
}
