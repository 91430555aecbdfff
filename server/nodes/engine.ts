import "server-only";
import type { AtelierDb } from "../db/client";
import { env } from "../env";
import { AtelierError } from "../errors";
import { generateChat, type GenerationEvent, type GenerationStats } from "../llm/generate";
import { UpstreamError } from "./http";
import { renderPromptTokens } from "../llm/prompt";
import { StreamCut, streamRemoteChat } from "./remote-chat";
import { forgetAffinity, pickNode, rememberNode, routesFor, runtimeOf, servesLocally, type Candidate } from "./router";

/*
 * The engine a chat turn runs on, chosen per model version: this process's own (node-llama-cpp)
 * or the inference nodes that serve the version. Every answer (console, Try it, widget, /v1,
 * evaluations, A/B arms) resolves its model through the chat turn, which asks `engineFor` — so
 * local and remote engines are interchangeable and nothing above them knows which one answered.
 */

/** What a turn asks of an engine: the same as the local engine's generateChat takes (model, prompt, turns, sampling, signal, affinity). */
export type EngineRequest = Parameters<typeof generateChat>[0];

export type TurnEngine = (req: EngineRequest) => AsyncGenerator<GenerationEvent>;

/** This process's engine. */
export const localEngine: TurnEngine = (req) => generateChat(req);

/** An answer that broke after part of it was streamed (a node died or the network cut it). */
export class InterruptedAnswer extends AtelierError {
  constructor(message: string) {
    super("unavailable:node", message, { reason: "stream_interrupted" });
  }
}

/** Did the answer stop because its stream was cut (keep the partial text, mark it interrupted)? */
export const isInterruptedAnswer = (err: unknown): err is InterruptedAnswer => err instanceof InterruptedAnswer;

/**
 * The engine for a model version. Without node routes it is the local engine itself (no
 * overhead); with routes, turns go to nodes first and the local engine is the fallback when the
 * version is also served locally.
 */
export function engineFor(db: AtelierDb, modelId: string): TurnEngine {
  if (routesFor(db, modelId).length === 0) return localEngine;
  return (req) => routed(db, modelId, req);
}

async function* routed(db: AtelierDb, modelId: string, req: EngineRequest): AsyncGenerator<GenerationEvent> {
  const tried = new Set<string>();
  const failures: string[] = [];
  const candidates = routesFor(db, modelId);
  for (;;) {
    const target = pickNode(candidates, req.affinity ?? null, tried);
    if (!target) break;
    tried.add(target.node.id);
    const attempt = fromNode(target, req);
    let first: IteratorResult<GenerationEvent>;
    try {
      first = await attempt.next();
    } catch (err) {
      if (err instanceof UpstreamError && err.retryable && !req.signal?.aborted) {
        failures.push(`${target.node.name}: ${err.message}`);
        forgetAffinity(req.affinity);
        continue;
      }
      throw asEngineFailure(err, target);
    }
    rememberNode(req.affinity, target.node.id);
    if (first.done) return;
    yield first.value;
    try {
      yield* attempt;
    } catch (err) {
      // After the first token a failure is not retried (the client has part of the answer): it is an interruption.
      throw asEngineFailure(err, target);
    }
    return;
  }
  if (req.signal?.aborted) return;
  if (servesLocally(db, modelId)) {
    if (failures.length) console.warn(`[nodes] ${req.spec.label}: no node answered (${failures.join("; ")}); answering locally`);
    yield* localEngine(req);
    return;
  }
  throw new AtelierError(
    "unavailable:node",
    failures.length
      ? `No inference node could answer with ${req.spec.label}: ${failures.join("; ")}.`
      : `No healthy inference node serves ${req.spec.label} right now, and it is not served locally.`,
    { reason: "no_healthy_node" },
  );
}

function asEngineFailure(err: unknown, target: Candidate): unknown {
  if (err instanceof StreamCut) return new InterruptedAnswer(`${target.node.name}: ${err.message}`);
  if (err instanceof UpstreamError) {
    if (err.message === "aborted") return err;
    return new AtelierError("upstream:node", `${target.node.name} refused the request: ${err.message}`, { reason: "node_error" });
  }
  return err;
}

/**
 * One attempt on one node, as engine events. Its circuit hears the outcome: a failure before the
 * first token counts against the node (and the caller retries elsewhere); so does a cut stream.
 */
async function* fromNode(target: Candidate, req: EngineRequest): AsyncGenerator<GenerationEvent> {
  const runtime = runtimeOf(target.node.id);
  runtime.breaker.begin();
  runtime.outstanding++;
  const started = performance.now();
  let firstAt: number | null = null;
  let text = "";
  let chunks = 0;
  let outcome: "ok" | "failed" | "aborted" = "aborted";
  try {
    // llama-server gets the prompt this process would evaluate, as tokens (its own template rendering can differ).
    const promptTokens = target.node.kind === "llama-server" ? await renderPromptTokens(req.spec.modelPath, req.systemPrompt, req.turns) : undefined;
    const stream = streamRemoteChat(
      { url: target.node.url, apiKey: target.node.apiKey, kind: target.node.kind, model: target.route.remoteName, extra: target.route.extra },
      {
        promptTokens,
        systemPrompt: req.systemPrompt,
        turns: req.turns,
        sampling: req.sampling,
        affinity: req.affinity,
        signal: req.signal,
        firstByteTimeoutMs: env().ATELIER_NODE_TIMEOUT_S * 1000,
      },
    );
    for await (const ev of stream) {
      if (ev.type === "text") {
        firstAt ??= performance.now();
        text += ev.text;
        chunks++;
        yield { type: "text", text: ev.text };
        continue;
      }
      outcome = "ok";
      const ended = performance.now();
      const completionTokens = ev.completionTokens ?? chunks;
      const genMs = firstAt === null ? 0 : ended - firstAt;
      const stats: GenerationStats = {
        promptTokens: ev.promptTokens ?? 0,
        completionTokens,
        ttftMs: firstAt === null ? null : firstAt - started,
        durationMs: ended - started,
        tokensPerSecond: completionTokens > 1 && genMs > 0 ? ((completionTokens - 1) * 1000) / genMs : null,
        stopReason: ev.reason === "length" ? "maxTokens" : ev.reason === "stop" ? "eogToken" : (ev.reason ?? "eogToken"),
      };
      yield { type: "end", text, aborted: false, stats };
    }
    if (outcome !== "ok" && req.signal?.aborted) {
      const ended = performance.now();
      yield {
        type: "end",
        text,
        aborted: true,
        stats: { promptTokens: 0, completionTokens: chunks, ttftMs: firstAt === null ? null : firstAt - started, durationMs: ended - started, tokensPerSecond: null, stopReason: "abort" },
      };
    }
  } catch (err) {
    outcome = req.signal?.aborted ? "aborted" : "failed";
    // A refusal of this request (HTTP 400: too long, bad parameter) says nothing about the node's health.
    const nodeFault = err instanceof StreamCut || (err instanceof UpstreamError && err.retryable);
    if (outcome === "failed" && nodeFault) runtime.breaker.failure((err as Error).message);
    else if (outcome === "failed") outcome = "ok";
    throw err;
  } finally {
    runtime.outstanding--;
    if (outcome === "ok") runtime.breaker.success();
  }
}
