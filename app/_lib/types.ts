/**
 * UI-side view of the API contract. Kept structural (not imported from the server) so pure UI
 * logic and its unit tests don't depend on server code; the tRPC-inferred types must stay
 * assignable to these (tsc checks that wherever query data flows into UI helpers).
 */
export type MessageRole = "user" | "assistant";
export type MessageStatus = "complete" | "streaming" | "interrupted" | "error";

export interface Message {
  id: string;
  conversationId: string;
  role: MessageRole;
  content: string;
  status: MessageStatus;
  error: string | null;
  modelId: string | null;
  modelLabel: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  ttftMs: number | null;
  durationMs: number | null;
  tokensPerSecond: number | null;
  /** Knowledge passages the answer was given, numbered as the model cites them: [n]. */
  citations?: Citation[] | null;
  /** The reader's rating (1 up, -1 down) and optional words. */
  feedback?: number | null;
  feedbackComment?: string | null;
  createdAt: number;
}

export interface Citation {
  n: number;
  documentId: string;
  documentTitle: string;
  chunkId: number;
  heading: string | null;
  excerpt: string;
}

export interface Assistant {
  id: string;
  name: string;
  systemPrompt: string;
  greeting: string | null;
  starterQuestions: string[];
  color: string;
  /** Emoji or short text shown in the avatar (the initial when null). */
  avatar: string | null;
  modelId: string | null;
  modelLabel: string | null;
  createdAt: number;
  updatedAt: number;
}

export type ChatEvent =
  | { type: "user"; message: Message }
  | { type: "start"; message: Message; model: { id: string; label: string } }
  | { type: "citations"; citations: Citation[] }
  | { type: "token"; text: string }
  | { type: "done"; message: Message }
  | { type: "error"; message: Message | null; error: string };

export type ChatInput =
  | { kind: "send"; conversationId: string; content: string }
  | { kind: "regenerate"; conversationId: string; messageId: string }
  | { kind: "edit"; conversationId: string; messageId: string; content: string };

export const MAX_MESSAGE_CHARS = 32_000;
