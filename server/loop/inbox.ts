import "server-only";
import { and, desc, eq, gte, isNotNull, isNull, lt, lte, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { getAssistant } from "../assistants";
import type { AtelierDb } from "../db/client";
import { conversations, messages } from "../db/schema";
import { emptyCounts, scrub, totalOf } from "./pii";
import { reviewItems } from "./schema";
import type { InboxFilters } from "./types";

/*
 * The review inbox: every answer an assistant gave, on every channel, newest first, with the
 * question it answered, the reader's rating, what produced it, and the reviewer's decision if any.
 * Text is shown as it was and as it would train (PII scrubbed), side by side.
 */

const question = alias(messages, "question");

export function listInbox(db: AtelierDb, f: InboxFilters) {
  const assistant = getAssistant(db, f.assistantId);
  const oos = assistant.outOfScopeReply?.trim() || null;
  const where: (SQL | undefined)[] = [eq(conversations.assistantId, f.assistantId), eq(messages.role, "assistant"), sql`${messages.status} in ('complete', 'interrupted')`];
  if (f.state === "unreviewed") where.push(isNull(reviewItems.id));
  if (f.state === "reviewed") where.push(isNotNull(reviewItems.id));
  if (f.rating === "up") where.push(eq(messages.feedback, 1));
  if (f.rating === "down") where.push(eq(messages.feedback, -1));
  if (f.rating === "rated") where.push(isNotNull(messages.feedback));
  if (f.rating === "unrated") where.push(isNull(messages.feedback));
  if (f.channel) where.push(eq(conversations.channel, f.channel));
  if (f.from !== undefined) where.push(gte(messages.createdAt, f.from));
  if (f.to !== undefined) where.push(lte(messages.createdAt, f.to));
  if (f.before !== undefined) where.push(lt(messages.createdAt, f.before));
  if (f.modelId) where.push(eq(messages.modelId, f.modelId));
  if (f.hasCitations !== undefined) where.push(f.hasCitations ? sql`json_array_length(coalesce(${messages.citations}, '[]')) > 0` : sql`json_array_length(coalesce(${messages.citations}, '[]')) = 0`);
  if (f.regenerated !== undefined) where.push(eq(messages.regenerated, f.regenerated));
  if (f.outOfScope !== undefined) {
    const match = oos ? sql`trim(${messages.content}) = ${oos}` : sql`0`;
    where.push(f.outOfScope ? match : sql`not (${match})`);
  }
  const rows = db
    .select({
      message: messages,
      channel: conversations.channel,
      conversationTitle: conversations.title,
      question: question.content,
      review: reviewItems,
    })
    .from(messages)
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .leftJoin(
      question,
      and(
        eq(question.conversationId, messages.conversationId),
        eq(question.role, "user"),
        eq(question.position, sql`(select max(q.position) from messages q where q.conversation_id = ${messages.conversationId} and q.role = 'user' and q.position < ${messages.position})`),
      ),
    )
    .leftJoin(reviewItems, eq(reviewItems.messageId, messages.id))
    .where(and(...where))
    .orderBy(desc(messages.createdAt))
    .limit(f.limit)
    .all();
  return rows.map((r) => {
    const counts = emptyCounts();
    const q = scrub(r.question ?? "", counts);
    const a = scrub(r.message.content, counts);
    const m = r.message;
    return {
      messageId: m.id,
      conversationId: m.conversationId,
      conversationTitle: r.conversationTitle,
      channel: r.channel,
      createdAt: m.createdAt,
      question: q,
      answer: a,
      pii: { ...counts, total: totalOf(counts) },
      rating: m.feedback,
      comment: m.feedbackComment,
      modelId: m.modelId,
      modelLabel: m.modelLabel,
      personaRevision: m.personaRevision,
      knowledgeRevision: m.knowledgeRevision,
      citations: m.citations?.length ?? 0,
      regenerated: m.regenerated,
      outOfScope: oos !== null && m.content.trim() === oos,
      review: r.review
        ? { action: r.review.action, correction: r.review.correction, evalSetId: r.review.evalSetId, reviewerId: r.review.reviewerId, reviewedAt: r.review.reviewedAt, scrubbed: r.review.scrubbed }
        : null,
    };
  });
}
export type InboxItem = ReturnType<typeof listInbox>[number];

/** Counts for the inbox header and the Improve funnel. */
export function inboxCounts(db: AtelierDb, assistantId: string) {
  const r = db
    .select({
      answers: sql<number>`count(*)`,
      rated: sql<number>`sum(case when ${messages.feedback} is not null then 1 else 0 end)`,
      down: sql<number>`sum(case when ${messages.feedback} = -1 then 1 else 0 end)`,
      reviewed: sql<number>`sum(case when ${reviewItems.id} is not null then 1 else 0 end)`,
      approved: sql<number>`sum(case when ${reviewItems.action} in ('good', 'corrected') then 1 else 0 end)`,
    })
    .from(messages)
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .leftJoin(reviewItems, eq(reviewItems.messageId, messages.id))
    .where(and(eq(conversations.assistantId, assistantId), eq(messages.role, "assistant")))
    .get();
  const conv = db.select({ n: sql<number>`count(*)` }).from(conversations).where(eq(conversations.assistantId, assistantId)).get();
  return { conversations: conv?.n ?? 0, answers: r?.answers ?? 0, rated: r?.rated ?? 0, thumbsDown: r?.down ?? 0, reviewed: r?.reviewed ?? 0, approved: r?.approved ?? 0 };
}
