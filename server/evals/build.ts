import "server-only";
import { and, eq, sql } from "drizzle-orm";
import { recordAudit, type Session } from "../auth";
import type { AtelierDb } from "../db/client";
import { conversations, messages } from "../db/schema";
import { env } from "../env";
import { AtelierError } from "../errors";
import { getModelRow } from "../models";
import { getCollection } from "../knowledge";
import { extractCandidates, factsFrom, type Candidate } from "./candidates";
import { forEachConcurrent } from "./concurrency";
import { completeWithEndpoint, type Endpoint } from "./endpoint";
import { completeWithModel } from "./generate";
import { normalizeText } from "./normalize";
import { evalRows, type EvalRowOrigin, type RowProvenance } from "./schema";
import { getSetRow, insertRows } from "./sets";
import { EVAL_LIMITS } from "./types";

/*
 * Building rows for review: from a knowledge collection (its structure, optionally rewritten by a
 * generator model) and from rated conversations. Everything lands as "candidate" rows.
 */

export type Generator = { kind: "model"; modelId: string } | ({ kind: "endpoint" } & Endpoint);

export const WRITER_SYSTEM = "You write evaluation questions for a domain assistant from its documentation. You only use the passage you are given.";
const WRITER_MAX_TOKENS = 160;

export function writerPrompt(c: Pick<Candidate, "passage" | "expectedSource">): string {
  return [
    `Passage from "${c.expectedSource.title}":`,
    c.passage,
    "",
    "Write one question a user of this product could ask that the passage answers, and the answer in one or two sentences, using only the passage.",
    "Reply in exactly this form:",
    "Question: <the question>",
    "Answer: <the answer>",
  ].join("\n");
}

/** "Question: …\nAnswer: …" → both parts, or null when the reply does not have that shape. */
export function parseWriterReply(reply: string): { question: string; answer: string } | null {
  const q = /question\s*:\s*(.+?)\s*(?:\n|answer\s*:|$)/is.exec(reply);
  const a = /answer\s*:\s*([\s\S]+)$/i.exec(reply);
  const question = q?.[1]?.trim();
  const answer = a?.[1]?.trim().split(/\n{2,}/)[0]?.trim();
  if (!question || question.length < 6 || question.length > EVAL_LIMITS.question || !answer || answer.length < 2) return null;
  return { question, answer: answer.slice(0, 2000) };
}

export type BuildResult = { added: number; skippedExisting: number; generator: { used: string; rewritten: number; failed: number; note: string | null } | null };

/** Extracts candidates from the collection, optionally has the generator rewrite each, stores them for review. */
export async function buildFromCollection(
  db: AtelierDb,
  input: { setId: string; collectionId: string; limit: number; generator: Generator | null },
  session: Session | null,
  signal?: AbortSignal,
): Promise<BuildResult> {
  getSetRow(db, input.setId);
  const collection = getCollection(db, input.collectionId);
  const existing = new Set(db.select({ q: evalRows.question }).from(evalRows).where(eq(evalRows.setId, input.setId)).all().map((r) => normalizeText(r.q)));
  const all = extractCandidates(db, collection.id, input.limit + existing.size);
  const fresh = all.filter((c) => !existing.has(normalizeText(c.question))).slice(0, input.limit);
  if (all.length === 0) throw new AtelierError("bad_request:eval", `No candidates found in "${collection.name}": it has no ready documents with headings, FAQ-style questions or definition sentences.`);
  const rows = fresh.map((c) => ({ question: c.question, reference: c.reference, facts: c.facts, expectedSource: c.expectedSource, shouldRefuse: false, provenance: c.provenance as RowProvenance, origin: "knowledge" as EvalRowOrigin }));

  let generator: BuildResult["generator"] = null;
  if (input.generator && fresh.length > 0) {
    const g = input.generator;
    const used = g.kind === "model" ? `model ${getModelRow(db, g.modelId).name}` : `${g.model} at ${g.url}`;
    let rewritten = 0;
    let failed = 0;
    let lastError: string | null = null;
    const concurrency = g.kind === "model" ? Math.max(1, env().ATELIER_SEQUENCES - 1) : 4;
    await forEachConcurrent(fresh, concurrency, async (c, i) => {
      if (signal?.aborted) return;
      const prompt = writerPrompt(c);
      let reply: string;
      try {
        reply =
          g.kind === "model"
            ? await completeWithModel(db, { modelId: g.modelId, system: WRITER_SYSTEM, prompt, maxTokens: WRITER_MAX_TOKENS, signal })
            : await completeWithEndpoint(g, { system: WRITER_SYSTEM, prompt, maxTokens: WRITER_MAX_TOKENS, signal });
      } catch (err) {
        failed++;
        lastError = (err as Error).message;
        rows[i]!.provenance = { ...rows[i]!.provenance, generator: used, note: `generator unavailable: ${lastError}` };
        return;
      }
      const parsed = parseWriterReply(reply);
      if (!parsed) {
        failed++;
        rows[i]!.provenance = { ...rows[i]!.provenance, generator: used, note: `the generator's reply could not be read: "${reply.trim().slice(0, 120)}"` };
        return;
      }
      rewritten++;
      rows[i] = { ...rows[i]!, question: parsed.question, reference: parsed.answer, facts: factsFrom(parsed.answer), origin: "generated", provenance: { ...rows[i]!.provenance, generator: used } };
    });
    generator = { used, rewritten, failed, note: failed > 0 ? `${failed} of ${fresh.length} candidates kept the document's own wording (${lastError ? `generator unavailable: ${(lastError as string).replace(/\.$/, "")}` : "the generator's replies could not be read"}).` : null };
  }
  if (rows.length) insertRows(db, input.setId, rows.map((r) => ({ ...r, status: "candidate" as const })));
  recordAudit(db, session, "eval.rows.build", { type: "eval_set", id: input.setId }, { collectionId: collection.id, added: rows.length, generator: generator?.used ?? null });
  return { added: rows.length, skippedExisting: all.filter((c) => existing.has(normalizeText(c.question))).length, generator };
}

/**
 * Rated answers of the assistant's conversations: thumbs up → a candidate with the answer as its
 * reference; thumbs down → a candidate to fix (no reference yet; the rated answer is kept in its
 * provenance). Console conversations are private, so only the caller's own console
 * conversations are read, plus every widget and API conversation.
 */
export function addFromConversations(
  db: AtelierDb,
  input: { setId: string; assistantId: string; ratings: "up" | "down" | "both"; limit: number },
  session: Session | null,
): { added: number; skipped: number } {
  getSetRow(db, input.setId);
  const rated = db
    .select({
      id: messages.id,
      conversationId: messages.conversationId,
      position: messages.position,
      content: messages.content,
      feedback: messages.feedback,
      channel: conversations.channel,
      userId: conversations.userId,
    })
    .from(messages)
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .where(and(eq(conversations.assistantId, input.assistantId), eq(messages.role, "assistant"), sql`${messages.feedback} is not null`))
    .all()
    .filter((m) => m.channel !== "console" || m.userId === (session?.user.id ?? null))
    .filter((m) => (input.ratings === "both" ? true : input.ratings === "up" ? m.feedback! > 0 : m.feedback! < 0));
  const taken = new Set(
    db
      .select({ p: evalRows.provenance })
      .from(evalRows)
      .where(eq(evalRows.setId, input.setId))
      .all()
      .map((r) => r.p?.messageId)
      .filter(Boolean),
  );
  const rows = [];
  let skipped = 0;
  for (const m of rated) {
    if (rows.length >= input.limit) break;
    if (taken.has(m.id)) {
      skipped++;
      continue;
    }
    const question = db
      .select({ content: messages.content })
      .from(messages)
      .where(and(eq(messages.conversationId, m.conversationId), eq(messages.role, "user"), sql`${messages.position} < ${m.position}`))
      .orderBy(sql`${messages.position} desc`)
      .limit(1)
      .get()?.content;
    if (!question?.trim()) {
      skipped++;
      continue;
    }
    const up = m.feedback! > 0;
    rows.push({
      question: question.trim().slice(0, EVAL_LIMITS.question),
      reference: up ? m.content.trim().slice(0, EVAL_LIMITS.reference) || null : null,
      facts: [],
      expectedSource: null,
      shouldRefuse: false,
      status: "candidate" as const,
      origin: "conversation" as const,
      provenance: { conversationId: m.conversationId, messageId: m.id, rating: m.feedback!, ...(up ? {} : { answer: m.content.slice(0, 4000) }) },
    });
  }
  if (rows.length) insertRows(db, input.setId, rows);
  recordAudit(db, session, "eval.rows.fromConversations", { type: "eval_set", id: input.setId }, { added: rows.length });
  return { added: rows.length, skipped };
}
