import "server-only";
import type { GenerationSettings, Persona } from "../../assistants";
import type { AtelierDb } from "../../db/client";
import { env } from "../../env";
import { EngineError } from "../../llm/errors";
import type { GenerationEvent, Sampling, Turn } from "../../llm/generate";
import type { ServingSpec } from "../../llm/pool";
import { renderChatPrompt } from "../../llm/prompt";
import { getModelRow, servingSpecFor } from "../../models";
import { engineFor, localEngine, type TurnEngine } from "../../nodes";
import type { FittedPrompt } from "./fit";

/*
 * "Generate for these settings": the one path from a persona (an assistant's saved settings, the
 * unsaved draft of "Try it", an evaluation's configuration) to the engine.
 */

export type ResolvedModel = { id: string; label: string; spec: ServingSpec; contextLength: number | null; engine: TurnEngine };

/**
 * The model row behind `modelId` as the engine serves it (a LoRA on its base model), and the
 * engine that answers with it: this process's, or the inference nodes that serve the version
 * (server/nodes). This is the one place a turn picks its engine.
 */
export function resolveModel(db: AtelierDb, modelId: string | null, assistantName: string): ResolvedModel {
  if (!modelId) throw new EngineError("MODEL_NOT_FOUND", `${assistantName} has no model selected.`);
  const row = getModelRow(db, modelId);
  return { id: row.id, label: row.name, spec: servingSpecFor(db, row), contextLength: row.contextLength, engine: engineFor(db, row.id) };
}

/** The persona prompt plus, when set, the instructed reply for questions outside the domain. */
export function composeSystemPrompt(settings: Pick<GenerationSettings, "systemPrompt" | "outOfScopeReply">): string {
  const reply = settings.outOfScopeReply?.trim();
  if (!reply) return settings.systemPrompt;
  const instruction = `If a question is outside your domain, do not answer it; reply exactly: ${reply}`;
  return settings.systemPrompt.trim() ? `${settings.systemPrompt.trimEnd()}\n\n${instruction}` : instruction;
}

/**
 * The turns sent to the model: the last `historyWindow` earlier messages plus the new one (the
 * last turn). 0 sends the whole conversation.
 */
export function windowTurns(turns: Turn[], historyWindow: number): Turn[] {
  if (historyWindow <= 0 || turns.length <= historyWindow + 1) return turns;
  return turns.slice(turns.length - (historyWindow + 1));
}

/** The sampling of a turn: the persona's, with the answer capped at ATELIER_MAX_TOKENS and the turn's seed. */
export function turnSampling(persona: Persona, seed?: number): Sampling {
  return {
    ...persona.sampling,
    maxTokens: Math.min(persona.sampling.maxTokens, env().ATELIER_MAX_TOKENS),
    ...(seed !== undefined ? { seed } : {}),
  };
}

/** Streams one answer for a fitted prompt (fit.ts: instructions, sources and turns already chosen). */
export function generateFitted(opts: {
  spec: ServingSpec;
  prompt: Pick<FittedPrompt, "systemPrompt" | "turns">;
  sampling: Sampling;
  signal?: AbortSignal;
  affinity?: string;
  /** Where the answer is generated (resolveModel's choice); this process's engine by default. */
  engine?: TurnEngine;
}): AsyncGenerator<GenerationEvent> {
  return (opts.engine ?? localEngine)({
    spec: opts.spec,
    systemPrompt: opts.prompt.systemPrompt,
    turns: opts.prompt.turns,
    sampling: opts.sampling,
    signal: opts.signal,
    affinity: opts.affinity,
  });
}

/**
 * The exact text the model is given for a fitted prompt (its chat template applied), from the
 * model's vocabulary alone: a version served by inference nodes loads no weights here.
 */
export async function renderPrompt(spec: ServingSpec, prompt: Pick<FittedPrompt, "systemPrompt" | "turns">): Promise<{ text: string; tokens: number }> {
  const { text, tokens } = await renderChatPrompt(spec.modelPath, prompt.systemPrompt, prompt.turns);
  return { text, tokens: tokens.length };
}
