import "server-only";
// Engine adapter: serves ModelPool specs on the native generation loop (native-loop.ts).
// node-llama-cpp keeps what it does well here: a vocabulary-only load of each GGUF for the chat
// template and tokenizer (the weights are in memory once, in the loop), GPU detection and the
// layer-offload decision. Every LoRA of one base model shares that model's loop: adapters are
// chosen per request.
import { GgufInsights, readGgufFileInfo, resolveChatWrapper, type ChatWrapper, type Llama, type LlamaModel } from "node-llama-cpp";
import { env } from "../env";
import { AsyncQueue } from "./async-queue";
import { toChatHistory } from "./chat-history";
import { EngineError } from "./errors";
import type { GenerationEvent, Sampling, ServingSpec, Turn } from "./types";
import { inspectGguf } from "./inspect";
import { llamaInstance } from "./llama";
import { checkNativeLoop, NativeLoop, NativeLoopUnavailable, type NativeAdapter, type NativeDone } from "./native-loop";
import { fitPromptTokens, plainTemplate, REPEAT_PENALTY_LAST_TOKENS, stopTriggers } from "./sequence-run";
import { inferenceThreads, sequenceContextSize } from "./tuning";

export type EngineKind = "native" | "node-llama-cpp";

/** Vocabulary-only load of a GGUF: tokenizer and chat template, no weights. */
type Vocab = { vocab: LlamaModel; chatWrapper: ChatWrapper; plain: boolean };

type NativeModel = Vocab & {
  loop: NativeLoop;
  threads: number;
  adapters: Map<string, Promise<NativeAdapter>>;
  refs: number;
};

const globalForEngine = globalThis as unknown as { atelierEngineKind?: Promise<EngineKind> };

/**
 * Which engine serves: ATELIER_ENGINE=native requires the native loop, node-llama-cpp the old
 * path, auto (the default) the native loop when its start-up self-check passes, else the old path
 * with the reason logged once.
 */
export function engineKind(): Promise<EngineKind> {
  const wanted = env().ATELIER_ENGINE;
  if (wanted === "node-llama-cpp") return Promise.resolve("node-llama-cpp");
  globalForEngine.atelierEngineKind ??= (async (): Promise<EngineKind> => {
    const llama = await llamaInstance();
    try {
      checkNativeLoop(llama);
      return "native";
    } catch (err) {
      if (wanted === "native") throw new EngineError("MODEL_LOAD_FAILED", `ATELIER_ENGINE=native but the native loop cannot start: ${(err as Error).message}`, { cause: err });
      console.warn(`[atelier] serving with node-llama-cpp's loop: ${(err as Error).message}`);
      return "node-llama-cpp";
    }
  })().catch((err: unknown) => {
    globalForEngine.atelierEngineKind = undefined;
    throw err;
  });
  return globalForEngine.atelierEngineKind;
}

/** For tests that switch ATELIER_ENGINE inside one process. */
export function resetEngineKindForTests(): void {
  globalForEngine.atelierEngineKind = undefined;
}

/** node-llama-cpp's "auto" layer offload for this file, resolved without loading the weights. */
async function gpuLayersFor(llama: Llama, modelPath: string): Promise<number> {
  if (llama.gpu === false) return 0;
  try {
    const insights = await GgufInsights.from(await readGgufFileInfo(modelPath, { sourceType: "filesystem", logWarnings: false }), llama);
    return (await insights.configurationResolver.resolveModelGpuLayersV2("auto", {})).gpuLayers;
  } catch {
    return -1;
  }
}

/** A spec served on the native loop: what ModelPool.serving() returns when the engine is native. */
export class NativeServing {
  private active = 0;
  private retiring = false;
  private idle: (() => void) | null = null;

  constructor(
    readonly spec: ServingSpec,
    private readonly shared: NativeModel,
    readonly adapter: NativeAdapter | undefined,
    private readonly onRetired: () => Promise<void>,
  ) {}

  get model(): LlamaModel {
    return this.shared.vocab;
  }
  get chatWrapper(): ChatWrapper {
    return this.shared.chatWrapper;
  }
  get threads(): number {
    return this.shared.threads;
  }
  get loop(): NativeLoop {
    return this.shared.loop;
  }
  get activeSequences(): number {
    return this.active;
  }
  /** Tokens one conversation may hold (the loop's context per sequence). */
  get contextSize(): number {
    return this.loop.contextPerSequence;
  }

  /** Stop taking new work; release the model once the generations in flight finish. */
  async retire(): Promise<void> {
    this.retiring = true;
    if (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.onRetired();
  }

  /** generateChat on the native loop (same events and stats as the node-llama-cpp path). */
  async *generate(opts: { systemPrompt: string; turns: Turn[]; sampling: Sampling; signal?: AbortSignal }, started: number): AsyncGenerator<GenerationEvent> {
    if (this.retiring) throw new EngineError("ENGINE_BUSY", `${this.spec.label} is being unloaded.`);
    const history = toChatHistory(opts.systemPrompt, opts.turns);
    const { tokens, state } = fitPromptTokens(
      { history, chatWrapper: this.chatWrapper, tokenizer: this.model.tokenizer, contextSize: this.loop.contextPerSequence, maxTokens: opts.sampling.maxTokens },
      this.chatWrapper.generateContextState({ chatHistory: history }),
    );
    const triggers = stopTriggers(state.stopGenerationTriggers, this.model.tokenizer);
    const maxTokens = Math.max(0, Math.min(opts.sampling.maxTokens, this.loop.contextPerSequence - 1 - tokens.length));
    const s = opts.sampling;

    const queue = new AsyncQueue<string>();
    let firstTokenAt: number | null = null;
    let completionTokens = 0;
    let text = "";
    let done: NativeDone | null = null;
    let cancel = () => {};
    const onAbort = () => cancel();

    this.active++;
    try {
      if (maxTokens === 0 || opts.signal?.aborted) {
        done = { reason: maxTokens === 0 ? "maxTokens" : "abort", tokens: 0, promptTokens: tokens.length, reusedTokens: 0, sequence: -1 };
        queue.close();
      } else {
        cancel = this.loop.generate(
          {
            prompt: tokens,
            maxTokens,
            temperature: s.temperature,
            topK: s.topK,
            topP: s.topP,
            seed: s.seed,
            repeatPenalty: s.repeatPenalty,
            penaltyLastN: REPEAT_PENALTY_LAST_TOKENS,
            // ATELIER_IGNORE_EOS: benchmarks compare engines at exactly the same token count.
            stopStrings: env().ATELIER_IGNORE_EOS ? [] : triggers.text,
            stopTokens: env().ATELIER_IGNORE_EOS ? [] : triggers.tokens,
            ignoreEog: env().ATELIER_IGNORE_EOS,
            adapter: this.adapter,
          },
          {
            onText: (chunk, count) => {
              firstTokenAt ??= performance.now();
              completionTokens = count;
              if (!chunk) return;
              text += chunk;
              queue.push(chunk);
            },
            onDone: (d) => {
              done = d;
              completionTokens = d.tokens;
              if (d.reason === "error") {
                const overflow = /KV cache|sequence holds/.test(d.error ?? "");
                queue.fail(new EngineError(overflow ? "CONTEXT_OVERFLOW" : "ENGINE_BUSY", `Generation failed on ${this.spec.label}: ${d.error ?? "unknown error"}`));
              } else queue.close();
            },
          },
        );
        opts.signal?.addEventListener("abort", onAbort, { once: true });
      }

      // The first text goes out alone (time to first token); text that piled up while the consumer was busy
      // goes out as one chunk.
      let first = true;
      for await (const chunk of queue) {
        yield { type: "text", text: first ? chunk : chunk + queue.drain().join("") };
        first = false;
      }
      const end = done as NativeDone | null;
      const ended = performance.now();
      const genMs = firstTokenAt === null ? 0 : ended - firstTokenAt;
      yield {
        type: "end",
        text,
        aborted: end?.reason === "abort",
        stats: {
          promptTokens: end?.promptTokens ?? tokens.length,
          completionTokens,
          ttftMs: firstTokenAt === null ? null : firstTokenAt - started,
          durationMs: ended - started,
          tokensPerSecond: completionTokens > 1 && genMs > 0 ? ((completionTokens - 1) * 1000) / genMs : null,
          stopReason: end?.reason ?? "abort",
        },
      };
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
      // A consumer that stopped early (or failed) frees the sequence at the next step.
      if (!done) cancel();
      this.active--;
      if (this.active === 0 && this.idle) this.idle();
    }
  }
}

/** Native loops by model file (shared by every spec and LoRA of that file) and spec views of them. */
export class NativePool {
  private readonly models = new Map<string, Promise<NativeModel>>();
  private readonly views = new Map<string, Promise<NativeServing>>();
  private readonly vocabs = new Map<string, Promise<Vocab>>();
  private readonly plain = new Map<string, boolean>();

  private loadVocab(modelPath: string): Promise<Vocab> {
    let entry = this.vocabs.get(modelPath);
    if (!entry) {
      entry = (async () => {
        await inspectGguf(modelPath); // missing / damaged files fail with their specific error
        const vocab = await (await llamaInstance()).loadModel({ modelPath, vocabOnly: true });
        const chatWrapper = resolveChatWrapper(vocab);
        const sample = toChatHistory("system", [{ role: "user", content: "hello" }]);
        return { vocab, chatWrapper, plain: plainTemplate(chatWrapper, chatWrapper.generateContextState({ chatHistory: sample })) };
      })();
      this.vocabs.set(modelPath, entry);
      entry.catch(() => this.vocabs.delete(modelPath));
    }
    return entry;
  }

  /**
   * Whether the native loop can serve this model: its chat template must be plain text in, text out.
   * Templates with thought segments or function-call prefixes need LlamaChat's state machine, so
   * those models stay on node-llama-cpp (ModelPool asks before loading any weights).
   */
  async servesTemplateOf(modelPath: string): Promise<boolean> {
    const known = this.plain.get(modelPath);
    if (known !== undefined) return known;
    const v = await this.loadVocab(modelPath);
    this.plain.set(modelPath, v.plain);
    if (!v.plain && !this.models.has(modelPath)) {
      this.vocabs.delete(modelPath);
      await v.vocab.dispose();
    }
    return v.plain;
  }

  private keyOf(spec: ServingSpec): string {
    return `${spec.id}\u0000${spec.modelPath}\u0000${spec.loraPath ?? ""}`;
  }

  serving(spec: ServingSpec): Promise<NativeServing> {
    const key = this.keyOf(spec);
    let entry = this.views.get(key);
    if (!entry) {
      let self: Promise<NativeServing> | undefined;
      entry = self = this.createView(spec, key, () => self);
      this.views.set(key, entry);
      entry.catch(() => this.views.delete(key));
    }
    return entry;
  }

  private async createView(spec: ServingSpec, key: string, entryOf: () => Promise<NativeServing> | undefined): Promise<NativeServing> {
    const shared = await this.retainModel(spec);
    try {
      let adapter: NativeAdapter | undefined;
      if (spec.loraPath) {
        let pending = shared.adapters.get(spec.loraPath);
        if (!pending) {
          pending = shared.loop.loadAdapter(spec.loraPath);
          shared.adapters.set(spec.loraPath, pending);
          pending.catch(() => shared.adapters.delete(spec.loraPath!));
        }
        adapter = await pending;
      }
      return new NativeServing(spec, shared, adapter, async () => {
        if (this.views.get(key) === entryOf()) this.views.delete(key);
        await this.releaseModel(spec.modelPath);
      });
    } catch (err) {
      await this.releaseModel(spec.modelPath);
      throw new EngineError("MODEL_LOAD_FAILED", `Could not start ${spec.label}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async retainModel(spec: ServingSpec): Promise<NativeModel> {
    const modelPath = spec.modelPath;
    let entry = this.models.get(modelPath);
    if (!entry) {
      entry = (async () => {
        const facts = await inspectGguf(modelPath);
        const llama = await llamaInstance();
        let vocab: Vocab | undefined;
        try {
          vocab = await this.loadVocab(modelPath);
          const threads = inferenceThreads(llama.cpuMathCores);
          const loop = await NativeLoop.open(llama, {
            modelPath,
            gpuLayers: await gpuLayersFor(llama, modelPath),
            sequences: env().ATELIER_SEQUENCES,
            contextPerSequence: sequenceContextSize(facts.contextLength),
            batchSize: env().ATELIER_BATCH_SIZE,
            threads,
          });
          return { ...vocab, loop, threads, adapters: new Map(), refs: 0 };
        } catch (err) {
          this.vocabs.delete(modelPath);
          await vocab?.vocab.dispose();
          const reason = err instanceof NativeLoopUnavailable ? err.message : (err as Error).message;
          throw new EngineError("MODEL_LOAD_FAILED", `Could not load ${modelPath}: ${reason}`, { cause: err });
        }
      })();
      this.models.set(modelPath, entry);
      entry.catch(() => this.models.delete(modelPath));
    }
    const loaded = await entry;
    loaded.refs++;
    return loaded;
  }

  private async releaseModel(modelPath: string): Promise<void> {
    const entry = this.models.get(modelPath);
    if (!entry) return;
    const loaded = await entry;
    loaded.refs--;
    if (loaded.refs <= 0) {
      this.models.delete(modelPath);
      this.vocabs.delete(modelPath);
      await loaded.loop.close();
      await loaded.vocab.dispose();
    }
  }

  /** Unload every view serving `id` (after its generations in flight finish). */
  async unload(id: string): Promise<void> {
    const matching = [...this.views.entries()].filter(([key]) => key.startsWith(`${id}\u0000`));
    await Promise.all(
      matching.map(async ([key, p]) => {
        this.views.delete(key);
        const view = await p.catch(() => null);
        await view?.retire();
      }),
    );
  }

  async loadedSummary(): Promise<Array<{ id: string; name: string; refs: number; threads: number }>> {
    const all = await Promise.all([...this.views.values()].map((p) => p.catch(() => null)));
    return all.filter((s): s is NativeServing => s !== null).map((s) => ({ id: s.spec.id, name: s.spec.label, refs: s.activeSequences, threads: s.threads }));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const ids = new Set([...this.views.keys()].map((k) => k.split("\u0000")[0] ?? ""));
    await Promise.all([...ids].map((id) => this.unload(id)));
  }
}
