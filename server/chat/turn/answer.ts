import "server-only";
import type { AtelierDb } from "../../db/client";
import type { MessageCitation } from "../../db/schema";
import type { GenerationEvent, GenerationStats, Turn } from "../../llm/generate";
import { knowledgeBudget, retrieveFromCollections, withKnowledge, type Retrieval } from "../../knowledge";
import type { TurnConfig } from "./config";
import { generateWithPersona, resolveModel, type ResolvedModel } from "./generate";

/*
 * The chat turn, without persistence: resolve the model version, retrieve from the knowledge
 * collections for the user's last message, and generate under the persona. The console, the
 * widget and the API (through send.ts, which stores it), "Try it" and evaluations all run this.
 */

/** A turn ready to generate: the model that answers and the sources found (null when knowledge is off or found nothing usable). */
export type PreparedTurn = { config: TurnConfig; model: ResolvedModel; knowledge: Retrieval | null };

/**
 * Resolves the model (throws when there is none or its file is missing) and retrieves sources
 * for `question`. Retrieval never throws: a knowledge problem means an answer without sources.
 */
export async function prepareTurn(db: AtelierDb, config: TurnConfig, question: string): Promise<PreparedTurn> {
  const model = resolveModel(db, config.modelId, config.name);
  const knowledge = config.collectionIds.length
    ? await retrieveFromCollections(db, config.collectionIds, question, knowledgeBudget(model.contextLength))
    : null;
  return { config, model, knowledge };
}

/** Generation events for a prepared turn; `affinity` keeps a conversation on the sequence that holds its earlier turns. */
export function generateTurn(turn: PreparedTurn, turns: Turn[], opts: { signal?: AbortSignal; affinity?: string } = {}): AsyncGenerator<GenerationEvent> {
  const { persona } = turn.config;
  return generateWithPersona({
    spec: turn.model.spec,
    persona: turn.knowledge ? { ...persona, systemPrompt: withKnowledge(persona.systemPrompt, turn.knowledge) } : persona,
    turns,
    signal: opts.signal,
    affinity: opts.affinity,
    seed: turn.config.seed,
    engine: turn.model.engine,
  });
}

export type TurnEvent =
  | { type: "start"; model: { id: string; label: string } }
  | { type: "citations"; citations: MessageCitation[] }
  | { type: "token"; text: string }
  | { type: "done"; text: string; aborted: boolean; stats: GenerationStats };

/**
 * One answer to `turns` (ending with the user's message) under `config`; nothing is stored.
 * Aborting `signal` stops generation (the done event then says aborted).
 */
export async function* answer(db: AtelierDb, input: { config: TurnConfig; turns: Turn[]; signal?: AbortSignal }): AsyncGenerator<TurnEvent> {
  const question = input.turns.at(-1)?.content ?? "";
  const turn = await prepareTurn(db, input.config, question);
  yield { type: "start", model: { id: turn.model.id, label: turn.model.label } };
  if (turn.knowledge?.citations.length) yield { type: "citations", citations: turn.knowledge.citations };
  for await (const ev of generateTurn(turn, input.turns, { signal: input.signal })) {
    if (ev.type === "text") yield { type: "token", text: ev.text };
    else yield { type: "done", text: ev.text, aborted: ev.aborted, stats: ev.stats };
  }
}
