import "server-only";
import { and, eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { conversations, messages, type ConversationRow } from "../db/schema";
import { AtelierError } from "../errors";

/*
 * A reader's rating of one answer, from any channel (console, widget, API): thumbs up or down and
 * optional words. Each channel says which conversations its caller may rate; an answer outside
 * them gets the same "not found" as an id that does not exist, so ids reveal nothing.
 */

export const MAX_FEEDBACK_COMMENT_CHARS = 2000;

export type Rating = { messageId: string; value: 1 | -1 | null; comment?: string | null };

export function validateFeedbackComment(comment: string | null | undefined, surface: FeedbackSurface = "chat"): string | null {
  const text = comment?.trim() ?? "";
  if (text.length > MAX_FEEDBACK_COMMENT_CHARS) {
    throw new AtelierError(`too_large:${surface}`, `The comment is ${text.length} characters long; the limit is ${MAX_FEEDBACK_COMMENT_CHARS}.`, { param: "comment" });
  }
  return text || null;
}

export type FeedbackSurface = "chat" | "api" | "widget";

/**
 * Records `rating` on an assistant message of a conversation `allowed` accepts. Anything else (an
 * unknown id, someone else's conversation, a user message) is the same "not_found:<surface>", so
 * ids reveal nothing.
 */
export function rateAnswer(db: AtelierDb, rating: Rating, opts: { allowed: (c: ConversationRow) => boolean; surface: FeedbackSurface; notFound?: string }) {
  const missing = () => new AtelierError(`not_found:${opts.surface}`, opts.notFound ?? `No answer with id '${rating.messageId}' was found.`, { param: "id" });
  const found = db
    .select({ role: messages.role, conversation: conversations })
    .from(messages)
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .where(eq(messages.id, rating.messageId))
    .get();
  if (!found || found.role !== "assistant" || !opts.allowed(found.conversation)) throw missing();
  const comment = rating.value === null ? null : validateFeedbackComment(rating.comment, opts.surface);
  const row = db
    .update(messages)
    .set({ feedback: rating.value, feedbackComment: comment, feedbackAt: rating.value === null ? null : Date.now() })
    .where(and(eq(messages.id, rating.messageId), eq(messages.role, "assistant")))
    .returning({ id: messages.id, feedback: messages.feedback, feedbackComment: messages.feedbackComment, feedbackAt: messages.feedbackAt })
    .get();
  if (!row) throw missing();
  return row;
}
