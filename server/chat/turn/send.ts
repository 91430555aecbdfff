import "server-only";
import { eq, max } from "drizzle-orm";
import { z } from "zod";
import { getAssistant } from "../../assistants";
import type { AtelierDb } from "../../db/client";
import { conversations, messages, type MessageCitation, type MessageRow, type SamplingSettings } from "../../db/schema";
import { env } from "../../env";
import { AtelierError, publicError } from "../../errors";
import { newId } from "../../ids";
import type { Turn } from "../../llm/generate";
import { isInterruptedAnswer } from "../../nodes";
import { NEW_CHAT_TITLE, getConversation, listMessages, recentMessages, truncateFrom } from "../conversations";
import { generateTurn, prepareTurn, type PreparedTurn } from "./answer";
import { armFor } from "./arms";
import { assistantTurnConfig, type TurnConfig } from "./config";
import { knowledgeRevision, personaRevision } from "./revision";
import { getModelRow } from "../../models";
import { sequenceContextSize } from "../../llm/tuning";

/*
 * The stored chat turn (console, widget, API): the user's message is on disk before anything is
 * generated, the answer is written as it grows, and it ends complete, interrupted or error.
 */

export const sendInput = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("send"), conversationId: z.string().min(1), content: z.string() }),
  z.object({ kind: z.literal("regenerate"), conversationId: z.string().min(1), messageId: z.string().min(1) }),
  z.object({ kind: z.literal("edit"), conversationId: z.string().min(1), messageId: z.string().min(1), content: z.string() }),
]);
export type SendInput = z.infer<typeof sendInput>;

export type ChatEvent =
  | { type: "user"; message: MessageRow }
  | { type: "start"; message: MessageRow; model: { id: string; label: string } }
  | { type: "citations"; citations: MessageCitation[] }
  | { type: "token"; text: string }
  | { type: "done"; message: MessageRow; stopReason: string }
  /** `reason`: the AtelierError's reason when there is one (e.g. "context_length_exceeded"). */
  | { type: "error"; message: MessageRow | null; error: string; reason?: string };

/** Per-request changes to the assistant's sampling (the OpenAI API's parameters), within its limits. */
export type TurnOverrides = { sampling?: Partial<SamplingSettings>; stop?: string[]; seed?: number };

/** How often partial answers are written to SQLite, so a crash loses at most this much text. */
const PERSIST_EVERY_MS = 250;
/** Streamed text is batched to at most one chunk per frame (60 Hz): smooth to read, a fraction of the HTTP work. */
const STREAM_EVERY_MS = 16;

export function validateContent(content: string): string {
  const max = env().ATELIER_MAX_MESSAGE_CHARS;
  if (content.trim().length === 0) throw new AtelierError("bad_request:chat", "The message is empty.");
  if (content.length > max) {
    throw new AtelierError(
      "too_large:chat",
      `The message is ${content.length.toLocaleString("en")} characters long; the limit is ${max.toLocaleString("en")}.`,
    );
  }
  return content;
}

const titleFrom = (content: string) => content.trim().replace(/\s+/g, " ").slice(0, 60);

function nextPosition(db: AtelierDb, conversationId: string): number {
  const row = db.select({ p: max(messages.position) }).from(messages).where(eq(messages.conversationId, conversationId)).get();
  return (row?.p ?? -1) + 1;
}

/** Persists the user's side of the request before anything is generated; returns the user message. */
function prepare(db: AtelierDb, input: SendInput): MessageRow {
  const conversation = getConversation(db, input.conversationId);
  if (input.kind === "send") {
    const content = validateContent(input.content);
    return db.transaction((tx) => {
      const position = nextPosition(tx as unknown as AtelierDb, conversation.id);
      const user = tx
        .insert(messages)
        .values({ id: newId(), conversationId: conversation.id, position, role: "user", content, status: "complete" })
        .returning()
        .get();
      const title = conversation.title === NEW_CHAT_TITLE ? titleFrom(content) : conversation.title;
      tx.update(conversations).set({ title, updatedAt: Date.now() }).where(eq(conversations.id, conversation.id)).run();
      return user;
    });
  }
  const history = listMessages(db, conversation.id);
  const target = history.find((m) => m.id === input.messageId);
  if (!target) throw new AtelierError("not_found:chat", `Message ${input.messageId} does not exist in this conversation.`);
  if (input.kind === "regenerate") {
    if (target.role !== "assistant") throw new AtelierError("bad_request:chat", "Only an assistant message can be regenerated.");
    const user = [...history].reverse().find((m) => m.role === "user" && m.position < target.position);
    if (!user) throw new AtelierError("bad_request:chat", "There is no user message to answer.");
    truncateFrom(db, conversation.id, target.position);
    return user;
  }
  if (target.role !== "user") throw new AtelierError("bad_request:chat", "Only a user message can be edited.");
  const content = validateContent(input.content);
  return db.transaction((tx) => {
    truncateFrom(tx as unknown as AtelierDb, conversation.id, target.position + 1);
    const user = tx.update(messages).set({ content }).where(eq(messages.id, target.id)).returning().get();
    // A title derived from the first message follows its edits; a title the user chose stays.
    const title = conversation.title === titleFrom(target.content) ? titleFrom(content) : conversation.title;
    tx.update(conversations).set({ title, updatedAt: Date.now() }).where(eq(conversations.id, conversation.id)).run();
    return user;
  });
}

/** A model token holds at most this many characters, for reading history: beyond it, the turns could not fit anyway. */
const MAX_CHARS_PER_TOKEN = 64;

/**
 * How much stored history to read for a turn: the persona's history window (plus the new message),
 * and no more characters than the model's context could take at MAX_CHARS_PER_TOKEN.
 */
function historyBounds(db: AtelierDb, config: TurnConfig): { maxRows: number; maxChars: number } {
  let contextLength: number | null = null;
  try {
    contextLength = config.modelId ? getModelRow(db, config.modelId).contextLength : null;
  } catch {
    contextLength = null; // no model: prepareTurn reports it
  }
  const window = config.persona.historyWindow;
  return { maxRows: window > 0 ? window + 1 : Number.POSITIVE_INFINITY, maxChars: sequenceContextSize(contextLength) * MAX_CHARS_PER_TOKEN };
}

/** Any answer still "streaming" belongs to a process that died: its partial text is kept, marked interrupted. */
export function markInterruptedAnswers(db: AtelierDb): void {
  db.update(messages)
    .set({ status: "interrupted", error: "The server stopped while this answer was being generated." })
    .where(eq(messages.status, "streaming"))
    .run();
}

/**
 * One chat turn: persist the user message, stream the assistant's answer, persist it as it
 * grows, and finish it as complete, interrupted (stop / disconnect) or error.
 */
export async function* sendChat(db: AtelierDb, input: SendInput, signal?: AbortSignal, overrides: TurnOverrides = {}): AsyncGenerator<ChatEvent> {
  const user = prepare(db, input);
  yield { type: "user", message: user };

  const conversation = getConversation(db, input.conversationId);
  const assistant = getAssistant(db, conversation.assistantId);
  // In an experiment, the conversation's arm decides the model version (sticky per conversation or visitor).
  const arm = armFor(db, conversation);
  const saved = { ...assistantTurnConfig(db, assistant), ...(arm ? { modelId: arm.modelId } : {}) };
  const turns: Turn[] = recentMessages(db, conversation.id, user.position, historyBounds(db, saved)).map((m) => ({ role: m.role, content: m.content }));

  const config = {
    ...saved,
    persona: { ...saved.persona, sampling: { ...saved.persona.sampling, ...overrides.sampling } },
    ...(overrides.stop?.length ? { stop: overrides.stop } : {}),
    ...(overrides.seed !== undefined ? { seed: overrides.seed } : {}),
  };
  let turn: PreparedTurn | null = null;
  let setupError: AtelierError | null = null;
  try {
    turn = await prepareTurn(db, config, turns);
  } catch (err) {
    setupError = publicError(err, "chat");
  }
  const knowledge = turn?.knowledge;
  const placeholder = db
    .insert(messages)
    .values({
      id: newId(),
      conversationId: conversation.id,
      position: user.position + 1,
      role: "assistant",
      content: "",
      status: turn ? "streaming" : "error",
      error: setupError?.message ?? null,
      modelId: turn?.model.id ?? null,
      modelLabel: turn?.model.label ?? "no model",
      citations: knowledge?.citations.length ? knowledge.citations : null,
      personaRevision: personaRevision(config),
      knowledgeRevision: knowledgeRevision(db, config.collectionIds),
      regenerated: input.kind === "regenerate",
      experimentArmId: arm?.armId ?? null,
    })
    .returning()
    .get();
  if (!turn) {
    yield { type: "error", message: placeholder, error: setupError?.message ?? "No model.", reason: setupError?.reason };
    return;
  }
  yield { type: "start", message: placeholder, model: { id: turn.model.spec.id, label: turn.model.label } };
  if (knowledge?.citations.length) yield { type: "citations", citations: knowledge.citations };

  let text = "";
  let lastPersist = Date.now();
  let lastYield = 0;
  let pending = "";
  let finished = false;
  const persist = (patch: Partial<MessageRow>) =>
    db.update(messages).set(patch).where(eq(messages.id, placeholder.id)).returning().get();
  try {
    for await (const ev of generateTurn(turn, { signal, affinity: conversation.id })) {
      if (ev.type === "text") {
        text += ev.text;
        pending += ev.text;
        // The first text goes out at once (time to first token); later text at most every
        // STREAM_EVERY_MS, so a fast model costs a few HTTP chunks per frame, not one per token.
        const t = performance.now();
        if (t - lastYield >= STREAM_EVERY_MS) {
          yield { type: "token", text: pending };
          pending = "";
          lastYield = t;
        }
        if (Date.now() - lastPersist >= PERSIST_EVERY_MS) {
          persist({ content: text });
          lastPersist = Date.now();
        }
        continue;
      }
      if (pending) {
        yield { type: "token", text: pending };
        pending = "";
      }
      finished = true;
      const final = persist({
        content: ev.text,
        status: ev.aborted ? "interrupted" : "complete",
        error: ev.aborted ? "Stopped before the answer was complete." : null,
        promptTokens: ev.stats.promptTokens,
        completionTokens: ev.stats.completionTokens,
        ttftMs: ev.stats.ttftMs,
        durationMs: ev.stats.durationMs,
        tokensPerSecond: ev.stats.tokensPerSecond,
      });
      db.update(conversations).set({ updatedAt: Date.now() }).where(eq(conversations.id, conversation.id)).run();
      yield { type: "done", message: final, stopReason: ev.stats.stopReason };
    }
  } catch (err) {
    finished = true;
    const aborted = signal?.aborted === true;
    const failure = aborted ? null : publicError(err, "chat");
    // A node's stream cut after part of the answer: kept and marked interrupted, like a local stop.
    const cut = isInterruptedAnswer(err);
    const final = persist({
      content: text,
      status: aborted || cut ? "interrupted" : "error",
      error: failure?.message ?? "Stopped before the answer was complete.",
    });
    yield { type: "error", message: final, error: final.error ?? "Generation failed.", reason: failure?.reason };
  } finally {
    // The consumer went away (disconnect) before the end: keep the partial text.
    if (!finished) persist({ content: text, status: "interrupted", error: "The connection closed before the answer was complete." });
  }
}
