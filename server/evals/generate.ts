import "server-only";
import { eq } from "drizzle-orm";
import { answer, resolveModel, type ResolvedModel, type TurnConfig } from "../chat";
import type { AtelierDb } from "../db/client";
import { assistants } from "../db/schema";
import type { Persona } from "../assistants";
import { ModelPool } from "../llm/pool";
import type { StoredCitation } from "./schema";

/*
 * The one door from evaluations to generation and retrieval: the chat turn's owner
 * (server/chat/turn, its `answer()`). An eval answer is a chat turn with a TurnConfig — model version,
 * persona, knowledge on (the assistant's collections) or off — and the question as the only
 * turn: the same retrieval and prompt packing, the same out-of-scope instruction, the same
 * engine (parallel sequences of the model's serving context). The judge and the candidate writer
 * use the same door with their own persona.
 */

export type EvalSampling = Persona["sampling"] & { seed?: number };

export type EvalAnswer = {
  text: string;
  citations: StoredCitation[];
  completionTokens: number;
  ttftMs: number | null;
  tokensPerSecond: number | null;
  aborted: boolean;
};

/** The engine's view of a model version (a LoRA runs on its base); throws when it cannot be served. */
export function servedModel(db: AtelierDb, modelId: string): ResolvedModel {
  return resolveModel(db, modelId, "This configuration");
}

/**
 * One answer to one question under one configuration, through the chat turn's `answer()` (which
 * prepares the turn — model, retrieval, persona — and generates it); nothing is stored.
 */
export async function answerQuestion(
  db: AtelierDb,
  opts: {
    model: ResolvedModel;
    persona: { systemPrompt: string; outOfScopeReply: string | null };
    sampling: EvalSampling;
    /** the assistant's collections; null = knowledge off */
    collectionIds: string[] | null;
    question: string;
    signal?: AbortSignal;
  },
): Promise<EvalAnswer> {
  const { seed, ...sampling } = opts.sampling;
  const config: TurnConfig = {
    modelId: opts.model.id,
    name: opts.model.label,
    persona: { systemPrompt: opts.persona.systemPrompt, outOfScopeReply: opts.persona.outOfScopeReply, historyWindow: 0, sampling },
    collectionIds: opts.collectionIds ?? [],
    ...(seed !== undefined ? { seed } : {}),
  };
  let citations: StoredCitation[] = [];
  for await (const ev of answer(db, { config, turns: [{ role: "user", content: opts.question }], signal: opts.signal })) {
    if (ev.type === "citations") citations = ev.citations;
    if (ev.type !== "done") continue;
    return { text: ev.text, citations, completionTokens: ev.stats.completionTokens, ttftMs: ev.stats.ttftMs, tokensPerSecond: ev.stats.tokensPerSecond, aborted: ev.aborted };
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
  const reply = await answerQuestion(db, {
    model: servedModel(db, opts.modelId),
    persona: { systemPrompt: opts.system, outOfScopeReply: null },
    sampling: { temperature: 0, topP: 1, topK: 0, repeatPenalty: 1.1, maxTokens: opts.maxTokens, seed: 1234 },
    collectionIds: null,
    question: opts.prompt,
    signal: opts.signal,
  });
  return reply.text;
}
