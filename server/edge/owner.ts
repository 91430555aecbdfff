import "server-only";
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { conversations, messages } from "../db/schema";
import { notFound } from "../errors";

const PUBLIC_CHANNELS = ["widget", "api"] as const;

/** Widget and API conversations of one assistant, newest first, with what the owner needs to triage them. */
export function listPublicConversations(db: AtelierDb, assistantId: string, limit = 200) {
  // Raw names: in a single-table select drizzle leaves columns unqualified, which the subquery would misread.
  const count = (where: string) => sql<number>`(select count(*) from messages m where m.conversation_id = conversations.id and ${sql.raw(where)})`;
  return db
    .select({
      id: conversations.id,
      title: conversations.title,
      channel: conversations.channel,
      origin: conversations.origin,
      visitorId: conversations.visitorId,
      visitorVerified: conversations.visitorVerified,
      createdAt: conversations.createdAt,
      updatedAt: conversations.updatedAt,
      messageCount: count("1"),
      thumbsUp: count("m.feedback = 1"),
      thumbsDown: count("m.feedback = -1"),
    })
    .from(conversations)
    .where(and(eq(conversations.assistantId, assistantId), inArray(conversations.channel, [...PUBLIC_CHANNELS])))
    .orderBy(desc(conversations.updatedAt))
    .limit(limit)
    .all();
}

export function publicConversationMessages(db: AtelierDb, assistantId: string, conversationId: string) {
  const conv = db
    .select()
    .from(conversations)
    .where(and(eq(conversations.id, conversationId), eq(conversations.assistantId, assistantId), inArray(conversations.channel, [...PUBLIC_CHANNELS])))
    .get();
  if (!conv) throw notFound("deploy", "Conversation", conversationId);
  return db.select().from(messages).where(eq(messages.conversationId, conversationId)).orderBy(asc(messages.position)).all();
}

type ExportRow = {
  conversationId: string;
  channel: string;
  origin: string | null;
  visitor: string | null;
  verified: boolean;
  position: number;
  role: string;
  content: string;
  status: string;
  feedback: number | null;
  citations: string;
  createdAt: string;
};

function exportRows(db: AtelierDb, assistantId: string): ExportRow[] {
  return db
    .select({ c: conversations, m: messages })
    .from(messages)
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .where(and(eq(conversations.assistantId, assistantId), inArray(conversations.channel, [...PUBLIC_CHANNELS])))
    .orderBy(asc(conversations.createdAt), asc(conversations.id), asc(messages.position))
    .all()
    .map(({ c, m }) => ({
      conversationId: c.id,
      channel: c.channel,
      origin: c.origin,
      visitor: c.visitorId,
      verified: c.visitorVerified,
      position: m.position,
      role: m.role,
      content: m.content,
      status: m.status,
      feedback: m.feedback,
      citations: (m.citations ?? []).map((x) => `[${x.n}] ${x.documentTitle}`).join("; "),
      createdAt: new Date(m.createdAt).toISOString(),
    }));
}

/**
 * What a spreadsheet may read as the start of a formula: = + - @ (and their full-width forms,
 * which some spreadsheets fold to ASCII), or a tab / carriage return, after any leading
 * whitespace (spreadsheets skip it before looking).
 */
const FORMULA_START = /^[\s\u3000]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]|^[\t\r\n]/;

/** RFC 4180: quote every field; a field that could start a formula is prefixed with ' so spreadsheets show it as text. */
export function csvField(v: unknown): string {
  let s = v === null || v === undefined ? "" : String(v);
  if (FORMULA_START.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

export function exportConversations(db: AtelierDb, assistantId: string, format: "csv" | "jsonl"): string {
  const rows = exportRows(db, assistantId);
  if (format === "jsonl") return rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : "");
  const columns = Object.keys(rows[0] ?? { conversationId: 0, channel: 0, origin: 0, visitor: 0, verified: 0, position: 0, role: 0, content: 0, status: 0, feedback: 0, citations: 0, createdAt: 0 });
  const lines = [columns.join(","), ...rows.map((r) => columns.map((k) => csvField(r[k as keyof ExportRow])).join(","))];
  return lines.join("\r\n") + "\r\n";
}
