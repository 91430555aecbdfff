import "server-only";
import { z } from "zod";
import { MAX_FEEDBACK_COMMENT_CHARS, rateAnswer } from "../../chat";
import type { AtelierDb } from "../../db/client";
import type { ApiPrincipal } from "./auth";
import { invalidRequest } from "./errors";

/*
 * POST /v1/feedback: a rating and comment for an answer this assistant gave through the API. The
 * id is the completion's `id` as returned (chatcmpl-<message id>) or the bare message id. Another
 * assistant's answer, a console or widget answer and an unknown id all get the same 404.
 */

const PREFIX = "chatcmpl-";
export const completionIdOf = (messageId: string) => `${PREFIX}${messageId}`;
const messageIdOf = (id: string) => (id.startsWith(PREFIX) ? id.slice(PREFIX.length) : id);

export const feedbackBody = z.object({
  id: z.string().min(1).max(128),
  /** 1 / "up", -1 / "down"; null clears an earlier rating. */
  rating: z.union([z.literal(1), z.literal(-1), z.literal("up"), z.literal("down"), z.null()]),
  comment: z.string().max(MAX_FEEDBACK_COMMENT_CHARS * 4).nullish(),
});

export function parseFeedbackBody(raw: unknown) {
  const parsed = feedbackBody.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalidRequest(`Invalid request: ${issue.path.join(".") || "body"}: ${issue.message}`, issue.path.join(".") || undefined);
  }
  return parsed.data;
}

export function recordFeedback(db: AtelierDb, who: ApiPrincipal, body: z.infer<typeof feedbackBody>) {
  const value = body.rating === "up" ? 1 : body.rating === "down" ? -1 : body.rating;
  const row = rateAnswer(
    db,
    { messageId: messageIdOf(body.id), value, comment: body.comment },
    { surface: "api", allowed: (c) => c.channel === "api" && c.assistantId === who.assistant.id, notFound: `No completion with id '${body.id}' was found for this key.` },
  );
  return { object: "chat.completion.feedback", id: completionIdOf(row.id), rating: row.feedback, comment: row.feedbackComment, created: row.feedbackAt ? Math.floor(row.feedbackAt / 1000) : null };
}
