import "server-only";
import { resolveChatWrapper, type ChatWrapper, type LlamaContext, type LlamaContextSequence, type LlamaModel } from "node-llama-cpp";
import { env } from "../env";
import { lockstepDispatchSchedule, sequenceOrderStrategy, StepBarrier } from "./batching";
import { checkInternalsOnce, nativeSequenceId } from "./internals";
import { EngineError } from "./errors";
import { inspectGguf } from "./inspect";
import { llamaInstance } from "./llama";
import { engineKind, NativePool, type NativeServing } from "./native-serving";
import { inferenceThreads, sequenceContextSize } from "./tuning";

export type { ServingSpec } from "./types";
import type { ServingSpec } from "./types";

type LoadedModel = {
  model: LlamaModel;
  /** Resolved once: resolving renders the GGUF's Jinja template many times (~0.3-0.5 s CPU). */
  chatWrapper: ChatWrapper;
  refs: number;
  trainContext: number | null;
};

/**
 * A served model: one context with several sequences, so concurrent conversations are
 * evaluated in the same batch instead of queueing behind each other.
 */
export class ServingContext {
  private readonly waiters: Array<{ resolve: (s: LlamaContextSequence) => void; reject: (e: unknown) => void }> = [];
  /** Every sequence of the context, created up front; a fresh context hands out ids 0..N-1 in order. */
  private readonly sequences: LlamaContextSequence[] = [];
  private readonly idOf = new Map<LlamaContextSequence, number>();
  private readonly busy = new Set<number>();
  /** Which conversation last filled each sequence's KV cache. */
  private readonly affinityOf = new Map<number, string | null>();
  private retiring = false;

  constructor(
    readonly spec: ServingSpec,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    readonly chatWrapper: ChatWrapper,
    readonly threads: number,
    private readonly onIdleRetired: () => Promise<void>,
    /** Keeps generating sequences in step so each step is one decode (batching.ts). */
    private readonly barrier: StepBarrier = new StepBarrier(),
  ) {
    while (context.sequencesLeft > 0) {
      const sequence = context.getSequence();
      this.idOf.set(sequence, this.sequences.length);
      this.sequences.push(sequence);
    }
    if (this.sequences[0]) checkInternalsOnce(context, this.sequences[0]);
  }

  get activeSequences(): number {
    return this.busy.size;
  }

  /** Tokens one conversation may hold (every sequence of the context gets this much). */
  get contextSize(): number {
    return this.context.contextSize;
  }

  /** The lockstep handle for a leased sequence (see StepBarrier). */
  lockstep(sequence: LlamaContextSequence): { arrive: () => Promise<void>; leave: () => void } {
    const id = nativeSequenceId(sequence) ?? this.idOf.get(sequence) ?? -1;
    return { arrive: () => this.barrier.arrive(id), leave: () => this.barrier.leave(id) };
  }

  /** The id of a sequence of this context (for diagnostics and tests). */
  sequenceIndex(sequence: LlamaContextSequence): number {
    return this.idOf.get(sequence) ?? -1;
  }

  /**
   * Picks a free sequence. Active ids should stay consecutive ({0,1,2} decodes as one
   * micro-batch, {0,3,6} as three — see batching.ts), so the lowest free id wins; a
   * conversation gets back the sequence holding its earlier turns (only the new tokens are
   * then evaluated) when that costs no batching, i.e. nothing else is running.
   */
  private pick(affinity: string | null): LlamaContextSequence | undefined {
    const free = this.sequences.filter((s) => !this.busy.has(this.idOf.get(s)!));
    if (free.length === 0) return undefined;
    const mine = affinity === null ? undefined : free.find((s) => this.affinityOf.get(this.idOf.get(s)!) === affinity);
    const chosen = mine && (this.busy.size === 0 || mine === free[0]) ? mine : free[0]!;
    this.busy.add(this.idOf.get(chosen)!);
    return chosen;
  }

  /** Waits for a free sequence; the caller must `release` it. */
  async acquire(signal?: AbortSignal, affinity: string | null = null): Promise<LlamaContextSequence> {
    if (this.retiring) throw new EngineError("ENGINE_BUSY", `${this.spec.label} is being unloaded.`);
    const now = this.pick(affinity);
    if (now) return now;
    return new Promise<LlamaContextSequence>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          const s = this.pick(affinity);
          if (s) resolve(s);
          else this.waiters.unshift(waiter);
        },
        reject,
      };
      this.waiters.push(waiter);
      signal?.addEventListener(
        "abort",
        () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason ?? new Error("aborted"));
        },
        { once: true },
      );
    });
  }

  release(sequence: LlamaContextSequence, affinity: string | null = null): void {
    this.barrier.leave(nativeSequenceId(sequence) ?? this.idOf.get(sequence) ?? -1);
    const id = this.idOf.get(sequence)!;
    this.busy.delete(id);
    this.affinityOf.set(id, affinity);
    const next = this.waiters.shift();
    if (next) next.resolve(sequence);
    if (this.busy.size === 0 && this.retiring) void this.onIdleRetired();
  }

  /** Stop taking new work; free native memory once the last generation finishes. */
  retire(): Promise<void> | void {
    this.retiring = true;
    for (const w of this.waiters.splice(0)) w.reject(new EngineError("ENGINE_BUSY", `${this.spec.label} was unloaded.`));
    if (this.busy.size === 0) return this.onIdleRetired();
  }
}

const globalForPool = globalThis as unknown as { atelierPool?: ModelPool };

/** What serves a spec: node-llama-cpp's context (ServingContext) or the native loop (NativeServing), per ATELIER_ENGINE. */
export type Serving = ServingContext | NativeServing;

/** Loaded models (shared by path, reference-counted) and their serving contexts. */
export class ModelPool {
  private readonly models = new Map<string, Promise<LoadedModel>>();
  private readonly contexts = new Map<string, Promise<ServingContext>>();
  private readonly native = new NativePool();

  static instance(): ModelPool {
    globalForPool.atelierPool ??= new ModelPool();
    return globalForPool.atelierPool;
  }

  private keyOf(spec: ServingSpec): string {
    return `${spec.id}\u0000${spec.modelPath}\u0000${spec.loraPath ?? ""}`;
  }

  /** What serves a spec on the configured engine, loading the model on first use. */
  serving(spec: ServingSpec): Promise<Serving> {
    if (env().ATELIER_ENGINE === "node-llama-cpp") return this.nodeLlamaCppServing(spec);
    return engineKind().then(async (kind): Promise<Serving> =>
      kind === "native" && (await this.native.servesTemplateOf(spec.modelPath)) ? this.native.serving(spec) : this.nodeLlamaCppServing(spec),
    );
  }

  /** The node-llama-cpp serving context for a spec (the old engine, whatever ATELIER_ENGINE says). */
  nodeLlamaCppServing(spec: ServingSpec): Promise<ServingContext> {
    const key = this.keyOf(spec);
    let entry = this.contexts.get(key);
    if (!entry) {
      let self: Promise<ServingContext> | undefined;
      entry = self = this.createServing(spec, key, () => self);
      this.contexts.set(key, entry);
      entry.catch(() => this.contexts.delete(key));
    }
    return entry;
  }

  private async createServing(spec: ServingSpec, key: string, entryOf: () => Promise<ServingContext> | undefined): Promise<ServingContext> {
    const loaded = await this.retainModel(spec.modelPath);
    try {
      const llama = await llamaInstance();
      const threads = inferenceThreads(llama.cpuMathCores);
      let created: LlamaContext | undefined;
      const barrier = new StepBarrier();
      const context = await loaded.model.createContext({
        sequences: env().ATELIER_SEQUENCES,
        batching: {
          itemPrioritizationStrategy: sequenceOrderStrategy(() => created),
          dispatchSchedule: lockstepDispatchSchedule(() => created, barrier),
        },
        contextSize: sequenceContextSize(loaded.trainContext),
        batchSize: env().ATELIER_BATCH_SIZE,
        threads,
        ...(spec.loraPath ? { lora: { adapters: [{ filePath: spec.loraPath }] } } : {}),
      });
      created = context;
      return new ServingContext(spec, loaded.model, context, loaded.chatWrapper, threads, async () => {
        if (this.contexts.get(key) === entryOf()) this.contexts.delete(key);
        await context.dispose();
        await this.releaseModel(spec.modelPath);
      }, barrier);
    } catch (err) {
      await this.releaseModel(spec.modelPath);
      throw new EngineError("MODEL_LOAD_FAILED", `Could not start ${spec.label}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async retainModel(modelPath: string): Promise<LoadedModel> {
    let entry = this.models.get(modelPath);
    if (!entry) {
      entry = (async () => {
        const facts = await inspectGguf(modelPath);
        const llama = await llamaInstance();
        try {
          const model = await llama.loadModel({ modelPath, gpuLayers: "auto" });
          return { model, chatWrapper: resolveChatWrapper(model), refs: 0, trainContext: facts.contextLength };
        } catch (err) {
          throw new EngineError("MODEL_LOAD_FAILED", `Could not load ${modelPath}: ${(err as Error).message}`, { cause: err });
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
      await loaded.model.dispose();
    }
  }

  /** Unload every context serving `id` (after in-flight generations finish). */
  async unload(id: string): Promise<void> {
    await this.native.unload(id);
    const matching = [...this.contexts.entries()].filter(([key]) => key.startsWith(`${id}\u0000`));
    await Promise.all(
      matching.map(async ([key, p]) => {
        this.contexts.delete(key);
        const serving = await p.catch(() => null);
        await serving?.retire();
      }),
    );
  }

  async loadedSummary(): Promise<Array<{ id: string; name: string; refs: number; threads: number }>> {
    const all = await Promise.all([...this.contexts.values()].map((p) => p.catch(() => null)));
    return all
      .filter((s): s is ServingContext => s !== null)
      .map((s) => ({ id: s.spec.id, name: s.spec.label, refs: s.activeSequences, threads: s.threads }))
      .concat(await this.native.loadedSummary());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const ids = new Set([...this.contexts.keys()].map((k) => k.split("\u0000")[0] ?? ""));
    await Promise.all([...ids].map((id) => this.unload(id)));
    await this.native[Symbol.asyncDispose]();
  }
}
