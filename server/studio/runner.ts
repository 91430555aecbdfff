import "server-only";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { and, asc, eq, notInArray } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { models } from "../db/schema";
import { newId } from "../ids";
import { evaluate, readCheckpointInfo, resumeTraining, startTraining, type ProgressEvent, type TrainingRun } from "../forge";
import { heavyQueueFor, type HeavyJobWorker } from "../jobs/heavy-queue";
import { inspectGguf } from "../llm/inspect";
import { factsToColumns } from "../models";
import type { PlanRecord } from "./accuracy";
import { bitsPerByte, heldOutText, type HeldOutText } from "./bits-per-byte";
import { watchPeakMemory, type PeakWatcher } from "./peak-memory";
import { trainerConfig } from "./planner";
import { packPrepared, prepareData } from "./prepare";
import { studioRemoteRuns } from "./remote/schema";
import { studioRunPoints, studioRuns, type StudioRunRow } from "./schema";
import type { RunEvent, StartInput, TrainSettings } from "./types";

/*
 * The training queue's worker, living in the server process. One run at a time per device: the
 * oldest "queued" run is prepared (cleaning, tokenizing, packing into ATDS files in its work
 * dir), its held-out perplexity measured on the base, and the forge trainer spawned. Progress
 * lines go to SQLite (run row + loss points, throttled to about one write a second) and to
 * watchers. A run's output goes to its own work dir, never over the model it started from; the
 * output is registered as a model only when the trainer reports success.
 */

export const TERMINAL = ["succeeded", "failed", "cancelled", "interrupted"] as const;
const PERSIST_EVERY_MS = 1000;
export const LOG_LINES = 200;

export type RunSettings = {
  input: StartInput;
  train: TrainSettings;
  /**
   * The planner's raw estimates and the correction applied (accuracy.ts), and its advice when the
   * run was started (lineage evaluations read it; runs from before either was stored lack it).
   */
  plan?: PlanRecord & { recommendation?: string; reasons?: string[] };
  /** Targets and bytes of the held-out file, for bits per byte. */
  heldOut?: HeldOutText;
  /** Seconds the trainer process ran, summed over resumes: what the time estimate predicts (data preparation and evaluations not included). */
  measured?: { trainSeconds: number };
};

export const checkpointDirOf = (row: Pick<StudioRunRow, "workDir">) => path.join(row.workDir, "ckpt");
export const outputPathOf = (row: Pick<StudioRunRow, "workDir" | "method">) => path.join(row.workDir, row.method === "lora" ? "adapter.gguf" : "model.gguf");
export const hasCheckpoint = (row: Pick<StudioRunRow, "workDir">) =>
  readCheckpointInfo(checkpointDirOf(row)) !== null && existsSync(path.join(checkpointDirOf(row), "run.json"));

type Listener = (ev: RunEvent) => void;

export class StudioRunner implements HeavyJobWorker {
  readonly kind = "training";
  private active: { id: string; run: TrainingRun | null; cancel: boolean } | null = null;
  private readonly listeners = new Map<string, Set<Listener>>();
  private idle: Promise<void> = Promise.resolve();

  constructor(private readonly db: AtelierDb) {
    // training shares one heavy-job queue with eval runs (server/jobs/heavy-queue.ts)
    heavyQueueFor(db).register(this);
  }

  get activeRunId(): string | null {
    return this.active?.id ?? null;
  }

  /** Resolves when the worker has nothing left to do (tests). */
  async drained(): Promise<void> {
    for (;;) {
      const p = this.idle;
      await p;
      // the heavy-job queue starts the next job a few microtasks after this one settles
      await new Promise((r) => setImmediate(r));
      if (p === this.idle && !this.active) return;
    }
  }

  subscribe(id: string, fn: Listener): () => void {
    const set = this.listeners.get(id) ?? new Set();
    set.add(fn);
    this.listeners.set(id, set);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  private emit(id: string, ev: RunEvent) {
    for (const fn of this.listeners.get(id) ?? []) fn(ev);
  }

  /** Starts the oldest queued job (a training run or an eval run) if the device is free. */
  kick(): void {
    heavyQueueFor(this.db).kick();
  }

  /** The oldest queued run this process trains (runs queued for a remote worker are the workers'). */
  private oldestQueued() {
    const onWorkers = this.db.select({ id: studioRemoteRuns.runId }).from(studioRemoteRuns);
    return this.db
      .select()
      .from(studioRuns)
      .where(and(eq(studioRuns.status, "queued"), notInArray(studioRuns.id, onWorkers)))
      .orderBy(asc(studioRuns.queuedAt))
      .limit(1)
      .get();
  }

  oldestQueuedAt(): number | null {
    return this.oldestQueued()?.queuedAt ?? null;
  }

  /** Runs the oldest queued training run to its end (called by the heavy-job queue when it is this run's turn). */
  runOldest(): Promise<void> {
    const next = this.oldestQueued();
    if (!next) return Promise.resolve();
    this.active = { id: next.id, run: null, cancel: false };
    this.idle = this.execute(next).finally(() => {
      this.active = null;
    });
    return this.idle;
  }

  /** Cancels the running run (SIGTERM: the trainer saves a checkpoint and exits). */
  cancelActive(id: string): boolean {
    if (this.active?.id !== id) return false;
    this.active.cancel = true;
    this.active.run?.stop();
    return true;
  }

  // --- runs executed by a remote worker (remote/queue.ts): the same bookkeeping as a local run ---
  private readonly remoteCancels = new Set<string>();
  private readonly remoteWrites = new Map<string, number>();

  /** Asks the worker running `id` to stop (it learns so on its next progress post). */
  requestRemoteCancel(id: string): boolean {
    const remote = this.db.select({ id: studioRemoteRuns.runId }).from(studioRemoteRuns).where(eq(studioRemoteRuns.runId, id)).get();
    if (!remote) return false;
    this.remoteCancels.add(id);
    return true;
  }

  cancelRequested(id: string): boolean {
    return this.remoteCancels.has(id);
  }

  emitStatus(id: string, status: StudioRunRow["status"], error?: string): void {
    this.emit(id, { type: "status", status, ...(error ? { error } : {}) });
  }

  emitDone(id: string, done: { modelId: string; pplBefore: number | null; pplAfter: number | null }): void {
    this.emit(id, { type: "done", ...done });
  }

  /** One progress line from a worker, persisted (throttled) and streamed like the local trainer's. */
  recordEvent(id: string, ev: ProgressEvent, log: string[]): void {
    this.onEvent(id, ev, log, () => {
      const now = Date.now();
      if (now - (this.remoteWrites.get(id) ?? 0) < PERSIST_EVERY_MS) return false;
      this.remoteWrites.set(id, now);
      return true;
    }, () => undefined);
  }

  finishStatus(id: string, status: StudioRunRow["status"], set: Partial<StudioRunRow>, log: string[]): void {
    this.remoteCancels.delete(id);
    this.remoteWrites.delete(id);
    this.setStatus(id, status, set, log);
    this.listeners.delete(id);
  }

  private update(id: string, set: Partial<StudioRunRow>) {
    this.db.update(studioRuns).set(set).where(eq(studioRuns.id, id)).run();
  }

  private setStatus(id: string, status: StudioRunRow["status"], set: Partial<StudioRunRow> = {}, log?: string[]) {
    const terminal = (TERMINAL as readonly string[]).includes(status);
    this.update(id, { status, ...(terminal ? { finishedAt: Date.now(), pid: null } : {}), ...(log ? { log: log.slice(-LOG_LINES) } : {}), ...set });
    this.emit(id, { type: "status", status, ...(set.error ? { error: set.error } : {}) });
  }

  private async execute(row: StudioRunRow): Promise<void> {
    const id = row.id;
    const log = [...row.log];
    const note = (line: string) => {
      log.push(line);
      if (log.length > LOG_LINES * 2) log.splice(0, log.length - LOG_LINES);
    };
    const settings = row.settings as unknown as RunSettings;
    const segmentStart = Date.now();
    this.setStatus(id, "running", { startedAt: row.startedAt ?? segmentStart, error: null, finishedAt: null }, log);
    const ckptDir = checkpointDirOf(row);
    const out = outputPathOf(row);
    const trainPath = path.join(row.workDir, "train.atds");
    const evalPath = path.join(row.workDir, "eval.atds");
    let pplBefore = row.pplBefore;
    let heldOut: HeldOutText | null = settings.heldOut ?? null;
    let peak: PeakWatcher | null = null;
    // the peak of this segment, at least that of earlier segments (a resumed run)
    const peakSoFar = () => {
      const now = peak?.stop() ?? null;
      return now === null ? row.actualPeakBytes : Math.max(now, row.actualPeakBytes ?? 0);
    };
    try {
      let run: TrainingRun;
      const opts = { onLog: (line: string) => note(line) };
      if (row.resume && hasCheckpoint(row)) {
        note(`resuming from the checkpoint at step ${readCheckpointInfo(ckptDir)?.step ?? "?"}`);
        run = resumeTraining(ckptDir, opts);
      } else {
        note("preparing the data (cleaning, tokenizing, packing)");
        rmSync(ckptDir, { recursive: true, force: true });
        const prepared = await prepareData(this.db, settings.input);
        const packed = packPrepared(prepared, settings.train, { train: trainPath, eval: evalPath });
        const train = { ...settings.train, batch: packed.batch };
        const hasEval = packed.built.eval !== null && existsSync(evalPath);
        note(`${packed.built.train.nRows} training rows, ${packed.built.eval?.nRows ?? 0} held-out rows of ${train.seqLen + 1} tokens`);
        heldOut = packed.built.eval ? heldOutText(packed.built.eval, prepared.tokenizer) : null;
        if (hasEval && prepared.base) {
          pplBefore = (await evaluate({ model: prepared.base.filePath, data: evalPath, threads: train.threads })).ppl;
        } else if (hasEval && prepared.bpe) {
          // an untrained model predicts uniformly: its perplexity is the vocabulary size (shown as "untrained")
          pplBefore = prepared.bpe.vocabSize;
        }
        const withHeldOut = { ...settings, ...(heldOut ? { heldOut } : {}) } as unknown as Record<string, unknown>;
        this.update(id, { pplBefore, bpbBefore: bitsPerByte(pplBefore, heldOut), settings: withHeldOut });
        if (this.active?.cancel) throw new CancelledBeforeStart();
        run = startTraining(trainerConfig(prepared, train, { out, checkpointDir: ckptDir, train: trainPath, ...(hasEval ? { eval: evalPath } : {}) }), opts);
      }
      this.active!.run = run;
      const trainStart = Date.now();
      if (this.active!.cancel) run.stop();
      this.update(id, { pid: run.pid ?? null, resume: false });
      peak = watchPeakMemory(run.pid);
      const watcher = peak;

      let lastWrite = 0;
      let totalSteps = row.totalSteps;
      for await (const ev of run.progress) {
        watcher.sample(ev.type !== "step");
        const due = () => {
          const now = Date.now();
          if (now - lastWrite < PERSIST_EVERY_MS) return false;
          lastWrite = now;
          return true;
        };
        this.onEvent(id, ev, log, due, (n) => (totalSteps = n));
      }
      const result = await run.done;
      const actualPeakBytes = peakSoFar();
      const trainSeconds = (settings.measured?.trainSeconds ?? 0) + (Date.now() - trainStart) / 1000;
      const withMeasured = { ...settings, ...(heldOut ? { heldOut } : {}), measured: { trainSeconds } } as unknown as Record<string, unknown>;
      const seconds = (row.actualSeconds ?? 0) + (Date.now() - segmentStart) / 1000;
      if (result.status === "stopped") {
        const cancelled = this.active?.cancel ?? false;
        note(`stopped at step ${result.steps} of ${totalSteps}; checkpoint saved, resume continues from there`);
        this.setStatus(
          id,
          cancelled ? "cancelled" : "interrupted",
          { step: result.steps, actualSeconds: seconds, actualPeakBytes, settings: withMeasured, ...(cancelled ? {} : { error: "The trainer was stopped from outside Atelier." }) },
          log,
        );
        return;
      }
      let pplAfter = result.evalPpl;
      const hasEval = existsSync(evalPath);
      if (pplAfter === null && hasEval) {
        const base = settings.train.method === "scratch" ? out : this.baseFilePath(row);
        pplAfter = (await evaluate({ model: base, data: evalPath, ...(settings.train.method === "lora" ? { lora: out } : {}), threads: settings.train.threads })).ppl;
      }
      const bpbBefore = bitsPerByte(pplBefore, heldOut);
      const bpbAfter = bitsPerByte(pplAfter, heldOut);
      const modelId = await this.register(row, settings, { pplBefore, pplAfter, bpbBefore, bpbAfter, trainLoss: result.trainLoss, evalLoss: result.evalLoss, steps: result.steps, seconds, trainSeconds, peakBytes: actualPeakBytes });
      note(
        `done: held-out perplexity ${fmt(pplBefore)}${row.method === "scratch" ? " (untrained)" : ""} → ${fmt(pplAfter)}, bits per byte ${fmt(bpbBefore)} → ${fmt(bpbAfter)}; ` +
          `peak memory ${actualPeakBytes === null ? "not measured" : `${Math.round(actualPeakBytes / 1024 / 1024)} MiB`}; registered as model ${modelId}`,
      );
      this.emit(id, { type: "done", modelId, pplBefore, pplAfter, bpbBefore, bpbAfter });
      this.setStatus(id, "succeeded", { step: result.steps, actualSeconds: seconds, actualPeakBytes, pplAfter, pplBefore, bpbBefore, bpbAfter, modelId, settings: withMeasured }, log);
    } catch (err) {
      const seconds = (row.actualSeconds ?? 0) + (Date.now() - segmentStart) / 1000;
      if (err instanceof CancelledBeforeStart) {
        note("cancelled before training started");
        this.setStatus(id, "cancelled", { actualSeconds: seconds }, log);
        return;
      }
      const message = (err as Error).message ?? String(err);
      note(`failed: ${message}`);
      this.setStatus(id, "failed", { error: message, actualSeconds: seconds, actualPeakBytes: peakSoFar() }, log);
    } finally {
      peak?.stop();
      this.listeners.delete(id);
    }
  }

  private baseFilePath(row: StudioRunRow): string {
    const base = this.db.select({ filePath: models.filePath }).from(models).where(eq(models.id, row.baseModelId ?? "")).get();
    return base?.filePath ?? "";
  }

  private onEvent(id: string, ev: ProgressEvent, log: string[], due: () => boolean, setTotal: (n: number) => void) {
    if (ev.type === "start") {
      setTotal(ev.steps);
      log.push(`trainer started: ${ev.steps} steps, ${ev.params ?? "?"} parameters (${ev.trainable ?? "?"} trainable), ~${Math.round(ev.mem_estimate_bytes / 1024 / 1024)} MB, backend ${ev.backend ?? "?"}, precision ${ev.precision ?? "f32"}`);
      // the trainer's own estimate goes to the log; the measured peak comes from the process (peak-memory.ts)
      this.update(id, { totalSteps: ev.steps, step: ev.start_step ?? 0 });
      return;
    }
    if (ev.type === "checkpoint") {
      log.push(`checkpoint at step ${ev.step}`);
      return;
    }
    if (ev.type !== "step") return;
    this.emit(id, {
      type: "progress",
      step: ev.step,
      totalSteps: ev.steps,
      loss: ev.loss,
      ...(ev.eval_loss != null ? { evalLoss: ev.eval_loss } : {}),
      lr: ev.lr,
      tokensPerSecond: ev.tok_s,
      etaSeconds: ev.eta_s,
    });
    const important = ev.eval_loss != null || ev.step === ev.steps || ev.step === 1;
    if (!important && !due()) return;
    this.db.insert(studioRunPoints).values({ runId: id, step: ev.step, loss: ev.loss, evalLoss: ev.eval_loss ?? null, lr: ev.lr, tokensPerSecond: ev.tok_s }).run();
    this.update(id, { step: ev.step, totalSteps: ev.steps, etaSeconds: ev.eta_s, log: log.slice(-LOG_LINES) });
  }

  /** Registers a run's output as a model with its lineage (also for outputs a worker uploaded). */
  async register(
    row: StudioRunRow,
    settings: RunSettings,
    metrics: {
      pplBefore: number | null;
      pplAfter: number | null;
      bpbBefore: number | null;
      bpbAfter: number | null;
      trainLoss: number | null;
      evalLoss: number | null;
      steps: number;
      seconds: number;
      trainSeconds: number;
      peakBytes: number | null;
    },
  ): Promise<string> {
    const out = outputPathOf(row);
    const facts = await inspectGguf(out);
    const id = newId();
    const kind = row.method === "lora" ? "lora" : row.method === "full" ? "finetuned" : "base";
    this.db
      .insert(models)
      .values({
        id,
        name: row.name,
        kind,
        source: `forge:${row.id}`,
        filePath: out,
        status: "ready",
        ...factsToColumns(facts),
        baseModelId: row.method === "scratch" ? null : row.baseModelId,
        datasetId: row.datasetId,
        runId: row.id,
        meta: {
          fitsInMemory: facts.fitsInMemory,
          settings: { ...settings.train, goal: row.goal, cleaning: settings.input.cleaning, epochs: settings.input.epochs },
          pplBefore: metrics.pplBefore,
          pplAfter: metrics.pplAfter,
          bpbBefore: metrics.bpbBefore,
          bpbAfter: metrics.bpbAfter,
          // a scratch model's "before" is an untrained model's uniform guess, not a measurement of a model
          beforeUntrained: row.method === "scratch",
          // perplexities compare only between models that share this tokenizer
          tokenizerKey: row.method === "scratch" ? id : tokenizerKeyOf(this.db, row.baseModelId),
          metrics,
          estimate: { seconds: row.estimateSeconds, peakMemoryBytes: row.estimatePeakBytes },
          actual: { seconds: metrics.seconds, trainSeconds: metrics.trainSeconds, peakMemoryBytes: metrics.peakBytes },
          // lineage evaluations read: which assistant it was trained for, and what the planner advised
          ...(row.assistantId ? { assistantId: row.assistantId } : {}),
          ...(settings.plan?.recommendation ? { plan: { recommendation: settings.plan.recommendation, reasons: settings.plan.reasons ?? [] } } : {}),
        },
      })
      .run();
    return id;
  }
}

class CancelledBeforeStart extends Error {}

/** The tokenizer a model trained from `baseModelId` inherits: its base's key, or the base itself. */
function tokenizerKeyOf(db: AtelierDb, baseModelId: string | null): string | null {
  if (!baseModelId) return null;
  const base = db.select({ id: models.id, meta: models.meta }).from(models).where(eq(models.id, baseModelId)).get();
  const key = base?.meta?.tokenizerKey;
  return typeof key === "string" ? key : (base?.id ?? baseModelId);
}

const fmt = (x: number | null) => (x === null ? "n/a" : x.toFixed(2));

const globalForRunner = globalThis as unknown as { atelierStudioRunners?: WeakMap<AtelierDb, StudioRunner> };

/** The worker of this database (one per process in production; tests open several databases). */
export function runnerFor(db: AtelierDb): StudioRunner {
  const map = (globalForRunner.atelierStudioRunners ??= new WeakMap());
  let r = map.get(db);
  if (!r) {
    r = new StudioRunner(db);
    map.set(db, r);
  }
  return r;
}

/** Is `pid` a forge trainer still running (an orphan of a server that died)? */
function isForgeProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("atelier-forge");
  } catch {
    return true; // no /proc (macOS): trust the recorded pid
  }
}

/**
 * Server start: a run that was "running" when the previous process died is never silently lost.
 * An orphaned trainer is asked to stop (it saves a checkpoint); then the run is queued to resume
 * from its last checkpoint, or marked failed with the reason when there is none.
 */
export async function recoverStudioRuns(db: AtelierDb, opts: { kick?: boolean; waitMs?: number } = {}): Promise<{ resumed: string[]; failed: string[] }> {
  const rows = db.select().from(studioRuns).where(and(eq(studioRuns.status, "running"))).all();
  const runner = runnerFor(db);
  const resumed: string[] = [];
  const failed: string[] = [];
  const onWorkers = new Set(db.select({ id: studioRemoteRuns.runId }).from(studioRemoteRuns).all().map((r) => r.id));
  for (const row of rows) {
    if (runner.activeRunId === row.id) continue;
    // A worker holds it: its lease says whether it is still alive (remote/queue.ts).
    if (onWorkers.has(row.id)) continue;
    if (row.pid && isForgeProcess(row.pid)) {
      try {
        process.kill(row.pid, "SIGTERM");
      } catch {
        /* already gone */
      }
      const until = Date.now() + (opts.waitMs ?? 15_000);
      while (Date.now() < until && isForgeProcess(row.pid)) await new Promise((r) => setTimeout(r, 200));
    }
    const ckpt = readCheckpointInfo(checkpointDirOf(row));
    const log = [...row.log];
    if (ckpt && hasCheckpoint(row)) {
      log.push(`the server stopped during this run; resuming from the checkpoint at step ${ckpt.step}`);
      db.update(studioRuns).set({ status: "queued", resume: true, pid: null, queuedAt: Date.now(), log: log.slice(-LOG_LINES) }).where(eq(studioRuns.id, row.id)).run();
      resumed.push(row.id);
    } else {
      const error = `The server stopped while this run was ${row.step > 0 ? `training (step ${row.step})` : "preparing"} and no checkpoint had been saved yet; start it again.`;
      log.push(error);
      db.update(studioRuns).set({ status: "failed", error, pid: null, finishedAt: Date.now(), log: log.slice(-LOG_LINES) }).where(eq(studioRuns.id, row.id)).run();
      failed.push(row.id);
    }
  }
  if (opts.kick ?? true) runner.kick();
  return { resumed, failed };
}

