import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { z } from "zod";
import { forgeBinaryPath } from "./binary";
import { ForgeError, NATIVE_ERROR_CODES, type ForgeErrorCode } from "./errors";

// ---------------------------------------------------------------------------------------------
// Config (the native trainer's run.json)
// ---------------------------------------------------------------------------------------------

export const ModelShapeSchema = z.object({
  n_vocab: z.number().int().min(2),
  n_embd: z.number().int().min(1),
  n_layer: z.number().int().min(1),
  n_head: z.number().int().min(1),
  n_head_kv: z.number().int().min(1).optional(),
  n_ff: z.number().int().min(1),
  n_ctx: z.number().int().min(2),
  rope_theta: z.number().positive().optional(),
  norm_eps: z.number().positive().optional(),
});

export const TokenizerConfigSchema = z.object({
  model: z.literal("gpt2"),
  pre: z.string(),
  tokens: z.array(z.string()),
  token_type: z.array(z.number().int()),
  merges: z.array(z.string()),
  bos_id: z.number().int().min(0),
  eos_id: z.number().int().min(0),
  eot_id: z.number().int().min(0).optional(),
  pad_id: z.number().int().min(0).optional(),
  chat_template: z.string().optional(),
  add_bos: z.boolean(),
});

export const LoraConfigSchema = z.object({
  rank: z.number().int().min(1).default(8),
  alpha: z.number().positive().optional(),
  dropout: z.number().min(0).lt(1).default(0),
  targets: z.array(z.string()).optional(),
});

export const TrainConfigSchema = z
  .object({
    mode: z.enum(["scratch", "full", "lora"]),
    base: z.string().optional(),
    out: z.string().min(1),
    checkpointDir: z.string().min(1),
    resume: z.boolean().default(false),
    train: z.string().min(1),
    eval: z.string().optional(),
    model: ModelShapeSchema.optional(),
    tokenizer: TokenizerConfigSchema.optional(),
    name: z.string().optional(),
    lora: LoraConfigSchema.optional(),
    batch: z.number().int().min(1).default(4),
    grad_accum: z.number().int().min(1).default(1),
    epochs: z.number().positive().optional(),
    steps: z.number().int().min(0).optional(),
    lr: z.number().positive().optional(),
    min_lr_ratio: z.number().min(0).max(1).optional(),
    warmup_steps: z.number().int().min(0).optional(),
    weight_decay: z.number().min(0).optional(),
    beta1: z.number().min(0).lt(1).optional(),
    beta2: z.number().min(0).lt(1).optional(),
    eps: z.number().positive().optional(),
    grad_clip: z.number().min(0).optional(),
    eval_every: z.number().int().min(0).optional(),
    save_every: z.number().int().min(0).optional(),
    seed: z.number().int().min(0).default(42),
    threads: z.number().int().min(0).optional(),
    out_type: z.enum(["f32", "f16"]).default("f32"),
    /** matmul operands: f32, bf16 (F32 master weights and optimizer state), auto = bf16 where the CPU has AVX512-BF16 or a GPU runs it */
    precision: z.enum(["f32", "bf16", "auto"]).optional(),
    /** per-layer activation checkpointing + chunked output head; auto = on when memory is short or the vocabulary's logits are large */
    checkpointing: z.enum(["auto", "on", "off"]).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.mode !== "scratch" && !c.base) ctx.addIssue({ code: "custom", path: ["base"], message: `"base" is required for mode ${c.mode}` });
    if (c.mode === "scratch" && !c.model) ctx.addIssue({ code: "custom", path: ["model"], message: `"model" is required for mode scratch` });
    if (c.mode === "scratch" && !c.tokenizer) ctx.addIssue({ code: "custom", path: ["tokenizer"], message: `"tokenizer" is required for mode scratch` });
    if (c.mode === "lora" && !c.lora) ctx.addIssue({ code: "custom", path: ["lora"], message: `"lora" is required for mode lora` });
    if (c.model && c.tokenizer && c.model.n_vocab !== c.tokenizer.tokens.length)
      ctx.addIssue({ code: "custom", path: ["model", "n_vocab"], message: `model.n_vocab is ${c.model.n_vocab} but the tokenizer has ${c.tokenizer.tokens.length} tokens` });
  });

export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
export type TrainConfig = z.output<typeof TrainConfigSchema>;

// ---------------------------------------------------------------------------------------------
// Progress events (one JSON object per stdout line)
// ---------------------------------------------------------------------------------------------

const num = z.number().nullable(); // the trainer prints null for NaN/Inf

export const StartEventSchema = z.looseObject({
  type: z.literal("start"),
  steps: z.number().int(),
  mem_estimate_bytes: z.number(),
  mode: z.string().optional(),
  params: z.number().optional(),
  trainable: z.number().optional(),
  tokens_per_step: z.number().optional(),
  backend: z.string().optional(),
  threads: z.number().optional(),
  start_step: z.number().optional(),
  precision: z.string().optional(),
});
export const StepEventSchema = z.looseObject({
  type: z.literal("step"),
  step: z.number().int(),
  steps: z.number().int(),
  epoch: z.number(),
  loss: num,
  lr: z.number(),
  tok_s: z.number(),
  eta_s: z.number(),
  grad_norm: num,
  eval_loss: num.optional(),
  eval_ppl: num.optional(),
  step_s: z.number().optional(),
});
export const CheckpointEventSchema = z.looseObject({ type: z.literal("checkpoint"), step: z.number().int(), path: z.string() });
const finishFields = {
  out: z.string(),
  steps: z.number().int(),
  train_loss: num,
  eval_loss: num.optional(),
  eval_ppl: num.optional(),
  seconds: z.number(),
};
export const DoneEventSchema = z.looseObject({ type: z.literal("done"), ...finishFields });
export const StoppedEventSchema = z.looseObject({ type: z.literal("stopped"), ...finishFields });
export const ErrorEventSchema = z.looseObject({ type: z.literal("error"), code: z.string(), message: z.string() });
export const EvalEventSchema = z.looseObject({ type: z.literal("eval"), loss: z.number(), ppl: z.number(), tokens: z.number().int() });
export const QuantizedEventSchema = z.looseObject({ type: z.literal("quantized"), out: z.string(), quant: z.string() });
export const MergedEventSchema = z.looseObject({ type: z.literal("merged"), out: z.string() });

export const ProgressEventSchema = z.discriminatedUnion("type", [
  StartEventSchema,
  StepEventSchema,
  CheckpointEventSchema,
  DoneEventSchema,
  StoppedEventSchema,
  ErrorEventSchema,
  EvalEventSchema,
  QuantizedEventSchema,
  MergedEventSchema,
]);
export type ProgressEvent = z.infer<typeof ProgressEventSchema>;
export type StartEvent = z.infer<typeof StartEventSchema>;
export type StepEvent = z.infer<typeof StepEventSchema>;
export type DoneEvent = z.infer<typeof DoneEventSchema>;
export type StoppedEvent = z.infer<typeof StoppedEventSchema>;
export interface EvalResult {
  loss: number;
  ppl: number;
  tokens: number;
}

const KNOWN_TYPES = new Set<string>(ProgressEventSchema.options.map((o) => o.shape.type.value));

/** Parses one stdout line. Returns null for blank/non-JSON/unknown-type lines; throws PROTOCOL on malformed known events. */
export function parseProgressLine(line: string): ProgressEvent | null {
  const s = line.trim();
  if (!s.startsWith("{")) return null;
  let obj: unknown;
  try {
    obj = JSON.parse(s);
  } catch {
    return null;
  }
  const type = (obj as { type?: unknown })?.type;
  if (typeof type !== "string" || !KNOWN_TYPES.has(type)) return null;
  const r = ProgressEventSchema.safeParse(obj);
  if (!r.success) throw new ForgeError("PROTOCOL", `malformed "${type}" event from the trainer: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return r.data;
}

function toForgeError(ev: z.infer<typeof ErrorEventSchema>): ForgeError {
  const code = (NATIVE_ERROR_CODES as readonly string[]).includes(ev.code) ? (ev.code as ForgeErrorCode) : "CRASHED";
  return new ForgeError(code, ev.message);
}

// ---------------------------------------------------------------------------------------------
// Process runner
// ---------------------------------------------------------------------------------------------

/** Unbounded single-consumer async queue; events are buffered until read. */
class EventQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiters: ((r: IteratorResult<T>) => void)[] = [];
  private closed = false;
  push(item: T) {
    const w = this.waiters.shift();
    if (w) w({ value: item, done: false });
    else this.items.push(item);
  }
  close() {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
  }
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.items.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiters.push(resolve));
      },
      return: () => {
        this.items = [];
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

export interface RunOptions {
  signal?: AbortSignal;
  /** override the binary (tests); default: server/forge/native/build/atelier-forge */
  binary?: string;
  /** receives the trainer's stderr (logs) line by line */
  onLog?: (line: string) => void;
  /** called for every progress event as it arrives (in addition to the `progress` iterable) */
  onEvent?: (ev: ProgressEvent) => void;
  env?: NodeJS.ProcessEnv;
}

interface Spawned {
  child: ChildProcess;
  events: EventQueue<ProgressEvent>;
  /** resolves with the terminal events seen, after the process exited */
  exit: Promise<{ terminal: ProgressEvent | null; code: number | null; signal: NodeJS.Signals | null; stderr: string; error: ForgeError | null }>;
}

function spawnForge(args: string[], opts: RunOptions, terminalTypes: string[]): Spawned {
  const bin = opts.binary ?? forgeBinaryPath();
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
  const events = new EventQueue<ProgressEvent>();
  let terminal: ProgressEvent | null = null;
  let protocolError: ForgeError | null = null;
  let stderr = "";

  const out = createInterface({ input: child.stdout! });
  out.on("line", (line) => {
    let ev: ProgressEvent | null;
    try {
      ev = parseProgressLine(line);
    } catch (err) {
      protocolError ??= err as ForgeError;
      return;
    }
    if (!ev) {
      if (line.trim()) opts.onLog?.(line);
      return;
    }
    if (ev.type === "error" || terminalTypes.includes(ev.type)) terminal = ev;
    opts.onEvent?.(ev);
    events.push(ev);
  });
  const err = createInterface({ input: child.stderr! });
  err.on("line", (line) => {
    stderr = (stderr + line + "\n").slice(-8192);
    opts.onLog?.(line);
  });

  const outClosed = new Promise<void>((r) => out.once("close", () => r()));
  const errClosed = new Promise<void>((r) => err.once("close", () => r()));
  const exit = new Promise<Awaited<Spawned["exit"]>>((resolve) => {
    let spawnError: ForgeError | null = null;
    child.once("error", (e) => {
      spawnError = new ForgeError("NOT_BUILT", `cannot start ${bin}: ${e.message}`, { cause: e });
    });
    child.once("close", (code, signal) => {
      void Promise.all([outClosed, errClosed]).then(() => {
        events.close();
        resolve({ terminal, code, signal, stderr, error: spawnError ?? protocolError });
      });
    });
  });
  return { child, events, exit };
}

function crashError(what: string, code: number | null, signal: NodeJS.Signals | null, stderr: string): ForgeError {
  const tail = stderr.trim().split("\n").slice(-5).join("\n");
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  const hint = signal === "SIGKILL" ? " (possibly out of memory)" : "";
  return new ForgeError("CRASHED", `${what} ${how}${hint} without reporting a result${tail ? `:\n${tail}` : ""}`);
}

// ---------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------

export interface TrainResult {
  status: "done" | "stopped";
  out: string;
  steps: number;
  trainLoss: number | null;
  evalLoss: number | null;
  evalPpl: number | null;
  seconds: number;
  checkpointDir: string;
  start: StartEvent | null;
}

export interface TrainingRun {
  /** progress events in order (buffered; iterate once) */
  progress: AsyncIterable<ProgressEvent>;
  /** resolves when the trainer finished or was stopped (output + checkpoint saved); rejects with ForgeError */
  done: Promise<TrainResult>;
  /** asks the trainer to stop after the current step and save (SIGTERM) */
  stop(): void;
  /** kills the process immediately (nothing is saved) */
  kill(): void;
  readonly pid: number | undefined;
  readonly configPath: string;
}

export const RUN_CONFIG_FILE = "run.json";

/**
 * Validates the config, writes it to `<checkpointDir>/run.json` and starts `atelier-forge train`.
 * Aborting `signal` behaves like stop(): the run ends after the current step with status "stopped".
 */
export function startTraining(input: TrainConfigInput, opts: RunOptions = {}): TrainingRun {
  const parsed = TrainConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new ForgeError("BAD_CONFIG", `invalid training config: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  }
  const config = parsed.data;
  if (config.steps === undefined && config.epochs === undefined) config.epochs = 1;
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(p));
  const cfg = {
    ...config,
    out: abs(config.out)!,
    checkpointDir: abs(config.checkpointDir)!,
    train: abs(config.train)!,
    ...(config.eval ? { eval: abs(config.eval) } : {}),
    ...(config.base ? { base: abs(config.base) } : {}),
  };
  for (const [k, p] of [["train", cfg.train], ["eval", cfg.eval], ["base", cfg.base]] as const) {
    if (p !== undefined && !existsSync(p)) throw new ForgeError("IO", `${k} file ${p} does not exist`);
  }
  mkdirSync(cfg.checkpointDir, { recursive: true });
  mkdirSync(path.dirname(cfg.out), { recursive: true });
  const configPath = path.join(cfg.checkpointDir, RUN_CONFIG_FILE);
  writeFileSync(configPath, JSON.stringify(cfg, null, 2) + "\n");

  if (opts.signal?.aborted) throw new ForgeError("ABORTED", "training was aborted before it started");
  const sp = spawnForge(["train", "--config", configPath], opts, ["done", "stopped"]);
  let start = null as StartEvent | null;

  let stopRequested = false;
  const stop = () => {
    stopRequested = true;
    if (sp.child.exitCode === null && sp.child.signalCode === null) sp.child.kill("SIGTERM");
  };
  const onAbort = () => stop();
  opts.signal?.addEventListener("abort", onAbort, { once: true });

  // watch for the start event without consuming the public iterable
  const events = sp.events;
  const tee = new EventQueue<ProgressEvent>();
  void (async () => {
    for await (const ev of events) {
      if (ev.type === "start") start = ev;
      tee.push(ev);
    }
    tee.close();
  })();

  const done = sp.exit.then(({ terminal, code, signal, stderr, error }) => {
    opts.signal?.removeEventListener("abort", onAbort);
    if (terminal?.type === "error") throw toForgeError(terminal);
    if (terminal?.type === "done" || terminal?.type === "stopped") {
      return {
        status: terminal.type,
        out: terminal.out,
        steps: terminal.steps,
        trainLoss: terminal.train_loss,
        evalLoss: terminal.eval_loss ?? null,
        evalPpl: terminal.eval_ppl ?? null,
        seconds: terminal.seconds,
        checkpointDir: cfg.checkpointDir,
        start,
      } satisfies TrainResult;
    }
    if (error) throw error;
    // stopped while still loading (before the trainer installs its SIGTERM handler): nothing saved
    if (stopRequested && signal === "SIGTERM") throw new ForgeError("ABORTED", "training was stopped before the first step; nothing was saved");
    throw crashError("the trainer", code, signal, stderr);
  });
  // avoid an unhandled rejection when the caller only iterates progress
  done.catch(() => undefined);

  return {
    progress: tee,
    done,
    stop,
    kill: () => sp.child.kill("SIGKILL"),
    get pid() {
      return sp.child.pid;
    },
    configPath,
  };
}

/** Continues a run from `<checkpointDir>/run.json` and its checkpoint (same settings required). */
export function resumeTraining(checkpointDir: string, opts: RunOptions = {}): TrainingRun {
  const configPath = path.join(checkpointDir, RUN_CONFIG_FILE);
  if (!existsSync(configPath)) throw new ForgeError("IO", `no ${RUN_CONFIG_FILE} in ${checkpointDir}; nothing to resume`);
  let cfg: TrainConfigInput;
  try {
    cfg = JSON.parse(readFileSync(configPath, "utf8")) as TrainConfigInput;
  } catch (err) {
    throw new ForgeError("BAD_CONFIG", `${configPath}: ${(err as Error).message}`);
  }
  return startTraining({ ...cfg, resume: true }, opts);
}

/** Reads <checkpointDir>/ckpt.json (written by the trainer at each checkpoint), if any. */
export function readCheckpointInfo(checkpointDir: string): { step: number; steps: number; loss: number | null; mode: string; time: number } | null {
  const p = path.join(checkpointDir, "ckpt.json");
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(readFileSync(p, "utf8"));
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// One-shot commands
// ---------------------------------------------------------------------------------------------

async function runOnce<T extends ProgressEvent["type"]>(args: string[], expect: T, what: string, opts: RunOptions) {
  if (opts.signal?.aborted) throw new ForgeError("ABORTED", `${what} was aborted`);
  const sp = spawnForge(args, opts, [expect]);
  const onAbort = () => sp.child.kill("SIGTERM");
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  void (async () => {
    for await (const _ of sp.events) void _;
  })();
  const { terminal, code, signal, stderr, error } = await sp.exit;
  opts.signal?.removeEventListener("abort", onAbort);
  if (terminal?.type === "error") throw toForgeError(terminal);
  if (terminal?.type === expect) return terminal as Extract<ProgressEvent, { type: T }>;
  if (opts.signal?.aborted) throw new ForgeError("ABORTED", `${what} was aborted`);
  if (error) throw error;
  throw crashError(what, code, signal, stderr);
}

/** Held-out loss / perplexity of a model (optionally with a LoRA adapter) on an ATDS file. */
export async function evaluate(
  args: { model: string; data: string; lora?: string; threads?: number; batch?: number },
  opts: RunOptions = {},
): Promise<EvalResult> {
  const a = ["eval", "--model", path.resolve(args.model), "--data", path.resolve(args.data)];
  if (args.lora) a.push("--lora", path.resolve(args.lora));
  if (args.threads) a.push("--threads", String(args.threads));
  if (args.batch) a.push("--batch", String(args.batch));
  const ev = await runOnce(a, "eval", "evaluation", opts);
  return { loss: ev.loss, ppl: ev.ppl, tokens: ev.tokens };
}

export type QuantType = "q8_0" | "q4_k_m" | "f16" | "bf16";

export async function quantize(args: { in: string; out: string; type: QuantType; threads?: number }, opts: RunOptions = {}) {
  const a = ["quantize", "--in", path.resolve(args.in), "--out", path.resolve(args.out), "--type", args.type];
  if (args.threads) a.push("--threads", String(args.threads));
  const ev = await runOnce(a, "quantized", "quantization", opts);
  return { out: ev.out, type: ev.quant };
}

/** Merges a LoRA adapter into its base model → a standalone GGUF. */
export async function mergeLora(args: { base: string; lora: string; out: string; type?: "f32" | "f16" }, opts: RunOptions = {}) {
  const a = ["merge", "--base", path.resolve(args.base), "--lora", path.resolve(args.lora), "--out", path.resolve(args.out)];
  if (args.type) a.push("--type", args.type);
  const ev = await runOnce(a, "merged", "merge", opts);
  return { out: ev.out };
}
