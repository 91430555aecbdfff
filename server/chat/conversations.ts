import "server-only";
import { and, asc, desc, eq, gte, lt, or, sql } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { getAssistant } from "../assistants";
import { assistants, conversations, messages, type ConversationRow, type MessageRow } from "../db/schema";
import { AtelierError, notFound } from "../errors";
import { newId } from "../ids";

export const NEW_CHAT_TITLE = "New chat";

/**
 * With `ownerId`, only that console user's own conversation is found: anyone else's (other users',
 * widget or API visitors') reads as missing, so ids reveal nothing.
 */
export function getConversation(db: AtelierDb, id: string, ownerId?: string): ConversationRow {
  const row = db.select().from(conversations).where(eq(conversations.id, id)).get();
  if (!row || (ownerId !== undefined && !ownedBy(row, ownerId))) throw notFound("conversation", "Conversation", id);
  return row;
}

const ownedBy = (row: ConversationRow, userId: string) => row.channel === "console" && row.userId === userId;
const ownerFilter = (userId: string) => and(eq(conversations.channel, "console"), eq(conversations.userId, userId));

export function listMessages(db: AtelierDb, conversationId: string): MessageRow[] {
  return db.select().from(messages).where(eq(messages.conversationId, conversationId)).orderBy(asc(messages.position)).all();
}

/**
 * The messages a new answer may see: those at or before `upTo` (less empty answers, which are
 * never sent to a model), read newest first, in pages, until `maxRows` are found or `maxChars`
 * characters were read; returned oldest first. A conversation of thousands of long turns then
 * costs what the model can take, not its length.
 */
export function recentMessages(db: AtelierDb, conversationId: string, upTo: number, bounds: { maxRows: number; maxChars: number }): MessageRow[] {
  const out: MessageRow[] = [];
  let chars = 0;
  let before = upTo + 1;
  const PAGE = 32;
  while (out.length < bounds.maxRows && chars < bounds.maxChars) {
    const page = db
      .select()
      .from(messages)
      .where(and(eq(messages.conversationId, conversationId), lt(messages.position, before)))
      .orderBy(desc(messages.position))
      .limit(PAGE)
      .all();
    for (const m of page) {
      if (out.length >= bounds.maxRows || chars >= bounds.maxChars) break;
      if (m.role === "assistant" && m.content.length === 0) continue;
      out.push(m);
      chars += m.content.length;
    }
    if (page.length < PAGE) break;
    before = page.at(-1)!.position;
  }
  return out.reverse();
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The owner's console conversations, newest first, optionally filtered by title or message text. */
export function listConversations(db: AtelierDb, ownerId: string, search?: string) {
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
    .where(and(ownerFilter(ownerId), filter))
    .orderBy(desc(conversations.updatedAt))
    .limit(500)
    .all();
}

export function createConversation(db: AtelierDb, input: { assistantId: string; title?: string; userId?: string }): ConversationRow {
  const assistant = getAssistant(db, input.assistantId);
  if (assistant.archivedAt) throw new AtelierError("conflict:conversation", `Assistant "${assistant.name}" is archived; restore it to start new conversations.`);
  return db
    .insert(conversations)
    .values({ id: newId(), assistantId: input.assistantId, title: input.title?.trim() || NEW_CHAT_TITLE, userId: input.userId ?? null })
    .returning()
    .get();
}

export function renameConversation(db: AtelierDb, id: string, title: string, ownerId: string): ConversationRow {
  getConversation(db, id, ownerId);
  return db.update(conversations).set({ title: title.trim(), updatedAt: Date.now() }).where(eq(conversations.id, id)).returning().get();
}

export function deleteConversation(db: AtelierDb, id: string, ownerId: string): void {
  getConversation(db, id, ownerId);
  db.delete(conversations).where(eq(conversations.id, id)).run();
}

/** Deletes the message at `position` and everything after it (for regenerate / edit). */
export function truncateFrom(db: AtelierDb, conversationId: string, position: number): void {
  db.delete(messages).where(and(eq(messages.conversationId, conversationId), gte(messages.position, position))).run();
}


