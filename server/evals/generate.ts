import "server-only";
import { eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { assistants } from "../db/schema";
import { ModelPool } from "../llm/pool";
import { generateWithSettings, resolveModel, type ResolvedModel } from "../assistants/generate";
import type { GenerationSettings } from "../assistants/settings";
import { knowledgeBudget, retrieveFromCollections, withKnowledge } from "../knowledge/retrieve";
import { getModelRow } from "../models/registry";
import type { StoredCitation } from "./schema";

/*
 * The one door from evaluations to generation and retrieval. Eval answers, the model judge and
 * the model generator of candidate rows all come through here, so when the chat turn gets a new
 * owner only this file changes. An eval answer is produced exactly as a chat turn is: the same
 * retrieval and prompt packing (knowledge on), the same persona and out-of-scope instruction, the
 * same engine; the question is the only turn (no history).
 */

export type EvalSampling = GenerationSettings["sampling"] & { seed?: number };

export type EvalAnswer = {
  text: string;
  citations: StoredCitation[];
  completionTokens: number;
  ttftMs: number | null;
  tokensPerSecond: number | null;
  aborted: boolean;
};

/** The engine's view of a model version (a LoRA runs on its base); throws when it cannot be served. */
export function servedModel(db: AtelierDb, modelId: string): ResolvedModel & { contextLength: number | null } {
  const resolved = resolveModel(db, modelId, "This configuration");
  return { ...resolved, contextLength: getModelRow(db, modelId).contextLength };
}

/** Retrieval as a chat turn does it: the collections' best passages packed into a fifth of the context. */
export async function retrieveForEval(db: AtelierDb, collectionIds: string[], question: string, contextLength: number | null) {
  return retrieveFromCollections(db, collectionIds, question, knowledgeBudget(contextLength));
}

/** One answer to one question under one configuration; the sequence comes from the model's serving context. */
export async function answerQuestion(
  db: AtelierDb,
  opts: {
    model: ResolvedModel & { contextLength: number | null };
    persona: { systemPrompt: string; outOfScopeReply: string | null };
    sampling: EvalSampling;
    /** the assistant's collections; null = knowledge off */
    collectionIds: string[] | null;
    question: string;
    signal?: AbortSignal;
  },
): Promise<EvalAnswer> {
  const knowledge = opts.collectionIds ? await retrieveForEval(db, opts.collectionIds, opts.question, opts.model.contextLength) : null;
  const settings: GenerationSettings = {
    systemPrompt: knowledge ? withKnowledge(opts.persona.systemPrompt, knowledge) : opts.persona.systemPrompt,
    outOfScopeReply: opts.persona.outOfScopeReply,
    historyWindow: 0,
    sampling: opts.sampling,
    modelId: opts.model.id,
  };
  const citations: StoredCitation[] = knowledge?.citations ?? [];
  for await (const ev of generateWithSettings({ spec: opts.model.spec, settings, turns: [{ role: "user", content: opts.question }], signal: opts.signal })) {
    if (ev.type !== "end") continue;
    return {
      text: ev.text,
      citations,
      completionTokens: ev.stats.completionTokens,
      ttftMs: ev.stats.ttftMs,
      tokensPerSecond: ev.stats.tokensPerSecond,
      aborted: ev.aborted,
    };
  }
  throw new Error("The engine ended without an answer.");
}

/**
 * After a run: frees the serving contexts of versions no assistant answers with (an eval of three
 * 7B versions must not keep all three in memory). Turns still generating on them finish first.
 */
export async function releaseUnusedModels(db: AtelierDb, modelIds: string[]): Promise<void> {
  for (const id of new Set(modelIds)) {
    if (db.select({ id: assistants.id }).from(assistants).where(eq(assistants.modelId, id)).get()) continue;
    await ModelPool.instance().unload(id);
  }
}

/** Plain completion on a registered model (the judge and the candidate writer): one system prompt, one user message. */
export async function completeWithModel(db: AtelierDb, opts: { modelId: string; system: string; prompt: string; maxTokens: number; signal?: AbortSignal }): Promise<string> {
  const model = servedModel(db, opts.modelId);
  const answer = await answerQuestion(db, {
    model,
    persona: { systemPrompt: opts.system, outOfScopeReply: null },
    sampling: { temperature: 0, topP: 1, topK: 0, repeatPenalty: 1.1, maxTokens: opts.maxTokens, seed: 1234 },
    collectionIds: null,
    question: opts.prompt,
    signal: opts.signal,
  });
  return answer.text;
}
