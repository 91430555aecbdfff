import "server-only";
import { sql } from "drizzle-orm";
import { z } from "zod";
import { sendChat, type TurnOverrides } from "../../chat";
import type { AtelierDb } from "../../db/client";
import { conversations, messages } from "../../db/schema";
import { env } from "../../env";
import { newId } from "../../ids";
import { consume, DAY, MINUTE } from "../quota";
import type { ApiPrincipal } from "./auth";
import { AtelierError } from "../../errors";
import { invalidRequest } from "./errors";

/*
 * POST /v1/chat/completions: which request parameters Atelier honours, clamps or refuses (the
 * README's table says the same). Honoured: model, messages, stream, stream_options.include_usage,
 * max_tokens / max_completion_tokens (clamped to the assistant's own cap), stop (up to 4),
 * temperature and top_p (within the ranges an assistant's settings allow), seed. Refused with a
 * 400 naming the parameter: n > 1, tools / functions, logprobs, a response_format other than
 * text, values out of range. Accepted and ignored: user, presence_penalty, frequency_penalty,
 * logit_bias, metadata, store, parallel_tool_calls and any other field.
 */

const textPart = z.object({ type: z.literal("text"), text: z.string() });
const message = z.object({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: z.union([z.string(), z.array(textPart).max(256), z.null()]).optional(),
});

const positiveInt = (name: string) => z.number().int(`${name} must be a whole number.`).min(1, `${name} must be at least 1.`);
/** Present and non-empty: a feature of OpenAI's API Atelier's assistants do not have. */
const unsupported = (name: string) =>
  z
    .unknown()
    .refine((v) => v === undefined || v === null || v === false || (Array.isArray(v) && v.length === 0), { message: `${name} is not supported by Atelier's assistants.` })
    .optional();

export const completionBody = z.object({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: positiveInt("max_tokens").nullish(),
  max_completion_tokens: positiveInt("max_completion_tokens").nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4, "stop takes at most 4 sequences.")]).nullish(),
  // The ranges an assistant's own sampling settings allow (server/assistants/settings.ts).
  temperature: z.number().min(0, "temperature must be between 0 and 2.").max(2, "temperature must be between 0 and 2.").nullish(),
  top_p: z.number().gt(0, "top_p must be greater than 0 and at most 1.").max(1, "top_p must be greater than 0 and at most 1.").nullish(),
  seed: z.number().int().min(-(2 ** 53)).max(2 ** 53).nullish(),
  n: z.number().int().min(1).max(1, "n must be 1: Atelier returns one choice per request.").nullish(),
  tools: unsupported("tools"),
  functions: unsupported("functions"),
  tool_choice: z.union([z.literal("none"), z.null()], { error: "tool_choice is not supported by Atelier's assistants." }).optional(),
  logprobs: unsupported("logprobs"),
  top_logprobs: unsupported("top_logprobs"),
  response_format: z
    .object({ type: z.literal("text", { error: 'only response_format {"type": "text"} is supported.' }) })
    .nullish(),
});
export type CompletionBody = z.infer<typeof completionBody>;

export function parseCompletionBody(raw: unknown): CompletionBody {
  const parsed = completionBody.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.join(".") || undefined;
    // OpenAI names the request parameter; within messages, the message too.
    const param = issue.path[0] === "messages" ? where : issue.path[0]?.toString();
    throw invalidRequest(`Invalid request: ${where ?? "body"}: ${issue.message}`, param);
  }
  return parsed.data;
}

const textOf = (m: z.infer<typeof message>) => (typeof m.content === "string" ? m.content : (m.content ?? []).map((p) => p.text).join(""));

export type CompletionEvent =
  | { type: "start"; messageId: string }
  | { type: "token"; text: string }
  | { type: "done"; text: string; promptTokens: number; completionTokens: number; finishReason: "stop" | "length" };

/** Every message and all of them together are bounded, before anything is stored or tokenized. */
function checkSizes(body: CompletionBody): void {
  const { ATELIER_MAX_MESSAGE_CHARS: each, ATELIER_MAX_REQUEST_CHARS: all, ATELIER_API_MAX_MESSAGES: count } = env();
  if (body.messages.length > count) throw invalidRequest(`Too many messages (${body.messages.length}); the limit is ${count}.`, "messages");
  let total = 0;
  for (const [i, m] of body.messages.entries()) {
    const length = textOf(m).length;
    if (length > each) {
      throw invalidRequest(`Message ${i} is ${length.toLocaleString("en")} characters long; the limit is ${each.toLocaleString("en")}.`, `messages.${i}.content`, "string_above_max_length");
    }
    total += length;
  }
  if (total > all) {
    throw invalidRequest(`The messages have ${total.toLocaleString("en")} characters in all; the limit is ${all.toLocaleString("en")}.`, "messages", "string_above_max_length");
  }
}

/** The request's sampling parameters as changes to the assistant's own (never past its answer cap). */
function overridesOf(body: CompletionBody, assistantMax: number): TurnOverrides {
  const requested = body.max_completion_tokens ?? body.max_tokens;
  const stop = body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop;
  return {
    sampling: {
      ...(requested != null ? { maxTokens: Math.min(requested, assistantMax) } : {}),
      ...(body.temperature != null ? { temperature: body.temperature } : {}),
      ...(body.top_p != null ? { topP: body.top_p } : {}),
    },
    stop: stop.filter((s) => s.length > 0),
    ...(body.seed != null ? { seed: body.seed } : {}),
  };
}

/**
 * Runs one completion through the console's chat path (persona, model version, knowledge and history
 * window all apply), recorded as an "api" conversation. The client's system messages are ignored:
 * the assistant's own persona is what the owner deployed.
 */
export function startCompletion(db: AtelierDb, who: ApiPrincipal, body: CompletionBody, ip: string | null, signal?: AbortSignal): AsyncGenerator<CompletionEvent> {
  if (body.model !== who.deployment.publicId) {
    throw new AtelierError("not_found:api", `The model '${body.model}' does not exist or this key may not use it; see GET /v1/models.`, { reason: "model_not_found", param: "model" });
  }
  checkSizes(body);
  const turns = body.messages.filter((m) => m.role === "user" || m.role === "assistant").map((m) => ({ role: m.role as "user" | "assistant", content: textOf(m) }));
  const last = turns.at(-1);
  if (!last || last.role !== "user") throw invalidRequest("The last message must come from the user.", "messages");
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
    // One prepared statement run per message: building one multi-row INSERT of up to
    // ATELIER_MAX_REQUEST_CHARS characters cost ~10x more event-loop time (measured: 87 ms vs 8 ms for 99 messages).
    const insertTurn = tx
      .insert(messages)
      .values({ id: sql.placeholder("id"), conversationId: conv.id, position: sql.placeholder("position"), role: sql.placeholder("role"), content: sql.placeholder("content"), status: "complete" })
      .prepare();
    turns.slice(0, -1).forEach((t, position) => insertTurn.run({ id: newId(), position, role: t.role, content: t.content }));
    return conv;
  });
  return relay(db, conversation.id, last.content, overridesOf(body, who.assistant.sampling.maxTokens), signal);
}

async function* relay(db: AtelierDb, conversationId: string, content: string, overrides: TurnOverrides, signal?: AbortSignal): AsyncGenerator<CompletionEvent> {
  for await (const ev of sendChat(db, { kind: "send", conversationId, content }, signal, overrides)) {
    if (ev.type === "start") yield { type: "start", messageId: ev.message.id };
    else if (ev.type === "token") yield { type: "token", text: ev.text };
    else if (ev.type === "done") {
      yield {
        type: "done",
        text: ev.message.content,
        promptTokens: ev.message.promptTokens ?? 0,
        completionTokens: ev.message.completionTokens ?? 0,
        finishReason: ev.stopReason === "maxTokens" ? "length" : "stop",
      };
    } else if (ev.type === "error") {
      if (ev.reason === "context_length_exceeded") throw invalidRequest(ev.error, "messages", "context_length_exceeded");
      console.error(`[openai] completion failed in ${conversationId}: ${ev.error}`);
      throw new AtelierError("unavailable:api", "The assistant could not answer right now; try again later.", { reason: "engine_unavailable" });
    }
  }
}
