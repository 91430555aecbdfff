import "server-only";
import { z } from "zod";
import { sendChat } from "../../chat";
import type { AtelierDb } from "../../db/client";
import { conversations, messages } from "../../db/schema";
import { env } from "../../env";
import { newId } from "../../ids";
import { consume, DAY, MINUTE } from "../quota";
import type { ApiPrincipal } from "./auth";
import { AtelierError } from "../../errors";
import { invalidRequest } from "./errors";

const textPart = z.object({ type: z.literal("text"), text: z.string() });
const message = z.object({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: z.union([z.string(), z.array(textPart), z.null()]).optional(),
});
export const completionBody = z.object({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
});
export type CompletionBody = z.infer<typeof completionBody>;

export function parseCompletionBody(raw: unknown): CompletionBody {
  const parsed = completionBody.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalidRequest(`Invalid request: ${issue.path.join(".") || "body"}: ${issue.message}`, issue.path.join(".") || undefined);
  }
  return parsed.data;
}

const textOf = (m: z.infer<typeof message>) => (typeof m.content === "string" ? m.content : (m.content ?? []).map((p) => p.text).join(""));

export type CompletionEvent = { type: "token"; text: string } | { type: "done"; text: string; promptTokens: number; completionTokens: number; finishReason: "stop" | "length" };

/**
 * Runs one completion through the console's chat path (persona, model version, knowledge and history
 * window all apply), recorded as an "api" conversation. The client's system messages are ignored:
 * the assistant's own persona is what the owner deployed.
 */
export function startCompletion(db: AtelierDb, who: ApiPrincipal, body: CompletionBody, ip: string | null, signal?: AbortSignal): AsyncGenerator<CompletionEvent> {
  if (body.model !== who.deployment.publicId) {
    throw new AtelierError("not_found:api", `The model '${body.model}' does not exist or this key may not use it; see GET /v1/models.`, { reason: "model_not_found", param: "model" });
  }
  const turns = body.messages.filter((m) => m.role === "user" || m.role === "assistant").map((m) => ({ role: m.role as "user" | "assistant", content: textOf(m) }));
  const last = turns.at(-1);
  if (!last || last.role !== "user") throw invalidRequest("The last message must come from the user.", "messages");
  if (turns.length > env().ATELIER_API_MAX_MESSAGES) throw invalidRequest(`Too many messages (${turns.length}); the limit is ${env().ATELIER_API_MAX_MESSAGES}.`, "messages");
  const max = env().ATELIER_WIDGET_MAX_MESSAGE_CHARS;
  if (last.content.trim().length === 0) throw invalidRequest("The last user message is empty.", "messages");
  if (last.content.length > max) throw invalidRequest(`The last user message is ${last.content.length} characters long; the limit is ${max}.`, "messages", "string_above_max_length");

  const d = who.deployment;
  const quota = consume(db, [
    { scope: "ip-minute", subject: `${d.publicId}|api|${ip ?? "unknown"}`, windowMs: MINUTE, limit: d.ipPerMinuteLimit, message: "Rate limit reached: too many requests per minute from this address." },
    { scope: "assistant-day", subject: d.publicId, windowMs: DAY, limit: d.dailyLimit, message: "This assistant's daily message quota is used up; try again tomorrow." },
  ]);
  if (!quota.ok) throw new AtelierError("rate_limit:api", quota.message, { reason: "rate_limit_exceeded", retryAfterSec: quota.retryAfterSec });

  const conversation = db.transaction((tx) => {
    const conv = tx
      .insert(conversations)
      .values({ id: newId(), assistantId: who.assistant.id, title: last.content.trim().replace(/\s+/g, " ").slice(0, 60), channel: "api", visitorId: `key:${who.key.prefix}` })
      .returning()
      .get();
    const earlier = turns.slice(0, -1);
    if (earlier.length) {
      tx.insert(messages)
        .values(earlier.map((t, position) => ({ id: newId(), conversationId: conv.id, position, role: t.role, content: t.content, status: "complete" as const })))
        .run();
    }
    return conv;
  });
  const maxTokens = Math.min(who.assistant.sampling.maxTokens, env().ATELIER_MAX_TOKENS);
  return relay(db, conversation.id, last.content, maxTokens, signal);
}

async function* relay(db: AtelierDb, conversationId: string, content: string, maxTokens: number, signal?: AbortSignal): AsyncGenerator<CompletionEvent> {
  for await (const ev of sendChat(db, { kind: "send", conversationId, content }, signal)) {
    if (ev.type === "token") yield { type: "token", text: ev.text };
    else if (ev.type === "done") {
      const completionTokens = ev.message.completionTokens ?? 0;
      yield {
        type: "done",
        text: ev.message.content,
        promptTokens: ev.message.promptTokens ?? 0,
        completionTokens,
        finishReason: completionTokens >= maxTokens ? "length" : "stop",
      };
    } else if (ev.type === "error") {
      console.error(`[openai] completion failed in ${conversationId}: ${ev.error}`);
      throw new AtelierError("unavailable:api", "The assistant could not answer right now; try again later.", { reason: "engine_unavailable" });
    }
  }
}
