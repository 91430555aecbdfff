import "server-only";
import { eq } from "drizzle-orm";
import type { AtelierDb } from "@/server/db/client";
import { assistantCollections, assistants, models, type MessageCitation } from "@/server/db/schema";
import { sequenceContextSize } from "@/server/llm/tuning";
import { embedderOrWarning } from "./embedding-model";
import { buildContext, type TokenCounter } from "./search/context";
import { search, type SearchHit, type SearchResponse } from "./search/search";

/*
 * Retrieval for a chat turn: the one function the console chat, the widget and the public API
 * call. It never throws: a knowledge problem must not take the chat down, so a failure means
 * "answer without sources" (and is logged).
 */

export type Retrieval = {
  /** The cited passages block to place in the prompt ("" when nothing was found). */
  contextText: string;
  citations: MessageCitation[];
  mode: SearchResponse["mode"] | "none";
};

const NOTHING: Retrieval = { contextText: "", citations: [], mode: "none" };

/** Passages searched before packing; the budget decides how many make it into the prompt. */
const CANDIDATES = 8;

/**
 * Prompt tokens given to sources: a fifth of the conversation's context (the system prompt,
 * the history and the answer need the rest), at most 1,500.
 */
export function knowledgeBudget(contextLength: number | null): number {
  return Math.max(64, Math.min(1500, Math.floor(sequenceContextSize(contextLength) * 0.2)));
}

export function assistantCollectionIds(db: AtelierDb, assistantId: string): string[] {
  return db
    .select({ id: assistantCollections.collectionId })
    .from(assistantCollections)
    .where(eq(assistantCollections.assistantId, assistantId))
    .all()
    .map((r) => r.id);
}

function defaultBudget(db: AtelierDb, assistantId: string): number {
  const row = db
    .select({ contextLength: models.contextLength })
    .from(assistants)
    .leftJoin(models, eq(models.id, assistants.modelId))
    .where(eq(assistants.id, assistantId))
    .get();
  return knowledgeBudget(row?.contextLength ?? null);
}

/**
 * Searches the assistant's collections for `query` (hybrid BM25 + vectors when an embedding
 * model is configured, else BM25) and packs the best passages into `budget` prompt tokens
 * (default: knowledgeBudget of the assistant's model), numbered for [n] citations.
 */
export async function retrieveForAssistant(db: AtelierDb, assistantId: string, query: string, budget?: number): Promise<Retrieval> {
  return retrieveFromCollections(db, assistantCollectionIds(db, assistantId), query, budget ?? defaultBudget(db, assistantId));
}

/** Passages found for a question, best first, before they are packed into a budget. */
export type SourceCandidates = { hits: SearchHit[]; mode: SearchResponse["mode"] };

/**
 * Searches `collectionIds` for `query`; null when knowledge is off, the query is empty or
 * anything fails (logged): a knowledge problem means an answer without sources.
 */
export async function findSources(db: AtelierDb, collectionIds: string[], query: string): Promise<SourceCandidates | null> {
  try {
    if (collectionIds.length === 0 || query.trim() === "") return null;
    const { embedder } = await embedderOrWarning();
    const result = await search(db, query, { collectionIds, limit: CANDIDATES, embedder });
    return { hits: result.hits, mode: result.mode };
  } catch (err) {
    console.error("Knowledge retrieval failed; answering without sources:", err);
    return null;
  }
}

/**
 * Packs found passages into `budget` tokens counted by `count` (the model's tokenizer; the
 * word-based estimate without one), numbered for [n] citations.
 */
export function packSources(found: SourceCandidates | null, budget: number, count?: TokenCounter): Retrieval {
  if (!found || found.hits.length === 0 || budget <= 0) return NOTHING;
  const built = buildContext(found.hits, budget, { count });
  return {
    contextText: built.text,
    citations: built.citations.map((c) => ({
      n: c.n,
      documentId: c.documentId,
      documentTitle: c.title,
      chunkId: c.chunkId,
      heading: c.heading,
      excerpt: c.snippet,
    })),
    mode: built.citations.length > 0 ? found.mode : "none",
  };
}

/** As retrieveForAssistant, for an explicit set of collections (the unsaved draft of "Try it"). */
export async function retrieveFromCollections(db: AtelierDb, collectionIds: string[], query: string, budget: number, count?: TokenCounter): Promise<Retrieval> {
  return packSources(await findSources(db, collectionIds, query), budget, count);
}

export const CITE_INSTRUCTION =
  "Use the sources below when they answer the question, and cite each one you use by its number in brackets, like [1]. " +
  "If they do not contain the answer, say you do not know rather than guess.";

/** The assistant's system prompt with the retrieved sources appended (unchanged when there are none). */
export function withKnowledge(systemPrompt: string, retrieval: Pick<Retrieval, "contextText">): string {
  if (!retrieval.contextText) return systemPrompt;
  return `${systemPrompt.trimEnd()}\n\n${CITE_INSTRUCTION}\n\n${retrieval.contextText}`;
}
