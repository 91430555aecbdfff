import "server-only";
import { toChatHistory } from "./chat-history";
import type { GenerationEvent, Sampling, ServingSpec, Turn } from "./types";

export type { GenerationEvent, GenerationStats, Sampling, Turn } from "./types";
import { AsyncQueue } from "./async-queue";
import { llamaChatRun } from "./llamachat-run";
import { NativeServing } from "./native-serving";
import { ModelPool } from "./pool";
import { plainTemplate, sequenceRun, type RunResult } from "./sequence-run";

/**
 * Streams one chat completion. The sequence is freed when the stream ends, is aborted
 * (signal) or is abandoned by the consumer (iterator return).
 * On the native engine (ATELIER_ENGINE, native-serving.ts) the native loop generates; on
 * node-llama-cpp, plain text-in/text-out chat templates (ChatML, Llama 3, ...) run on the lean token
 * loop of sequence-run.ts and templates with segments or function-call prefixes go through LlamaChat.
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
  const serving = await ModelPool.instance().serving(opts.spec);
  if (serving instanceof NativeServing) return yield* serving.generate(opts, started);
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  opts.signal?.addEventListener("abort", onOuterAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();

  const sequence = await serving.acquire(stop.signal, opts.affinity ?? null);
  const queue = new AsyncQueue<string>();
  let firstTokenAt: number | null = null;
  let completionTokens = 0;
  let text = "";
  // Text reaches the consumer (tRPC, the HTTP write) on the next event-loop turn, not in the
  // microtasks that follow a sampled token: there it delayed every sequence's next decode (and
  // made the batch strategy hold for it); now the decode starts first and the HTTP work runs
  // while ggml computes. Text from one turn goes out as one chunk.
  let pendingText = "";
  let flushScheduled = false;
  const flushText = () => {
    flushScheduled = false;
    if (!pendingText) return;
    queue.push(pendingText);
    pendingText = "";
  };

  let done: Promise<RunResult>;
  try {
    const history = toChatHistory(opts.systemPrompt, opts.turns);
    const state = serving.chatWrapper.generateContextState({ chatHistory: history });
    const args = {
      sequence,
      chatWrapper: serving.chatWrapper,
      history,
      sampling: opts.sampling,
      signal: stop.signal,
      onToken: (count: number) => {
        firstTokenAt ??= performance.now();
        completionTokens = count;
      },
      onText: (chunk: string) => {
        text += chunk;
        pendingText += chunk;
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flushText);
        }
      },
      lockstep: serving.lockstep(sequence),
    };
    done = (plainTemplate(serving.chatWrapper, state) ? sequenceRun(args, state) : llamaChatRun(args)).then(
      (r) => {
        flushText();
        queue.close();
        return r;
      },
      (err: unknown) => {
        flushText();
        queue.fail(err);
        throw err;
      },
    );
    // Handled below (the queue rethrows it); without this, a failure before the consumer awaits `done` is "unhandled".
    done.catch(() => undefined);
  } catch (err) {
    serving.release(sequence, null);
    opts.signal?.removeEventListener("abort", onOuterAbort);
    throw err;
  }

  let finished = false;
  try {
    // Tokens that piled up while the consumer was busy go out as one chunk.
    for await (const chunk of queue) yield { type: "text", text: chunk + queue.drain().join("") };
    const result = await done;
    const ended = performance.now();
    const genMs = firstTokenAt === null ? 0 : ended - firstTokenAt;
    finished = true;
    yield {
      type: "end",
      text,
      aborted: result.stopReason === "abort",
      stats: {
        promptTokens: result.promptTokens,
        completionTokens,
        ttftMs: firstTokenAt === null ? null : firstTokenAt - started,
        durationMs: ended - started,
        // The first token's latency is TTFT; rate counts the tokens after it.
        tokensPerSecond: completionTokens > 1 && genMs > 0 ? ((completionTokens - 1) * 1000) / genMs : null,
        stopReason: result.stopReason,
      },
    };
  } finally {
    if (!finished) stop.abort();
    const failed = await done.then(
      () => false,
      () => true,
    );
    opts.signal?.removeEventListener("abort", onOuterAbort);
    // A sequence whose generation failed midway holds unknown state: no conversation may reuse it.
    serving.release(sequence, failed ? null : (opts.affinity ?? null));
  }
}
