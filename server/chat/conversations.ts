import "server-only";
import { and, asc, desc, eq, gte, or, sql } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { assistants, conversations, messages, models, type AssistantRow, type ConversationRow, type MessageRow } from "../db/schema";
import { notFound } from "../errors";
import { newId } from "../ids";

export const NEW_CHAT_TITLE = "New chat";

export type AssistantView = AssistantRow & { modelLabel: string | null };

export function assistantView(db: AtelierDb, row: AssistantRow): AssistantView {
  const model = row.modelId ? db.select({ name: models.name }).from(models).where(eq(models.id, row.modelId)).get() : undefined;
  return { ...row, modelLabel: model?.name ?? null };
}

export function getAssistant(db: AtelierDb, id: string): AssistantRow {
  const row = db.select().from(assistants).where(eq(assistants.id, id)).get();
  if (!row) throw notFound("Assistant", id);
  return row;
}

export function getConversation(db: AtelierDb, id: string): ConversationRow {
  const row = db.select().from(conversations).where(eq(conversations.id, id)).get();
  if (!row) throw notFound("Conversation", id);
  return row;
}

export function listMessages(db: AtelierDb, conversationId: string): MessageRow[] {
  return db.select().from(messages).where(eq(messages.conversationId, conversationId)).orderBy(asc(messages.position)).all();
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export function listConversations(db: AtelierDb, search?: string) {
  const preview = sql<string | null>`(select substr(${messages.content}, 1, 140) from ${messages}
    where ${messages.conversationId} = ${conversations.id} order by ${messages.position} desc limit 1)`;
  const term = search?.trim();
  const pattern = term ? `%${escapeLike(term)}%` : null;
  const filter = pattern
    ? or(
        sql`${conversations.title} like ${pattern} escape '\\'`,
        sql`exists (select 1 from ${messages} where ${messages.conversationId} = ${conversations.id} and ${messages.content} like ${pattern} escape '\\')`,
      )
    : undefined;
  return db
    .select({
      id: conversations.id,
      title: conversations.title,
      assistantId: conversations.assistantId,
      assistantName: assistants.name,
      createdAt: conversations.createdAt,
      updatedAt: conversations.updatedAt,
      lastMessagePreview: preview,
    })
    .from(conversations)
    .innerJoin(assistants, eq(assistants.id, conversations.assistantId))
    .where(filter)
    .orderBy(desc(conversations.updatedAt))
    .limit(500)
    .all();
}

export function createConversation(db: AtelierDb, input: { assistantId: string; title?: string }): ConversationRow {
  getAssistant(db, input.assistantId);
  return db
    .insert(conversations)
    .values({ id: newId(), assistantId: input.assistantId, title: input.title?.trim() || NEW_CHAT_TITLE })
    .returning()
    .get();
}

export function renameConversation(db: AtelierDb, id: string, title: string): ConversationRow {
  getConversation(db, id);
  return db.update(conversations).set({ title: title.trim(), updatedAt: Date.now() }).where(eq(conversations.id, id)).returning().get();
}

export function deleteConversation(db: AtelierDb, id: string): void {
  getConversation(db, id);
  db.delete(conversations).where(eq(conversations.id, id)).run();
}

/** Deletes the message at `position` and everything after it (for regenerate / edit). */
export function truncateFrom(db: AtelierDb, conversationId: string, position: number): void {
  db.delete(messages).where(and(eq(messages.conversationId, conversationId), gte(messages.position, position))).run();
}


