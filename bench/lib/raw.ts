// Raw node-llama-cpp driver: N concurrent generations of a fixed token count on one or more contexts.
import { getLlama, LlamaChat, LlamaChatSession, LlamaLogLevel, resolveChatWrapper, type ChatWrapper, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel } from "node-llama-cpp";
import { lockstepDispatchSchedule, sequenceOrderStrategy, StepBarrier } from "../../server/llm/batching.js";
import { plainTemplate, sequenceRun } from "../../server/llm/sequence-run.js";
import { SAMPLING, SYSTEM_PROMPT, chatmlPrompt, userPrompt, now, cpuMsOf, type GenRecord, type RunResult } from "./common.js";

export type RawConfig = {
  threads: number; // context `threads` (and llama.maxThreads, so the ThreadsSplitter never hands out more)
  batchSize?: number;
  seqPerContext: number; // createContext({sequences})
  contextsPerRun?: "auto" | number; // default: ceil(concurrency / seqPerContext)
  flashAttention?: boolean | "auto";
  dispatch?: "nextCycle" | "all-active" | "atelier"; // "all-active": custom dispatchSchedule that waits until every active sequence queued
  /** "seqOrder": custom strategy that emits the batch in ascending sequence-id order (see seqOrderStrategy). */
  strategy?: "maximumParallelism" | "firstInFirstOut" | "seqOrder" | "atelier";
  /** evaluate: low-level sequence.evaluate loop; chat: LlamaChatSession.prompt; engine: LlamaChat.generateResponse
   *  like Atelier's LlamaChat fallback (server/llm/llamachat-run.ts); atelier: Atelier's own token loop on
   *  sequence.evaluate (server/llm/sequence-run.ts), same sampling. Both with `sampling`, incl. repeat penalty. */
  method: "evaluate" | "chat" | "engine" | "atelier";
  sampling?: EngineSampling;
  systemPrompt?: string;
  /** engine method: resolve the chat wrapper once per model and pass it to every LlamaChat (default true).
   *  false = `new LlamaChat({contextSequence})` re-resolves it each time (Jinja template analysis: ~0.1-0.6 s CPU). */
  cacheChatWrapper?: boolean;
  ctxPerSeq?: number;
  gpu?: false | "auto";
};

/** Atelier's default assistant sampling (server/assistants/defaults.ts DEFAULT_SAMPLING). */
export const DEFAULT_ENGINE_SAMPLING: EngineSampling = { temperature: 0.3, topP: 0.9, topK: 40, repeatPenalty: 1.1 };

let llamaP: Promise<Llama> | undefined;
export function rawLlama(gpu: false | "auto" = false) {
  llamaP ??= getLlama({ gpu, build: "never", logLevel: LlamaLogLevel.error });
  return llamaP;
}
const models = new Map<string, Promise<LlamaModel>>();
export async function rawModel(path: string, gpu: false | "auto" = false) {
  const llama = await rawLlama(gpu);
  if (!models.has(path)) models.set(path, llama.loadModel({ modelPath: path, gpuLayers: gpu === false ? 0 : "auto" }));
  return models.get(path)!;
}

/** A dispatch schedule that fires as soon as every *active* sequence of the context has queued its next token
 *  (so decode steps are not split into partial batches while the other sequences are still sampling), or after
 *  `maxWaitMs`. Sampling runs as one libuv AsyncWorker per sequence, so results arrive in separate macrotasks and
 *  the default "nextCycle" (setImmediate) often dispatches after the first one. */
function allActiveSchedule(ctxRef: { ctx?: LlamaContext; active: number }, maxWaitMs = 4) {
  return (dispatch: () => void) => {
    const deadline = now() + maxWaitMs;
    const tick = () => {
      const queued = (ctxRef.ctx as any)?._queuedDecodeSequenceIds?.size ?? 0;
      if (queued >= ctxRef.active || now() >= deadline) dispatch();
      else setImmediate(tick);
    };
    setImmediate(tick);
  };
}

/**
 * llama.cpp (non-unified KV, i.e. one KV stream per sequence, which node-llama-cpp always uses) splits a batch
 * into ubatches with split_equal(sequential=true): one ubatch only takes sequences whose ids ascend by exactly 1
 * in batch order. node-llama-cpp adds tokens in queue order, so an 8-sequence decode step becomes several
 * graph computes (weights streamed from RAM several times). This strategy keeps maximumParallelism's
 * fairness (1 token per waiting sequence first, leftovers to prompts) but emits items in ascending sequence id.
 */
export function seqOrderStrategy(ref: { ctx?: LlamaContext }) {
  return ({ items, size }: { items: readonly any[]; size: number }) => {
    const ids = new Map<unknown, number>(((ref.ctx as any)?._queuedDecodes ?? []).map((q: any) => [q.tokens, q.sequenceId]));
    const sorted = [...items].sort((x, y) => (ids.get(x.tokens) ?? 0) - (ids.get(y.tokens) ?? 0));
    let left = size;
    const res: { item: any; processAmount: number }[] = [];
    for (const item of sorted) { if (left <= 0) break; res.push({ item, processAmount: 1 }); left--; }
    for (const r of res) { const extra = Math.min(r.item.tokens.length - r.processAmount, left); r.processAmount += extra; left -= extra; }
    return res;
  };
}

export async function makeContexts(model: LlamaModel, cfg: RawConfig, concurrency: number) {
  const llama = model.llama;
  llama.maxThreads = Math.max(cfg.threads, 1);
  const n = cfg.contextsPerRun === "auto" || cfg.contextsPerRun == null ? Math.ceil(concurrency / cfg.seqPerContext) : cfg.contextsPerRun;
  const ctxPerSeq = cfg.ctxPerSeq ?? 512;
  const refs: { ctx?: LlamaContext; active: number; barrier: StepBarrier }[] = [];
  const contexts: LlamaContext[] = [];
  for (let i = 0; i < n; i++) {
    const ref: { ctx?: LlamaContext; active: number; barrier: StepBarrier } = { active: 0, barrier: new StepBarrier() };
    const ctx = await model.createContext({
      contextSize: ctxPerSeq,
      sequences: cfg.seqPerContext,
      threads: cfg.threads,
      batchSize: cfg.batchSize ?? 512,
      flashAttention: cfg.flashAttention ?? false,
      batching: {
        dispatchSchedule: cfg.dispatch === "all-active" ? allActiveSchedule(ref)
          : cfg.dispatch === "atelier" ? lockstepDispatchSchedule(() => ref.ctx, ref.barrier) // at once when every lockstep sequence queued
          : "nextCycle",
        itemPrioritizationStrategy:
          cfg.strategy === "seqOrder" ? seqOrderStrategy(ref)
          : cfg.strategy === "atelier" ? sequenceOrderStrategy(() => ref.ctx) // Atelier's: id order; with method "atelier" the sequences also run in lockstep
          : cfg.strategy ?? "maximumParallelism",
      },
    });
    ref.ctx = ctx;
    refs.push(ref);
    contexts.push(ctx);
  }
  // batch-size histogram: tokens per llama_decode call
  const stats = { decodes: 0, tokens: 0, decodeMs: 0, outOfOrder: 0 };
  for (const ctx of contexts) {
    const native = (ctx as any)._ctx;
    const init = native.initBatch.bind(native);
    Object.defineProperty(native, "initBatch", {
      configurable: true, writable: true,
      value: (size: number) => { stats.decodes++; stats.tokens += size; return init(size); },
    });
    const add = native.addToBatch.bind(native);
    let lastSeq = -1;
    Object.defineProperty(native, "addToBatch", {
      configurable: true, writable: true,
      value: (seqId: number, ...rest: unknown[]) => { if (seqId !== lastSeq + 1 && lastSeq !== -1) stats.outOfOrder++; lastSeq = seqId; return add(seqId, ...rest); },
    });
    const init2 = native.initBatch;
    Object.defineProperty(native, "initBatch", { configurable: true, writable: true, value: (n: number) => { lastSeq = -1; return init2(n); } });
    const decode = native.decodeBatch.bind(native);
    Object.defineProperty(native, "decodeBatch", {
      configurable: true, writable: true,
      value: async () => { const t = now(); try { return await decode(); } finally { stats.decodeMs += now() - t; } },
    });
  }
  return { contexts, refs, stats, dispose: () => Promise.all(contexts.map((c) => c.dispose())) };
}

/** A leased sequence: contexts and sequences persist across runs (like the engine's serving context), so the KV
 *  cache is warm and LlamaChat reuses the common prefix (system prompt) exactly as Atelier does. The lowest free
 *  sequence id is leased first, keeping active ids consecutive (one ubatch per decode, see seqOrderStrategy). */
type Lease = { ctx: LlamaContext; ref: { active: number; barrier: StepBarrier }; seq: LlamaContextSequence; release: () => void };
type Engine = Awaited<ReturnType<typeof makeContexts>> & { free: LlamaContextSequence[][]; key: string };
let engine: Engine | undefined;

async function getEngine(model: LlamaModel, cfg: RawConfig, concurrency: number): Promise<Engine> {
  const nCtx = cfg.contextsPerRun === "auto" || cfg.contextsPerRun == null ? Math.ceil(concurrency / cfg.seqPerContext) : cfg.contextsPerRun;
  const key = JSON.stringify({ m: model.filename, cfg: { ...cfg, sampling: undefined, systemPrompt: undefined, method: undefined, cacheChatWrapper: undefined }, nCtx });
  if (engine?.key === key) return engine;
  await engine?.dispose();
  const cx = await makeContexts(model, { ...cfg, contextsPerRun: nCtx }, concurrency);
  const free = cx.contexts.map((ctx) => Array.from({ length: cfg.seqPerContext }, () => ctx.getSequence()));
  engine = { ...cx, free, key };
  return engine;
}

function lease(e: Engine, k: number): Lease {
  const list = e.free[k]!;
  list.sort((x, y) => (x as any)._sequenceId - (y as any)._sequenceId);
  const seq = list.shift();
  if (!seq) throw new Error("no free sequence");
  const ref = e.refs[k]!;
  ref.active++;
  return { ctx: e.contexts[k]!, ref, seq, release: () => { ref.active--; list.push(seq); } };
}

async function genEvaluate(model: LlamaModel, l: Lease, i: number, nTokens: number): Promise<GenRecord> {
  const startMs = now();
  let firstMs = 0, tokens = 0;
  try {
    await l.seq.clearHistory();
    const prompt = model.tokenize(chatmlPrompt(i), true);
    for await (const _t of l.seq.evaluate(prompt, { ...SAMPLING })) {
      if (tokens++ === 0) firstMs = now();
      if (tokens >= nTokens) break;
    }
  } finally {
    l.release();
  }
  return { startMs, firstMs, endMs: now(), tokens };
}

async function genChat(l: Lease, i: number, nTokens: number): Promise<GenRecord> {
  const startMs = now();
  const session = new LlamaChatSession({ contextSequence: l.seq, systemPrompt: SYSTEM_PROMPT, autoDisposeSequence: false, chatWrapper: cachedChatWrapper(l.ctx.model) });
  let firstMs = 0, tokens = 0;
  try {
    await session.prompt(userPrompt(i), {
      ...SAMPLING, maxTokens: nTokens,
      onToken: (t) => { if (tokens === 0) firstMs = now(); tokens += t.length; },
    });
  } finally {
    session.dispose({ disposeSequence: false });
    l.release();
  }
  return { startMs, firstMs, endMs: now(), tokens };
}

export type EngineSampling = { temperature: number; topP: number; topK: number; repeatPenalty: number; seed?: number };

const wrappers = new WeakMap<LlamaModel, ChatWrapper>();
export function cachedChatWrapper(model: LlamaModel): ChatWrapper {
  let w = wrappers.get(model);
  if (!w) wrappers.set(model, (w = resolveChatWrapper(model)));
  return w;
}

async function genEngine(l: Lease, i: number, nTokens: number, sampling: EngineSampling, system: string, cacheWrapper: boolean, startMs: number): Promise<GenRecord> {
  // like the engine: TTFT includes leasing the sequence and building LlamaChat
  const chat = new LlamaChat({ contextSequence: l.seq, autoDisposeSequence: false, chatWrapper: cacheWrapper ? cachedChatWrapper(l.ctx.model) : "auto" });
  let firstMs = 0, tokens = 0;
  try {
    await chat.generateResponse(
      [...(system.trim() ? [{ type: "system" as const, text: system }] : []), { type: "user" as const, text: userPrompt(i) }, { type: "model" as const, response: [] }],
      {
        maxTokens: nTokens, temperature: sampling.temperature, topP: sampling.topP, topK: sampling.topK, seed: sampling.seed,
        repeatPenalty: sampling.repeatPenalty === 1 ? false : { penalty: sampling.repeatPenalty },
        onToken: (t) => { if (tokens === 0) firstMs = now(); tokens += t.length; },
        onTextChunk: () => {},
      },
    );
  } finally {
    chat.dispose({ disposeSequence: false });
    l.release();
  }
  return { startMs, firstMs, endMs: now(), tokens };
}

async function genAtelier(l: Lease, i: number, nTokens: number, sampling: EngineSampling, system: string, startMs: number, lockstep: boolean): Promise<GenRecord> {
  const chatWrapper = cachedChatWrapper(l.ctx.model);
  const history = [...(system.trim() ? [{ type: "system" as const, text: system }] : []), { type: "user" as const, text: userPrompt(i) }, { type: "model" as const, response: [] }];
  let firstMs = 0, tokens = 0;
  try {
    const state = chatWrapper.generateContextState({ chatHistory: history });
    if (!plainTemplate(chatWrapper, state)) throw new Error("this model's template needs LlamaChat (method engine)");
    await sequenceRun({
      sequence: l.seq, chatWrapper, history, signal: new AbortController().signal,
      sampling: { ...sampling, maxTokens: nTokens },
      onToken: (n) => { if (n === 1) firstMs = now(); tokens = n; },
      onText: () => {},
      lockstep: lockstep ? { arrive: () => l.ref.barrier.arrive((l.seq as any)._sequenceId), leave: () => l.ref.barrier.leave((l.seq as any)._sequenceId) } : undefined,
    }, state);
  } finally {
    l.release();
  }
  return { startMs, firstMs, endMs: now(), tokens };
}

/** One measurement: `concurrency` generations of `nTokens` each, started together. Contexts persist between runs
 *  with the same config (created outside the timing). */
export async function rawRun(modelPath: string, cfg: RawConfig, concurrency: number, nTokens = 128): Promise<RunResult> {
  const model = await rawModel(modelPath, cfg.gpu ?? false);
  const e = await getEngine(model, cfg, concurrency);
  const s0 = { ...e.stats };
  const t0 = now(), c0 = cpuMsOf();
  const gens = await Promise.all(Array.from({ length: concurrency }, (_, i) => {
    const startMs = now();
    const l = lease(e, i % e.contexts.length);
    if (cfg.method === "atelier") return genAtelier(l, i, nTokens, cfg.sampling ?? DEFAULT_ENGINE_SAMPLING, cfg.systemPrompt ?? SYSTEM_PROMPT, startMs, cfg.strategy === "atelier");
    if (cfg.method === "engine") return genEngine(l, i, nTokens, cfg.sampling ?? DEFAULT_ENGINE_SAMPLING, cfg.systemPrompt ?? SYSTEM_PROMPT, cfg.cacheChatWrapper ?? true, startMs);
    return cfg.method === "chat" ? genChat(l, i, nTokens) : genEvaluate(model, l, i, nTokens);
  }));
  const wallMs = now() - t0;
  const d = { decodes: e.stats.decodes - s0.decodes, tokens: e.stats.tokens - s0.tokens, decodeMs: e.stats.decodeMs - s0.decodeMs, outOfOrder: e.stats.outOfOrder - s0.outOfOrder };
  return { gens, wallMs, cpuMs: cpuMsOf() - c0, meanBatch: d.tokens / Math.max(1, d.decodes), decodeShare: d.decodeMs / wallMs, outOfOrder: d.outOfOrder / Math.max(1, d.decodes) };
}

export async function rawDispose() {
  await engine?.dispose();
  engine = undefined;
}
