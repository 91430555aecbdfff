"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useReducer, useRef } from "react";
import { chatReducer, initialChatState } from "@/app/_lib/chat-state";
import { errorMessage, isAbortError } from "@/app/_lib/format";
import { useTRPC, useTRPCClient } from "@/app/_lib/trpc";
import type { ChatInput, Message } from "@/app/_lib/types";

export interface RunResult {
  /** The server persisted the user message (so a failed send needn't restore the draft). */
  userPersisted: boolean;
  aborted: boolean;
  error: string | null;
}

let tempCounter = 0;

/** Streams chat.send for one conversation on top of the persisted messages. */
export function useChat(conversationId: string, serverMessages: Message[] | undefined) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const [state, dispatch] = useReducer(chatReducer, serverMessages ?? [], initialChatState);
  const abortRef = useRef<AbortController | null>(null);

  useEffect(() => {
    if (serverMessages) dispatch({ type: "load", messages: serverMessages });
  }, [serverMessages]);

  // Leaving the page stops the generation; the server keeps the partial text as "interrupted".
  useEffect(() => () => abortRef.current?.abort(), []);

  const refresh = useCallback(
    (delayMs = 0) => {
      const run = () => {
        void queryClient.invalidateQueries(trpc.conversations.get.queryFilter({ id: conversationId }));
        void queryClient.invalidateQueries(trpc.conversations.list.queryFilter());
      };
      if (delayMs) setTimeout(run, delayMs);
      else run();
    },
    [queryClient, trpc, conversationId],
  );

  const run = useCallback(
    async (input: ChatInput): Promise<RunResult> => {
      if (abortRef.current) return { userPersisted: false, aborted: false, error: "A reply is already streaming." };
      const controller = new AbortController();
      abortRef.current = controller;
      dispatch({ type: "begin", input, tempId: `${Date.now()}-${++tempCounter}`, now: Date.now() });
      const result: RunResult = { userPersisted: input.kind !== "send", aborted: false, error: null };
      try {
        const stream = await client.chat.send.mutate(input, { signal: controller.signal });
        for await (const event of stream) {
          if (event.type === "user") {
            result.userPersisted = true;
            refresh(); // title and sidebar preview change as soon as the message is stored
          }
          if (event.type === "error") result.error = event.error;
          dispatch({ type: "event", event });
        }
        if (controller.signal.aborted) {
          result.aborted = true;
          dispatch({ type: "fail", error: "Stopped", aborted: true });
        } else {
          dispatch({ type: "finish" });
        }
      } catch (e) {
        result.aborted = isAbortError(e, controller.signal);
        result.error = result.aborted ? null : errorMessage(e);
        dispatch({ type: "fail", error: result.error ?? "Stopped", aborted: result.aborted });
      } finally {
        abortRef.current = null;
        // After a stop, give the server a moment to persist the "interrupted" state.
        refresh(result.aborted ? 800 : 0);
      }
      return result;
    },
    [client, refresh],
  );

  const stop = useCallback(() => abortRef.current?.abort(), []);
  const dismissError = useCallback(() => dispatch({ type: "dismiss-error" }), []);

  return { ...state, busy: state.phase !== "idle", run, stop, dismissError };
}
