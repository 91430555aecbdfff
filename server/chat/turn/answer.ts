import "server-only";
import path from "node:path";
import type { AtelierDb } from "../../db/client";
import { AtelierError } from "../../errors";
import type { MessageCitation } from "../../db/schema";
import { findSources, type Retrieval } from "../../knowledge";
import type { GenerationEvent, GenerationStats, Sampling, Turn } from "../../llm/generate";
import { ModelPool } from "../../llm/pool";
import { vocabServing } from "../../llm/prompt";
import { StopTextMatcher } from "../../llm/token-text";
import { localEngine } from "../../nodes";
import type { TurnConfig } from "./config";
import { fitPrompt, type FittedPrompt } from "./fit";
import { composeSystemPrompt, generateFitted, resolveModel, turnSampling, windowTurns, type ResolvedModel } from "./generate";
import { servingMeter } from "./meter";

/*
 * The chat turn, without persistence: resolve the model version, retrieve from the knowledge
 * collections for the user's last message, fit instructions, sources and history into the
 * model's context (fit.ts), and generate. The console, the widget and the API (through send.ts,
 * which stores it), "Try it" and evaluations all run this.
 */

/** A turn ready to generate: the model that answers, the fitted prompt and the sources in it (null when knowledge is off or none fit). */
export type PreparedTurn = { config: TurnConfig; model: ResolvedModel; knowledge: Retrieval | null; prompt: FittedPrompt; sampling: Sampling };

/**
 * Resolves the model (throws when there is none or its file is missing), retrieves sources for
 * the last turn and fits the prompt (throws an AtelierError with reason context_length_exceeded
 * when even the message cannot fit). Retrieval itself never throws: a knowledge problem means an
 * answer without sources.
 */
export async function prepareTurn(db: AtelierDb, config: TurnConfig, turns: Turn[]): Promise<PreparedTurn> {
  const model = resolveModel(db, config.modelId, config.name);
  const question = turns.at(-1)?.content ?? "";
  const [serving, sources] = await Promise.all([
    // A version routed to inference nodes is fitted from its vocabulary: no weights load here.
    (model.engine === localEngine ? ModelPool.instance().serving(model.spec) : vocabServing(model.spec.modelPath))
      .catch((err: unknown) => {
        throw withoutServerPaths(err, model);
      }),
    config.collectionIds.length ? findSources(db, config.collectionIds, question, config.retrieval) : null,
  ]);
  const sampling = turnSampling(config.persona, config.seed);
  const prompt = await fitPrompt({
    meter: servingMeter(serving),
    systemPrompt: composeSystemPrompt(config.persona),
    turns: windowTurns(turns, config.persona.historyWindow),
    maxTokens: sampling.maxTokens,
    sources,
  });
  return { config, model, knowledge: prompt.knowledge, prompt, sampling };
}

/**
 * A model that fails to load says why, but anyone chatting (viewers, widget visitors) must not
 * learn where its files are on the server: paths become file names (admins see the full path on
 * the Models page and in the log).
 */
function withoutServerPaths(err: unknown, model: ResolvedModel): unknown {
  if (!(err instanceof AtelierError)) return err;
  let message = err.message;
  for (const p of [model.spec.modelPath, model.spec.loraPath]) if (p) message = message.split(p).join(path.basename(p));
  if (message === err.message) return err;
  console.error(`[chat] ${model.label} failed to load:`, err.message);
  return new AtelierError(err.errorCode, message, { cause: err, reason: err.reason });
}

/**
 * Generation events for a prepared turn; `affinity` keeps a conversation on the sequence that
 * holds its earlier turns. The config's stop sequences end the answer where they first appear
 * (they are not part of it; stopReason "stopSequence").
 */
export async function* generateTurn(turn: PreparedTurn, opts: { signal?: AbortSignal; affinity?: string } = {}): AsyncGenerator<GenerationEvent> {
  const stops = (turn.config.stop ?? []).filter((s) => s.length > 0);
  const run = (signal?: AbortSignal) =>
    generateFitted({ spec: turn.model.spec, prompt: turn.prompt, sampling: turn.sampling, signal, affinity: opts.affinity, engine: turn.model.engine });
  if (stops.length === 0) {
    yield* run(opts.signal);
    return;
  }
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();
  const matcher = new StopTextMatcher(stops);
  let text = "";
  let stopped = false;
  try {
    for await (const ev of run(stop.signal)) {
      if (ev.type === "text") {
        if (stopped) continue;
        const shown = matcher.push(ev.text);
        if (shown.text) {
          text += shown.text;
          yield { type: "text", text: shown.text };
        }
        if (shown.stopped) {
          stopped = true;
          stop.abort();
        }
        continue;
      }
      if (!stopped) {
        const rest = matcher.flush();
        if (rest) {
          text += rest;
          yield { type: "text", text: rest };
        }
      }
      yield stopped ? { type: "end", text, aborted: false, stats: { ...ev.stats, stopReason: "stopSequence" } } : { ...ev, text };
    }
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }
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
  const turn = await prepareTurn(db, input.config, input.turns);
  yield { type: "start", model: { id: turn.model.id, label: turn.model.label } };
  if (turn.knowledge?.citations.length) yield { type: "citations", citations: turn.knowledge.citations };
  for await (const ev of generateTurn(turn, { signal: input.signal })) {
    if (ev.type === "text") yield { type: "token", text: ev.text };
    else yield { type: "done", text: ev.text, aborted: ev.aborted, stats: ev.stats };
  }
}
