import "server-only";
import { and, asc, eq } from "drizzle-orm";
import { z } from "zod";
import { rateAnswer, sendChat } from "../../chat";
import type { AtelierDb } from "../../db/client";
import { assistants, conversations, messages, type AssistantRow, type ConversationRow } from "../../db/schema";
import { env } from "../../env";
import { AtelierError } from "../../errors";
import { newId } from "../../ids";
import { deploymentByPublicId } from "../deployments";
import { verifyIdentity } from "../identity";
import { originAllowed } from "../origins";
import { check, consume, DAY, MINUTE } from "../quota";
import type { DeploymentRow } from "../schema";

export type WidgetTarget = { deployment: DeploymentRow; assistant: AssistantRow; origin: string };

export const NOT_AVAILABLE = "This chat is not available.";

/** Every refusal here is an AtelierError with surface "widget"; its message is the sentence the widget shows the visitor. */

/** The deployment behind a public id, if it is switched on and its assistant is live. */
export function liveDeployment(db: AtelierDb, publicId: string): { deployment: DeploymentRow; assistant: AssistantRow } {
  const deployment = deploymentByPublicId(db, publicId);
  const assistant = deployment && db.select().from(assistants).where(eq(assistants.id, deployment.assistantId)).get();
  if (!deployment || !deployment.enabled || !assistant || assistant.archivedAt) throw new AtelierError("not_found:widget", NOT_AVAILABLE);
  return { deployment, assistant };
}

/**
 * Who may call: the site's origin must be allowed (an empty list means nobody unless the owner chose
 * "any origin"), then the per-IP rate limit applies to every public request (counted on POSTs,
 * checked on GETs).
 */
export function admit(db: AtelierDb, publicId: string, origin: string | null, ip: string | null, opts: { count: boolean } = { count: true }): WidgetTarget {
  const { deployment, assistant } = liveDeployment(db, publicId);
  if (!origin) throw new AtelierError("forbidden:widget", "This request did not say which site it comes from (no Origin), so it is refused.");
  if (!originAllowed(deployment, origin)) throw new AtelierError("forbidden:widget", `The site ${origin} is not allowed to use this chat.`);
  // A GET (the widget's config) is refused once the address is over its limit but is not counted: GETs never write.
  const limited = (opts.count ? consume : check)(db, [
    {
      scope: "ip-minute",
      subject: `${deployment.publicId}|${ip ?? "unknown"}`,
      windowMs: MINUTE,
      limit: deployment.ipPerMinuteLimit,
      message: "You're sending requests too quickly. Please wait a minute and try again.",
    },
  ]);
  if (!limited.ok) throw new AtelierError("rate_limit:widget", limited.message, { retryAfterSec: limited.retryAfterSec });
  return { deployment, assistant, origin };
}

const visitorIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, "The visitor id must be 8-64 letters, digits, - or _.");
const visitorBody = z.object({
  visitorId: visitorIdSchema,
  identity: z.string().max(1024).nullish(),
  conversationId: z.string().max(64).nullish(),
});
export const chatBody = visitorBody.extend({ content: z.string().max(1_000_000) });
export const historyBody = visitorBody.extend({ conversationId: z.string().min(1).max(64) });
export const feedbackBody = historyBody.extend({
  messageId: z.string().min(1).max(64),
  value: z.union([z.literal(1), z.literal(-1), z.null()]),
  comment: z.string().max(10_000).nullish(),
});

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new AtelierError("bad_request:widget", parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
  return parsed.data;
}

type Visitor = { id: string; verified: boolean };

/** A verified visitor is the host site's user id; an anonymous one is the id from the browser's storage. */
function visitorOf(target: WidgetTarget, body: z.infer<typeof visitorBody>): Visitor {
  if (!body.identity) return { id: body.visitorId, verified: false };
  const result = verifyIdentity(target.deployment.identitySecret, body.identity);
  if (!result.ok) throw new AtelierError("unauthorized:widget", result.error);
  return { id: result.userId, verified: true };
}

/** The visitor's own widget conversation with this assistant, or a 404 (never another visitor's). */
function ownConversation(db: AtelierDb, target: WidgetTarget, visitor: Visitor, id: string): ConversationRow {
  const row = db
    .select()
    .from(conversations)
    .where(
      and(
        eq(conversations.id, id),
        eq(conversations.assistantId, target.assistant.id),
        eq(conversations.channel, "widget"),
        eq(conversations.visitorId, visitor.id),
        eq(conversations.visitorVerified, visitor.verified),
      ),
    )
    .get();
  if (!row) throw new AtelierError("not_found:widget", "This conversation was not found; a new one will start.");
  return row;
}

export function validateVisitorMessage(content: string): string {
  const max = env().ATELIER_WIDGET_MAX_MESSAGE_CHARS;
  if (content.trim().length === 0) throw new AtelierError("bad_request:widget", "Please type a message first.");
  if (content.length > max) throw new AtelierError("too_large:widget", `Your message is too long (${content.length} characters); please keep it under ${max}.`);
  return content;
}

export function config(target: WidgetTarget) {
  const { appearance } = target.deployment;
  const a = target.assistant;
  return {
    title: appearance.title || a.name,
    color: appearance.color || a.color,
    avatar: appearance.avatar || a.avatar || null,
    position: appearance.position,
    size: appearance.size,
    openOnLoad: appearance.openOnLoad,
    greeting: appearance.greeting ?? a.greeting ?? null,
    starterQuestions: appearance.starterQuestions ?? a.starterQuestions,
  };
}
export type WidgetConfig = ReturnType<typeof config>;

export function history(db: AtelierDb, target: WidgetTarget, body: z.infer<typeof historyBody>) {
  const conversation = ownConversation(db, target, visitorOf(target, body), body.conversationId);
  const rows = db.select().from(messages).where(eq(messages.conversationId, conversation.id)).orderBy(asc(messages.position)).all();
  return { conversationId: conversation.id, messages: rows.map(publicMessage) };
}

export function publicMessage(m: typeof messages.$inferSelect) {
  return { id: m.id, role: m.role, content: m.content, status: m.status, citations: m.citations ?? [], feedback: m.feedback ?? null };
}

export function setFeedback(db: AtelierDb, target: WidgetTarget, body: z.infer<typeof feedbackBody>) {
  const conversation = ownConversation(db, target, visitorOf(target, body), body.conversationId);
  rateAnswer(db, { messageId: body.messageId, value: body.value, comment: body.comment }, {
    surface: "widget",
    allowed: (c) => c.id === conversation.id,
    notFound: "That answer was not found.",
  });
  return { ok: true };
}

export type WidgetEvent =
  | { type: "conversation"; conversationId: string }
  | { type: "user"; message: ReturnType<typeof publicMessage> }
  | { type: "start"; messageId: string }
  | { type: "token"; text: string }
  | { type: "done"; message: ReturnType<typeof publicMessage> }
  | { type: "error"; error: string };

/**
 * Checks everything that can refuse the request (identity, message, conversation, quotas) before
 * anything is written, then returns the answer's event stream.
 */
export function startChat(db: AtelierDb, target: WidgetTarget, body: z.infer<typeof chatBody>, signal?: AbortSignal): AsyncGenerator<WidgetEvent> {
  const visitor = visitorOf(target, body);
  const content = validateVisitorMessage(body.content);
  const existing = body.conversationId ? ownConversation(db, target, visitor, body.conversationId) : null;
  const d = target.deployment;
  const quota = consume(db, [
    {
      scope: "visitor-day",
      subject: `${d.publicId}|${visitor.verified ? "user" : "anon"}|${visitor.id}`,
      windowMs: DAY,
      limit: d.visitorDailyLimit,
      message: "You've reached today's message limit for this chat. Please come back tomorrow.",
    },
    {
      scope: "assistant-day",
      subject: d.publicId,
      windowMs: DAY,
      limit: d.dailyLimit,
      message: "This assistant has answered all the messages it can for today. Please try again tomorrow.",
    },
  ]);
  if (!quota.ok) throw new AtelierError("rate_limit:widget", quota.message, { retryAfterSec: quota.retryAfterSec });
  const conversation =
    existing ??
    db
      .insert(conversations)
      .values({
        id: newId(),
        assistantId: target.assistant.id,
        title: content.trim().replace(/\s+/g, " ").slice(0, 60),
        channel: "widget",
        visitorId: visitor.id,
        visitorVerified: visitor.verified,
        origin: target.origin,
      })
      .returning()
      .get();
  return relay(db, conversation.id, content, signal);
}

async function* relay(db: AtelierDb, conversationId: string, content: string, signal?: AbortSignal): AsyncGenerator<WidgetEvent> {
  yield { type: "conversation", conversationId };
  try {
    for await (const ev of sendChat(db, { kind: "send", conversationId, content }, signal)) {
      if (ev.type === "user") yield { type: "user", message: publicMessage(ev.message) };
      else if (ev.type === "start") yield { type: "start", messageId: ev.message.id };
      else if (ev.type === "token") yield { type: "token", text: ev.text };
      else if (ev.type === "done") yield { type: "done", message: publicMessage(ev.message) };
      else if (ev.type === "citations") continue; // the done message carries them
      else if (ev.reason === "context_length_exceeded") yield { type: "error", error: "Your message is too long for this chat. Please shorten it and try again." };
      else {
        console.error(`[widget] answer failed in ${conversationId}: ${ev.error}`);
        yield { type: "error", error: "The assistant could not answer right now. Please try again later." };
      }
    }
  } catch (err) {
    console.error(`[widget] answer failed in ${conversationId}:`, err);
    yield { type: "error", error: "The assistant could not answer right now. Please try again later." };
  }
}
