import "server-only";
import { and, asc, eq, lte } from "drizzle-orm";
import { getAssistant } from "../assistants";
import { recordAudit, type Session } from "../auth";
import { composeSystemPrompt, windowTurns } from "../chat";
import type { AtelierDb } from "../db/client";
import { conversations, messages } from "../db/schema";
import { AtelierError } from "../errors";
import { getSet, insertRows, rowInput } from "../evals";
import { newId } from "../ids";
import { emptyCounts, scrub } from "./pii";
import { reviewItems, type ReviewItemRow, type ReviewTurn } from "./schema";
import { LOOP_LIMITS, reviewInput, type ReviewInput } from "./types";

/*
 * One reviewer decision on one answer. Nothing a visitor wrote reaches training without one:
 * improvement datasets are built only from review items whose action is "good" or "corrected".
 * Each decision keeps its provenance (conversation, message, reviewer, time); a new decision on the
 * same answer replaces the old one (datasets already built keep their own copy).
 */

function answerOf(db: AtelierDb, messageId: string) {
  const found = db
    .select({ message: messages, conversation: conversations })
    .from(messages)
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .where(eq(messages.id, messageId))
    .get();
  if (!found || found.message.role !== "assistant") throw new AtelierError("not_found:loop", `No answer with id '${messageId}' was found.`);
  return found;
}

function validCorrection(text: string | null | undefined): string {
  const t = text?.trim() ?? "";
  if (!t) throw new AtelierError("bad_request:loop", "Write the corrected answer first.", { param: "correction" });
  if (t.length > LOOP_LIMITS.correction) {
    throw new AtelierError("too_large:loop", `The corrected answer is ${t.length.toLocaleString("en")} characters long; the limit is ${LOOP_LIMITS.correction.toLocaleString("en")}.`, { param: "correction" });
  }
  return t;
}

export function reviewAnswer(db: AtelierDb, raw: ReviewInput, session: Session | null): ReviewItemRow {
  const input = reviewInput.parse(raw);
  const { message, conversation } = answerOf(db, input.messageId);
  const assistant = getAssistant(db, conversation.assistantId);
  const correction = input.action === "corrected" ? validCorrection(input.correction) : input.action === "eval" && input.correction?.trim() ? validCorrection(input.correction) : null;

  // The history window the model saw when it answered: the turns before it, cut as the turn cuts them.
  const earlier = db
    .select({ role: messages.role, content: messages.content })
    .from(messages)
    .where(and(eq(messages.conversationId, conversation.id), lte(messages.position, message.position - 1)))
    .orderBy(asc(messages.position))
    .all()
    .filter((m) => m.content.length > 0);
  let turns: ReviewTurn[] = windowTurns(earlier, assistant.historyWindow);
  while (turns.length && turns[0]!.role !== "user") turns = turns.slice(1); // a training record starts with the user
  if (!turns.length || turns.at(-1)!.role !== "user") throw new AtelierError("bad_request:loop", "This answer has no question before it, so it cannot be reviewed.");

  const counts = emptyCounts();
  const clean = (text: string) => (input.scrubPii ? scrub(text, counts).after : text);
  const scrubbedTurns = turns.map((t) => ({ role: t.role, content: clean(t.content) }));
  const values = {
    assistantId: assistant.id,
    conversationId: conversation.id,
    messageId: message.id,
    channel: conversation.channel,
    action: input.action,
    modelId: message.modelId,
    turns: scrubbedTurns,
    answer: clean(message.content),
    correction: correction === null ? null : clean(correction),
    system: composeSystemPrompt(assistant) || null,
    scrubbed: input.scrubPii,
    piiCounts: counts,
    rating: message.feedback,
    evalSetId: null as string | null,
    evalRowId: null as string | null,
    reviewerId: session?.user.id ?? null,
    reviewedAt: Date.now(),
  };

  return db.transaction((tx) => {
    const t = tx as unknown as AtelierDb;
    if (input.action === "eval") {
      if (!input.evalSetId) throw new AtelierError("bad_request:loop", "Choose the eval set the question goes to.", { param: "evalSetId" });
      const set = getSet(t, input.evalSetId);
      if (set.assistantId && set.assistantId !== assistant.id) throw new AtelierError("bad_request:loop", `The eval set "${set.name}" belongs to another assistant.`, { param: "evalSetId" });
      const reference = values.correction ?? (message.feedback === 1 ? values.answer : null);
      const row = rowInput.parse({ question: scrubbedTurns.at(-1)!.content, reference });
      const [rowId] = insertRows(t, set.id, [
        { ...row, origin: "conversation", provenance: { conversationId: conversation.id, messageId: message.id, ...(message.feedback !== null ? { rating: message.feedback } : {}) } },
      ]);
      values.evalSetId = set.id;
      values.evalRowId = rowId!;
    }
    const saved = tx
      .insert(reviewItems)
      .values({ id: newId(), ...values })
      .onConflictDoUpdate({ target: reviewItems.messageId, set: values })
      .returning()
      .get();
    recordAudit(t, session, `review.${input.action}`, { type: "message", id: message.id }, { assistantId: assistant.id, conversationId: conversation.id, scrubbed: input.scrubPii });
    return saved;
  });
}

/** Takes back a decision (the answer returns to the inbox); datasets already built keep their copy. */
export function undoReview(db: AtelierDb, messageId: string, session: Session | null): { messageId: string } {
  const row = db.delete(reviewItems).where(eq(reviewItems.messageId, messageId)).returning().get();
  if (!row) throw new AtelierError("not_found:loop", `The answer '${messageId}' has no review to undo.`);
  recordAudit(db, session, "review.undo", { type: "message", id: messageId }, { action: row.action });
  return { messageId };
}
