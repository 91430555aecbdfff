import type { ChatEvent, ChatInput, Message } from "./types";

/** Client-side state of one conversation: persisted messages plus whatever is streaming in. */
export interface ChatState {
  messages: Message[];
  /** idle: nothing in flight; sending: request sent, no assistant placeholder yet; streaming: tokens arriving. */
  phase: "idle" | "sending" | "streaming";
  /** Id of the assistant message receiving tokens. */
  streamingId: string | null;
  /** Last error to show inline (server message or transport failure). */
  error: string | null;
}

export type ChatAction =
  | { type: "load"; messages: Message[] }
  | { type: "begin"; input: ChatInput; tempId: string; now: number }
  | { type: "event"; event: ChatEvent }
  | { type: "fail"; error: string; aborted: boolean }
  | { type: "finish" }
  | { type: "dismiss-error" };

export const TEMP_PREFIX = "temp:";

export const initialChatState = (messages: Message[] = []): ChatState => ({
  messages,
  phase: "idle",
  streamingId: null,
  error: null,
});

const isTemp = (m: Message) => m.id.startsWith(TEMP_PREFIX);

/** Replace the message with the same id, or append it. */
function upsert(messages: Message[], message: Message): Message[] {
  const i = messages.findIndex((m) => m.id === message.id);
  if (i === -1) return [...messages, message];
  const next = messages.slice();
  next[i] = message;
  return next;
}

/** Keep messages up to and including `id`, replacing it with `message` when given. */
function truncateAfter(messages: Message[], id: string, message?: Message): Message[] | null {
  const i = messages.findIndex((m) => m.id === id);
  if (i === -1) return null;
  const next = messages.slice(0, i + 1);
  if (message) next[i] = message;
  return next;
}

function applyEvent(state: ChatState, event: ChatEvent): ChatState {
  switch (event.type) {
    case "user": {
      const withoutTemp = state.messages.filter((m) => !isTemp(m));
      // Edit/regenerate: the server dropped everything after this user message.
      const messages = truncateAfter(withoutTemp, event.message.id, event.message) ?? [
        ...withoutTemp,
        event.message,
      ];
      return { ...state, messages };
    }
    case "start": {
      const placeholder: Message = {
        ...event.message,
        modelId: event.message.modelId ?? event.model.id,
        modelLabel: event.message.modelLabel ?? event.model.label,
      };
      const messages = [...state.messages.filter((m) => m.id !== placeholder.id), placeholder];
      return { ...state, messages, phase: "streaming", streamingId: placeholder.id };
    }
    case "citations": {
      const id = state.streamingId;
      if (!id) return state;
      return { ...state, messages: state.messages.map((m) => (m.id === id ? { ...m, citations: event.citations } : m)) };
    }
    case "token": {
      if (!state.streamingId || event.text === "") return state;
      const id = state.streamingId;
      return {
        ...state,
        messages: state.messages.map((m) => (m.id === id ? { ...m, content: m.content + event.text } : m)),
      };
    }
    case "done":
      return { ...state, messages: upsert(state.messages, event.message), streamingId: null };
    case "error": {
      // An error attached to a message is shown on that message; only orphan errors go to the banner.
      if (event.message) return { ...state, messages: upsert(state.messages, event.message), streamingId: null };
      return { ...state, streamingId: null, error: event.error };
    }
  }
}

function applyBegin(state: ChatState, input: ChatInput, tempId: string, now: number): ChatState {
  const base = { ...state, phase: "sending" as const, streamingId: null, error: null };
  switch (input.kind) {
    case "send": {
      const conversationId = input.conversationId;
      const optimistic: Message = {
        id: TEMP_PREFIX + tempId,
        conversationId,
        role: "user",
        content: input.content,
        status: "complete",
        error: null,
        modelId: null,
        modelLabel: null,
        promptTokens: null,
        completionTokens: null,
        ttftMs: null,
        durationMs: null,
        tokensPerSecond: null,
        createdAt: now,
      };
      return { ...base, messages: [...state.messages, optimistic] };
    }
    case "edit": {
      const target = state.messages.find((m) => m.id === input.messageId);
      const messages = target
        ? (truncateAfter(state.messages, input.messageId, { ...target, content: input.content }) ?? state.messages)
        : state.messages;
      return { ...base, messages };
    }
    case "regenerate": {
      const i = state.messages.findIndex((m) => m.id === input.messageId);
      return { ...base, messages: i === -1 ? state.messages : state.messages.slice(0, i) };
    }
  }
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case "load":
      // Never clobber an in-flight stream with a (possibly stale) refetch.
      return state.phase === "idle" ? { ...state, messages: action.messages } : state;
    case "begin":
      return applyBegin(state, action.input, action.tempId, action.now);
    case "event":
      return applyEvent(state, action.event);
    case "fail": {
      const messages = state.messages
        .filter((m) => !isTemp(m))
        .map((m): Message => {
          if (m.id !== state.streamingId) return m;
          return action.aborted
            ? { ...m, status: "interrupted" }
            : { ...m, status: "error", error: action.error };
        });
      return {
        ...state,
        messages,
        phase: "idle",
        streamingId: null,
        error: action.aborted ? state.error : action.error,
      };
    }
    case "finish":
      return { ...state, phase: "idle", streamingId: null };
    case "dismiss-error":
      return { ...state, error: null };
  }
}

/** The assistant message that may be regenerated: the last message, when it is the assistant's. */
export function regeneratableId(messages: Message[]): string | null {
  const last = messages[messages.length - 1];
  return last && last.role === "assistant" && !isTemp(last) ? last.id : null;
}
