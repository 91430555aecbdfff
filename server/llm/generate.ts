import "server-only";
import { LlamaChat } from "node-llama-cpp";
import { toChatHistory, type Turn } from "./chat-history";

export type { Turn };
import { AsyncQueue } from "./async-queue";
import { ModelPool, type ServingSpec } from "./pool";


export type Sampling = {
  temperature: number;
  topP: number;
  topK: number;
  repeatPenalty: number;
  maxTokens: number;
  seed?: number;
};

export type GenerationStats = {
  promptTokens: number;
  completionTokens: number;
  ttftMs: number | null;
  durationMs: number;
  tokensPerSecond: number | null;
  stopReason: string;
};

export type GenerationEvent =
  | { type: "text"; text: string }
  | { type: "end"; text: string; stats: GenerationStats; aborted: boolean };

/**
 * Streams one chat completion. The sequence is freed when the stream ends, is aborted
 * (signal) or is abandoned by the consumer (iterator return).
 */
export async function* generateChat(opts: {
  spec: ServingSpec;
  systemPrompt: string;
  turns: Turn[];
  sampling: Sampling;
  signal?: AbortSignal;
  /** Conversation id: lets a follow-up turn reuse the KV cache of the previous one. */
  affinity?: string;
}): AsyncGenerator<GenerationEvent> {
  const started = performance.now();
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  opts.signal?.addEventListener("abort", onOuterAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();

  const serving = await ModelPool.instance().serving(opts.spec);
  const sequence = await serving.acquire(stop.signal, opts.affinity ?? null);
  let chat: LlamaChat;
  const history = toChatHistory(opts.systemPrompt, opts.turns);
  try {
    chat = new LlamaChat({ contextSequence: sequence, chatWrapper: serving.chatWrapper, autoDisposeSequence: false });
  } catch (err) {
    serving.release(sequence, null);
    opts.signal?.removeEventListener("abort", onOuterAbort);
    throw err;
  }
  const queue = new AsyncQueue<string>();
  let firstTokenAt: number | null = null;
  let completionTokens = 0;
  let text = "";

  const done = chat
    .generateResponse(history, {
      signal: stop.signal,
      stopOnAbortSignal: true,
      maxTokens: opts.sampling.maxTokens,
      temperature: opts.sampling.temperature,
      topP: opts.sampling.topP,
      topK: opts.sampling.topK,
      seed: opts.sampling.seed,
      repeatPenalty: opts.sampling.repeatPenalty === 1 ? false : { penalty: opts.sampling.repeatPenalty },
      onToken: (tokens) => {
        firstTokenAt ??= performance.now();
        completionTokens += tokens.length;
      },
      onTextChunk: (chunk) => {
        text += chunk;
        queue.push(chunk);
      },
    })
    .then(
      (r) => {
        queue.close();
        return r;
      },
      (err: unknown) => {
        queue.fail(err);
        throw err;
      },
    );

  let finished = false;
  try {
    // Tokens that piled up while the consumer was busy go out as one chunk.
    for await (const chunk of queue) yield { type: "text", text: chunk + queue.drain().join("") };
    const result = await done;
    const ended = performance.now();
    // The sequence now holds exactly prompt + answer; counting this way costs nothing before the first token.
    const promptTokens = Math.max(0, sequence.contextTokens.length - completionTokens);
    const genMs = firstTokenAt === null ? 0 : ended - firstTokenAt;
    finished = true;
    yield {
      type: "end",
      text,
      aborted: result.metadata.stopReason === "abort",
      stats: {
        promptTokens,
        completionTokens,
        ttftMs: firstTokenAt === null ? null : firstTokenAt - started,
        durationMs: ended - started,
        // The first token's latency is TTFT; rate counts the tokens after it.
        tokensPerSecond: completionTokens > 1 && genMs > 0 ? ((completionTokens - 1) * 1000) / genMs : null,
        stopReason: result.metadata.stopReason,
      },
    };
  } finally {
    if (!finished) stop.abort();
    await done.catch(() => undefined);
    opts.signal?.removeEventListener("abort", onOuterAbort);
    chat.dispose({ disposeSequence: false });
    serving.release(sequence, opts.affinity ?? null);
  }
}
