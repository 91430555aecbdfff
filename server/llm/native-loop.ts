import "server-only";
// The typed boundary of Atelier's native generation loop (server/llm/native/): the one file that
// loads the addon and talks to it. One loop = one model's weights + one llama_context whose
// sequences are decoded together by a native thread; JS submits token prompts and receives text.
import fs from "node:fs";
import path from "node:path";
import type { Llama } from "node-llama-cpp";

export type NativeLoopOptions = {
  modelPath: string;
  /** Layers offloaded to the GPU; -1 = all, 0 = CPU only. */
  gpuLayers: number;
  sequences: number;
  contextPerSequence: number;
  batchSize: number;
  /** Most prompt tokens evaluated per step while other sequences generate. */
  prefillChunk?: number;
  threads: number;
  /** -1 auto (llama.cpp decides, like node-llama-cpp), 0 off, 1 on. */
  flashAttention?: -1 | 0 | 1;
  /** One K/V stream for every sequence (llama-server's -kvu); default: one per sequence. */
  kvUnified?: boolean;
};

export type NativeSampling = {
  temperature: number;
  topK: number;
  topP: number;
  minP?: number;
  repeatPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Window of generated tokens the penalties look at (LlamaChat's: 64). */
  penaltyLastN?: number;
  penalizeNewline?: boolean;
  seed?: number;
};

export type NativeRequest = NativeSampling & {
  /** The rendered prompt's token ids. */
  prompt: readonly number[];
  maxTokens: number;
  /** Plain-text stop strings, matched in the streamed text (never shown). */
  stopStrings?: readonly string[];
  /** Token sequences that stop generation (templates' special end-of-turn tokens). */
  stopTokens?: readonly (readonly number[])[];
  /** A LoRA adapter from loadAdapter(); the base model when absent. */
  adapter?: NativeAdapter;
  /** Benchmarks only: run to maxTokens even past end-of-generation tokens. */
  ignoreEog?: boolean;
};

export type NativeStopReason = "eogToken" | "stopGenerationTrigger" | "maxTokens" | "abort" | "error";

export type NativeDone = {
  reason: NativeStopReason;
  /** Generated tokens (an end-of-generation token is not counted). */
  tokens: number;
  promptTokens: number;
  /** Prompt tokens whose K/V was already cached (a follow-up turn, a shared system prompt). */
  reusedTokens: number;
  sequence: number;
  error?: string;
};

export type NativeHandlers = {
  /** New text (whole UTF-8 characters, stop strings held back; may be "" while a character or a
   *  possible stop string is held) and the token count so far. */
  onText: (text: string, tokens: number) => void;
  onDone: (done: NativeDone) => void;
};

export type NativeAdapter = { readonly index: number; readonly path: string };

export type NativeLoopStats = {
  steps: number;
  decodes: number;
  decodedTokens: number;
  prefillTokens: number;
  sampledTokens: number;
  maxActive: number;
  maxStepSequences: number;
  kvCopies: number;
  decodeMs: number;
  sampleMs: number;
  active: number;
  queued: number;
};

type RawEvent = { id: number; text: string; tokens: number; done?: true; reason?: NativeStopReason; promptTokens?: number; reusedTokens?: number; sequence?: number; error?: string };
type RawLoop = {
  submit(id: number, prompt: Int32Array, request: Record<string, unknown>): void;
  cancel(id: number): void;
  drain(): RawEvent[];
  loadAdapter(path: string): Promise<number>;
  stats(): NativeLoopStats;
  info(): { contextPerSequence: number; sequences: number; vocabulary: number };
  close(): Promise<RawEvent[]>;
};
type LibraryInfo = { llamaLibrary?: string; ggmlLibrary?: string; devices: { name: string; description: string; type: string }[]; systemInfo: string };
type Addon = {
  libraryInfo(): LibraryInfo;
  loadBackends(dir: string): number;
  createLoop(options: NativeLoopOptions, notify: () => void): Promise<RawLoop>;
};

export class NativeLoopUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NativeLoopUnavailable";
  }
}

/** The repository root: $ATELIER_ROOT, else the cwd or a parent holding server/llm/native. */
function repoRoot(): string {
  const candidates = process.env.ATELIER_ROOT ? [path.resolve(process.env.ATELIER_ROOT)] : [];
  for (let dir = process.cwd(), i = 0; i < 5; i++, dir = path.dirname(dir)) candidates.push(dir);
  return candidates.find((d) => fs.existsSync(path.join(d, "server", "llm", "native"))) ?? process.cwd();
}

/** node-llama-cpp's prebuilt package for this backend: the addon built against it links the same libllama. */
export function variantOf(llama: Pick<Llama, "gpu">): string {
  const plat = `${process.platform}-${process.arch}`;
  return llama.gpu === false ? plat : `${plat}-${llama.gpu}`;
}

export function addonPath(variant: string): string {
  return process.env.ATELIER_NATIVE_ADDON ?? path.join(repoRoot(), "server", "llm", "native", "build", variant, "atelier-loop.node");
}

const loaded = new Map<string, Addon>();

function loadAddon(file: string): Addon {
  let addon = loaded.get(file);
  if (!addon) {
    if (!fs.existsSync(file)) throw new NativeLoopUnavailable(`the native loop is not built (${file} is missing); run \`npm run setup\``);
    // process.dlopen, not require: bundlers leave it alone and the path is only known at run time.
    const mod = { exports: {} as Addon };
    process.dlopen(mod, file);
    addon = mod.exports;
    loaded.set(file, addon);
  }
  return addon;
}

/** The libllama shared objects mapped into this process (a second copy would mean a second ggml). */
function mappedLlamaLibraries(): string[] {
  try {
    const maps = fs.readFileSync("/proc/self/maps", "utf8");
    return [...new Set(maps.split("\n").map((l) => l.slice(l.indexOf("/"))).filter((p) => /\/libllama(\.[a-z]+)?(\.v[\d.]+)?\.so$/.test(p)))];
  } catch {
    return [];
  }
}

/**
 * Start-up self-check: the addon for node-llama-cpp's backend loads, it resolved libllama to the
 * copy node-llama-cpp already loaded (one ggml, one backend registry, the GPU backend node-llama-cpp
 * picked), and a CPU or GPU device is registered. Throws NativeLoopUnavailable with the reason.
 */
export function checkNativeLoop(llama: Pick<Llama, "gpu">): { addon: string; llamaLibrary: string; devices: string[] } {
  if (process.platform !== "linux") throw new NativeLoopUnavailable(`the native loop is built for Linux only (this is ${process.platform})`);
  const file = addonPath(variantOf(llama));
  const addon = loadAddon(file);
  const info = addon.libraryInfo();
  if (!info.llamaLibrary) throw new NativeLoopUnavailable("the native loop could not locate libllama in this process");
  const mapped = mappedLlamaLibraries();
  if (mapped.length > 1) throw new NativeLoopUnavailable(`two copies of libllama are loaded (${mapped.join(", ")}): the native loop was built for another backend than node-llama-cpp loaded`);
  if (info.devices.length === 0) throw new NativeLoopUnavailable("no ggml backend is registered (node-llama-cpp must be initialised first)");
  if (llama.gpu !== false && !info.devices.some((d) => d.type === "gpu" || d.type === "igpu")) {
    throw new NativeLoopUnavailable(`node-llama-cpp uses ${llama.gpu} but the native loop sees no GPU device`);
  }
  return { addon: file, llamaLibrary: info.llamaLibrary, devices: info.devices.map((d) => `${d.type}:${d.name}`) };
}

type Pending = NativeHandlers & { request: NativeRequest };

/** One model served by the native loop. Dispose it (await using / [Symbol.asyncDispose]) to free the weights. */
export class NativeLoop implements AsyncDisposable {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly raw: RawLoop,
    readonly contextPerSequence: number,
    readonly sequences: number,
    readonly vocabulary: number,
  ) {}

  /** Loads the model (off the JS thread) and starts the loop. `llama` must be node-llama-cpp's instance. */
  static async open(llama: Pick<Llama, "gpu">, options: NativeLoopOptions): Promise<NativeLoop> {
    checkNativeLoop(llama);
    const addon = loadAddon(addonPath(variantOf(llama)));
    let loop: NativeLoop | undefined;
    const raw = await addon.createLoop({ prefillChunk: 256, flashAttention: -1, kvUnified: false, ...options }, () => loop?.dispatch(loop.raw.drain()));
    const info = raw.info();
    loop = new NativeLoop(raw, info.contextPerSequence, info.sequences, info.vocabulary);
    return loop;
  }

  /**
   * Queues a generation; it starts at the next step when a sequence is free (FIFO otherwise).
   * Returns a cancel function: the generation ends with reason "abort" at the next step.
   */
  generate(request: NativeRequest, handlers: NativeHandlers): () => void {
    if (this.closed) throw new NativeLoopUnavailable("the native loop is closed");
    if (request.prompt.length === 0) throw new RangeError("the prompt is empty");
    const id = this.nextId++;
    if (this.nextId > 0xffff_fff0) this.nextId = 1;
    this.raw.submit(id, Int32Array.from(request.prompt), {
      temperature: request.temperature,
      topK: request.topK,
      topP: request.topP,
      minP: request.minP ?? 0,
      repeatPenalty: request.repeatPenalty ?? 1,
      presencePenalty: request.presencePenalty ?? 0,
      frequencyPenalty: request.frequencyPenalty ?? 0,
      penaltyLastN: request.penaltyLastN ?? 64,
      penalizeNewline: request.penalizeNewline ?? false,
      seed: (request.seed ?? Math.floor(Date.now() / 1000)) >>> 0,
      maxTokens: request.maxTokens,
      stopStrings: request.stopStrings ?? [],
      stopTokens: (request.stopTokens ?? []).map((t) => Int32Array.from(t)),
      adapter: request.adapter?.index ?? -1,
      ignoreEog: request.ignoreEog ?? false,
    });
    this.pending.set(id, { ...handlers, request });
    return () => {
      if (!this.closed && this.pending.has(id)) this.raw.cancel(id);
    };
  }

  /** Loads a LoRA adapter of this model; sequences pick it per request. */
  async loadAdapter(file: string): Promise<NativeAdapter> {
    if (this.closed) throw new NativeLoopUnavailable("the native loop is closed");
    const index = await this.raw.loadAdapter(path.resolve(file));
    return { index, path: path.resolve(file) };
  }

  stats(): NativeLoopStats {
    return this.raw.stats();
  }

  get activeRequests(): number {
    return this.pending.size;
  }

  private dispatch(events: RawEvent[]): void {
    for (const e of events) {
      const p = this.pending.get(e.id);
      if (!p) continue;
      if (e.text || !e.done) p.onText(e.text, e.tokens);
      if (e.done) {
        this.pending.delete(e.id);
        p.onDone({ reason: e.reason ?? "error", tokens: e.tokens, promptTokens: e.promptTokens ?? 0, reusedTokens: e.reusedTokens ?? 0, sequence: e.sequence ?? -1, error: e.error });
      }
    }
  }

  /** Stops the loop (generations in flight end as "abort") and frees the model and context. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.dispatch(await this.raw.close());
    this.dispatch(this.raw.drain());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
