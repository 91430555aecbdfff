"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import { errorMessage, isAbortError } from "@/app/_lib/format";
import { useTRPCClient, type RouterOutputs } from "@/app/_lib/trpc";
import type { TryItDraft } from "../_lib/draft";

type DoneEvent = Extract<Awaited<RouterOutputs["assistants"]["tryIt"]> extends AsyncIterable<infer E> ? E : never, { type: "done" }>;

export type TryMessage = {
  id: number;
  role: "user" | "assistant";
  content: string;
  status: "streaming" | "complete" | "interrupted" | "error";
  error?: string;
  modelLabel?: string;
  stats?: DoneEvent["stats"];
  /** Titles of the knowledge passages given to the model, numbered as the model cites them. */
  sources?: { n: number; title: string; heading: string | null }[];
};

let nextId = 0;

/** A throwaway conversation with the unsaved settings: nothing reaches the database. */
export function useTryIt() {
  const client = useTRPCClient();
  const [messages, setMessages] = useState<TryMessage[]>([]);
  const abortRef = useRef<AbortController | null>(null);
  const busy = messages.some((m) => m.status === "streaming");

  useEffect(() => () => abortRef.current?.abort(), []);

  const patch = (id: number, change: Partial<TryMessage> | ((m: TryMessage) => Partial<TryMessage>)) =>
    setMessages((list) => list.map((m) => (m.id === id ? { ...m, ...(typeof change === "function" ? change(m) : change) } : m)));

  const send = useCallback(
    async (content: string, draft: TryItDraft) => {
      if (abortRef.current) return;
      const controller = new AbortController();
      abortRef.current = controller;
      const user: TryMessage = { id: ++nextId, role: "user", content, status: "complete" };
      const answer: TryMessage = { id: ++nextId, role: "assistant", content: "", status: "streaming" };
      // Earlier answers that failed or came out empty are not part of the conversation the model sees.
      const history = [...messages.filter((m) => m.content.length > 0 && m.status !== "error"), user].map(({ role, content }) => ({ role, content }));
      setMessages((list) => [...list, user, answer]);
      try {
        const stream = await client.assistants.tryIt.mutate({ draft, messages: history }, { signal: controller.signal });
        for await (const ev of stream) {
          if (ev.type === "start") patch(answer.id, { modelLabel: ev.model.label });
          else if (ev.type === "token") patch(answer.id, (m) => ({ content: m.content + ev.text }));
          else if (ev.type === "citations") patch(answer.id, { sources: ev.citations.map((c) => ({ n: c.n, title: c.documentTitle, heading: c.heading })) });
          else patch(answer.id, { content: ev.text, status: ev.aborted ? "interrupted" : "complete", stats: ev.stats });
        }
        patch(answer.id, (m) => (m.status === "streaming" ? { status: controller.signal.aborted ? "interrupted" : "complete" } : {}));
      } catch (e) {
        const aborted = isAbortError(e, controller.signal);
        patch(answer.id, aborted ? { status: "interrupted" } : { status: "error", error: errorMessage(e) });
      } finally {
        abortRef.current = null;
      }
    },
    [client, messages],
  );

  const stop = useCallback(() => abortRef.current?.abort(), []);
  const clear = useCallback(() => {
    abortRef.current?.abort();
    setMessages([]);
  }, []);

  /** The conversation as the next request would send it (for "View prompt"). */
  const historyFor = (next: string) => [
    ...messages.filter((m) => m.content.length > 0 && m.status !== "error").map(({ role, content }) => ({ role, content })),
    { role: "user" as const, content: next },
  ];

  return { messages, busy, send, stop, clear, historyFor };
}
