import "server-only";
import { and, asc, eq, inArray } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { assistants, conversations, messages, type MessageCitation, type MessageRow } from "../db/schema";
import { getConversation } from "./conversations";

/*
 * A console user's own conversations, exported as Markdown (to read or paste) or JSON (to
 * process): every message with its time, status, model and token counts, and each answer's
 * sources marked cited or retrieved-but-not-cited, as the console shows them. Only the user's
 * console conversations: never another user's, never widget or API visitors'. Written out one
 * conversation at a time, yielding to the event loop between them, so a long history neither
 * blocks the server nor sits whole in memory.
 */

export const EXPORT_FORMATS = ["markdown", "json"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Markers an answer cites ([1], [1, 3]) outside code: the same reading as the console's. */
export function citedInAnswer(text: string): Set<number> {
  const prose = text
    .split(/(```[\s\S]*?(?:```|$)|`[^`\n]*`)/g)
    .filter((_, i) => i % 2 === 0)
    .join(" ");
  const out = new Set<number>();
  for (const m of prose.matchAll(/\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\](?!\()/g)) for (const n of m[1]!.split(/[,;]/)) out.add(Number(n.trim()));
  return out;
}

type ExportedConversation = { id: string; title: string; assistant: { id: string; name: string }; createdAt: number; updatedAt: number; messages: MessageRow[] };

const iso = (ms: number) => new Date(ms).toISOString();
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

function conversationsOf(db: AtelierDb, userId: string, conversationId?: string) {
  if (conversationId) getConversation(db, conversationId, userId); // not theirs → not found
  return db
    .select({ id: conversations.id, title: conversations.title, assistantId: conversations.assistantId, assistantName: assistants.name, createdAt: conversations.createdAt, updatedAt: conversations.updatedAt })
    .from(conversations)
    .innerJoin(assistants, eq(assistants.id, conversations.assistantId))
    .where(and(eq(conversations.channel, "console"), eq(conversations.userId, userId), ...(conversationId ? [eq(conversations.id, conversationId)] : [])))
    .orderBy(asc(conversations.createdAt))
    .all();
}

function withMessages(db: AtelierDb, c: ReturnType<typeof conversationsOf>[number]): ExportedConversation {
  const rows = db.select().from(messages).where(inArray(messages.conversationId, [c.id])).orderBy(asc(messages.position)).all();
  return { id: c.id, title: c.title, assistant: { id: c.assistantId, name: c.assistantName }, createdAt: c.createdAt, updatedAt: c.updatedAt, messages: rows };
}

function sourcesMarkdown(citations: MessageCitation[], text: string): string[] {
  const cited = citedInAnswer(text);
  const line = (c: MessageCitation) => `- [${c.n}] ${c.documentTitle}${c.heading ? ` — ${c.heading}` : ""}: “${c.excerpt}”`;
  const used = citations.filter((c) => cited.has(c.n));
  const other = citations.filter((c) => !cited.has(c.n));
  return [
    ...(used.length ? ["", "Sources cited:", ...used.map(line)] : []),
    ...(other.length ? ["", "Retrieved, not cited:", ...other.map(line)] : []),
  ];
}

function conversationMarkdown(c: ExportedConversation): string {
  const out = [`## ${c.title}`, "", `*${c.assistant.name} · started ${iso(c.createdAt)} · ${c.messages.length} message${c.messages.length === 1 ? "" : "s"}*`];
  for (const m of c.messages) {
    const who = m.role === "user" ? "You" : `${c.assistant.name}${m.modelLabel ? ` (${m.modelLabel})` : ""}`;
    const status = m.status === "complete" ? "" : ` — ${m.status}${m.error ? `: ${m.error}` : ""}`;
    out.push("", `**${who}** · ${iso(m.createdAt)}${status}`, "", m.content || "*(no text)*");
    if (m.citations?.length) out.push(...sourcesMarkdown(m.citations, m.content));
  }
  return `${out.join("\n")}\n`;
}

function conversationJson(c: ExportedConversation) {
  return {
    id: c.id,
    title: c.title,
    assistant: c.assistant,
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
    messages: c.messages.map((m) => {
      const cited = citedInAnswer(m.content);
      return {
        role: m.role,
        content: m.content,
        status: m.status,
        ...(m.error ? { error: m.error } : {}),
        createdAt: iso(m.createdAt),
        ...(m.role === "assistant"
          ? {
              model: m.modelLabel ?? m.modelId,
              tokens: { prompt: m.promptTokens, completion: m.completionTokens },
              sources: (m.citations ?? []).map((s) => ({ n: s.n, cited: cited.has(s.n), document: s.documentTitle, heading: s.heading, excerpt: s.excerpt })),
            }
          : {}),
      };
    }),
  };
}

/**
 * The export of `userId`'s console conversations (one when `conversationId` is given; throws
 * not-found for a conversation that is not theirs), as text chunks.
 */
export function exportConversations(
  db: AtelierDb,
  user: { id: string; email: string },
  opts: { format: ExportFormat; conversationId?: string; now?: number },
): { fileName: string; contentType: string; chunks: AsyncGenerator<string> } {
  const list = conversationsOf(db, user.id, opts.conversationId);
  const stamp = iso(opts.now ?? Date.now());
  const base = opts.conversationId && list[0] ? slug(list[0].title) || "conversation" : `atelier-chats-${stamp.slice(0, 10)}`;
  if (opts.format === "json") {
    return {
      fileName: `${base}.json`,
      contentType: "application/json; charset=utf-8",
      chunks: (async function* () {
        yield `{"exportedAt":${JSON.stringify(stamp)},"user":${JSON.stringify(user.email)},"conversations":[`;
        for (const [i, c] of list.entries()) {
          yield `${i ? "," : ""}\n${JSON.stringify(conversationJson(withMessages(db, c)))}`;
          await nextTurn();
        }
        yield "\n]}\n";
      })(),
    };
  }
  return {
    fileName: `${base}.md`,
    contentType: "text/markdown; charset=utf-8",
    chunks: (async function* () {
      yield `# Atelier conversations\n\nExported ${stamp} for ${user.email}: ${list.length} conversation${list.length === 1 ? "" : "s"}.\n`;
      for (const c of list) {
        yield `\n${conversationMarkdown(withMessages(db, c))}`;
        await nextTurn();
      }
    })(),
  };
}

/** A file-name-safe ASCII form of a title (it goes in a header): "Harbour gate hours?" → "harbour-gate-hours". */
export function slug(title: string): string {
  return title
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);
}
