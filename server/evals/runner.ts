import "server-only";
import { readFileSync } from "node:fs";
import { and, asc, eq, isNotNull } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { models } from "../db/schema";
import { heavyQueueFor, type HeavyJobWorker } from "../jobs/heavy-queue";
import { forEachConcurrent } from "./concurrency";
import { answerQuestion, releaseUnusedModels, servedModel, type EvalAnswer } from "./generate";
import { RunJudge, type JudgeVerdict } from "./judge";
import { evalResults, evalRunRows, evalRuns, type EvalRunRow, type EvalRunStatus } from "./schema";
import { collectionLookup, scoreAnswer } from "./score";
import { computeSummary } from "./summary";

/*
 * The eval queue's worker. It takes its turn on the heavy-job queue it shares with training
 * (one heavy job at a time), then answers every row × configuration that has no stored result
 * yet — several questions at once through the model's serving context (parallel sequences, the
 * way concurrent chats are batched), one model version after another. Each answer is scored and
 * stored as soon as it is done, so a run that is cancelled or loses its process keeps its work:
 * a restart re-queues it and it continues with the answers still missing.
 */

export const EVAL_TERMINAL: readonly EvalRunStatus[] = ["succeeded", "failed", "cancelled"];
export const EVAL_LOG_LINES = 100;

export type EvalRunEvent = { type: "progress"; done: number; total: number } | { type: "status"; status: EvalRunStatus; error?: string };
type Listener = (ev: EvalRunEvent) => void;

/** A failure that ends the whole run (with this reason). */
class RunFailure extends Error {}

const modelExists = (db: AtelierDb, id: string) => !!db.select({ id: models.id }).from(models).where(eq(models.id, id)).get();

export class EvalRunner implements HeavyJobWorker {
  readonly kind = "eval";
  private active: { id: string; abort: AbortController } | null = null;
  private idle: Promise<void> = Promise.resolve();
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(private readonly db: AtelierDb) {
    heavyQueueFor(db).register(this);
  }

  get activeRunId(): string | null {
    return this.active?.id ?? null;
  }

  kick(): void {
    heavyQueueFor(this.db).kick();
  }

  private oldest() {
    return this.db.select().from(evalRuns).where(eq(evalRuns.status, "queued")).orderBy(asc(evalRuns.queuedAt)).limit(1).get();
  }

  oldestQueuedAt(): number | null {
    return this.oldest()?.queuedAt ?? null;
  }

  runOldest(): Promise<void> {
    const next = this.oldest();
    if (!next) return Promise.resolve();
    return this.start(next);
  }

  /** Runs one queued run now, outside the queue's order (the command line runs the run it created, and only that). */
  runNow(id: string): Promise<void> {
    const row = this.db.select().from(evalRuns).where(and(eq(evalRuns.id, id), eq(evalRuns.status, "queued"))).get();
    if (!row || this.active) return Promise.resolve();
    return this.start(row);
  }

  private start(next: EvalRunRow): Promise<void> {
    this.active = { id: next.id, abort: new AbortController() };
    this.idle = this.execute(next, this.active.abort.signal).finally(() => {
      this.active = null;
    });
    return this.idle;
  }

  /** Resolves when no eval run is running in this process (tests). */
  async drained(): Promise<void> {
    for (;;) {
      const p = this.idle;
      await p;
      await new Promise((r) => setImmediate(r));
      if (p === this.idle && !this.active) return;
    }
  }

  cancelActive(id: string): boolean {
    if (this.active?.id !== id) return false;
    this.active.abort.abort();
    return true;
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

  private emit(id: string, ev: EvalRunEvent) {
    for (const fn of this.listeners.get(id) ?? []) fn(ev);
  }

  private setStatus(id: string, status: EvalRunStatus, set: Partial<EvalRunRow>, log: string[]) {
    const terminal = EVAL_TERMINAL.includes(status);
    this.db
      .update(evalRuns)
      .set({ status, log: log.slice(-EVAL_LOG_LINES), ...(terminal ? { finishedAt: Date.now(), pid: null } : {}), ...set })
      .where(eq(evalRuns.id, id))
      .run();
    this.emit(id, { type: "status", status, ...(set.error ? { error: set.error } : {}) });
  }

  private async execute(row: EvalRunRow, signal: AbortSignal): Promise<void> {
    const db = this.db;
    const id = row.id;
    const log = [...row.log];
    const note = (line: string) => log.push(`${new Date().toISOString().slice(11, 19)} ${line}`);
    try {
      this.setStatus(id, "running", { startedAt: row.startedAt ?? Date.now(), pid: process.pid, error: null }, log);
      const rows = db.select().from(evalRunRows).where(eq(evalRunRows.runId, id)).orderBy(asc(evalRunRows.idx)).all();
      const doneCells = new Set(
        db
          .select({ r: evalResults.rowIdx, c: evalResults.configIdx })
          .from(evalResults)
          .where(eq(evalResults.runId, id))
          .all()
          .map((x) => `${x.r}:${x.c}`),
      );
      const total = rows.length * row.configs.length;
      let done = doneCells.size;
      note(done > 0 ? `continuing: ${done} of ${total} answers were already stored` : `started: ${rows.length} questions × ${row.configs.length} configurations, ${row.options.concurrency} at a time`);
      this.db.update(evalRuns).set({ totalItems: total, doneItems: done, log: log.slice(-EVAL_LOG_LINES) }).where(eq(evalRuns.id, id)).run();

      const judge = row.options.judge ? new RunJudge(db, row.options.judge) : null;
      const collectionOf = collectionLookup(db);
      const { sampling, outOfScopeReply } = row.options;
      // one model version after another (each keeps its serving context busy), configurations of a model together
      const order = [...new Set(row.configs.map((c) => c.modelId))];
      let lastWrite = 0;
      for (const modelId of order) {
        const configIdxs = row.configs.flatMap((c, i) => (c.modelId === modelId ? [i] : []));
        const name = row.configs[configIdxs[0]!]!.modelName;
        const items = rows.flatMap((r) => configIdxs.filter((ci) => !doneCells.has(`${r.idx}:${ci}`)).map((ci) => ({ r, ci })));
        if (items.length === 0) continue;
        if (!modelExists(db, modelId)) throw new RunFailure(`Version "${name}" was deleted during the run; ${done} of ${total} answers had been stored.`);
        let model;
        try {
          model = servedModel(db, modelId);
        } catch (err) {
          throw new RunFailure(`Version "${name}" cannot be served: ${(err as Error).message}`);
        }
        note(`answering with ${name}: ${items.length} answers`);
        await forEachConcurrent(items, row.options.concurrency, async ({ r, ci }) => {
          if (signal.aborted) return;
          if (!modelExists(db, modelId)) throw new RunFailure(`Version "${name}" was deleted during the run; ${done} of ${total} answers had been stored.`);
          const config = row.configs[ci]!;
          let answer: EvalAnswer;
          let error: string | null = null;
          try {
            answer = await answerQuestion(db, {
              model: model!,
              persona: { systemPrompt: config.systemPrompt, outOfScopeReply },
              sampling,
              collectionIds: config.knowledge ? row.options.collectionIds : null,
              question: r.question,
              signal,
            });
          } catch (err) {
            if (signal.aborted) return;
            if (!modelExists(db, modelId)) throw new RunFailure(`Version "${name}" was deleted during the run; ${done} of ${total} answers had been stored.`);
            error = (err as Error).message;
            answer = { text: "", citations: [], completionTokens: 0, ttftMs: null, tokensPerSecond: null, aborted: false };
          }
          if (signal.aborted || answer.aborted) return;
          // an answer the engine could not give (a prompt too long for the version's context, say) is scored as the empty
          // answer a visitor would have got: a configuration that cannot answer must not escape the comparison or the gate
          const scores = scoreAnswer(r, { text: answer.text, citations: answer.citations, knowledge: config.knowledge }, outOfScopeReply, collectionOf);
          let verdict: JudgeVerdict | null = null;
          if (judge && !error) verdict = await judge.grade(r, answer.text, signal).catch((err: unknown) => (signal.aborted ? null : { status: "unavailable" as const, reason: `judge unavailable: ${(err as Error).message}` }));
          if (signal.aborted) return;
          db.insert(evalResults)
            .values({
              runId: id,
              rowIdx: r.idx,
              configIdx: ci,
              answer: answer.text,
              citations: answer.citations,
              ...scores,
              answerTokens: error ? null : answer.completionTokens,
              ttftMs: answer.ttftMs,
              tokensPerSecond: answer.tokensPerSecond,
              judgeScore: verdict?.status === "ok" ? verdict.score : null,
              judgeReason: verdict ? verdict.reason : null,
              judgeStatus: verdict?.status ?? null,
              error,
            })
            .onConflictDoNothing()
            .run();
          done++;
          this.emit(id, { type: "progress", done, total });
          const now = Date.now();
          if (now - lastWrite >= 500 || done === total) {
            lastWrite = now;
            db.update(evalRuns).set({ doneItems: done }).where(eq(evalRuns.id, id)).run();
          }
        });
        if (signal.aborted) break;
      }
      db.update(evalRuns).set({ doneItems: done }).where(eq(evalRuns.id, id)).run();
      if (signal.aborted) {
        note(`cancelled with ${done} of ${total} answers stored`);
        this.setStatus(id, "cancelled", {}, log);
        return;
      }
      const failed = db
        .select({ error: evalResults.error })
        .from(evalResults)
        .where(and(eq(evalResults.runId, id), isNotNull(evalResults.error)))
        .all();
      if (failed.length > 0 && failed.length === done) throw new RunFailure(`Every answer failed, so nothing was measured: ${failed[0]!.error}`);
      if (failed.length > 0) note(`${failed.length} of ${done} answers failed and count as empty answers (first: ${failed[0]!.error})`);
      const summary = computeSummary(db, { ...row, doneItems: done });
      note(`done: ${done} answers scored`);
      this.setStatus(id, "succeeded", { summary: summary as unknown as Record<string, unknown> }, log);
    } catch (err) {
      const message = err instanceof RunFailure ? err.message : `The run failed: ${(err as Error).message}`;
      if (!(err instanceof RunFailure)) console.error("Eval run failed:", err);
      note(`failed: ${message}`);
      this.setStatus(id, "failed", { error: message }, log);
    } finally {
      this.listeners.delete(id);
      await releaseUnusedModels(db, [...row.configs.map((c) => c.modelId), ...(row.options.judge?.kind === "model" ? [row.options.judge.modelId] : [])]).catch((err: unknown) =>
        console.error("Could not release the eval's models:", err),
      );
    }
  }
}

const globalForRunner = globalThis as unknown as { atelierEvalRunners?: WeakMap<AtelierDb, EvalRunner> };

/** The eval worker of this database (registers it with the shared heavy-job queue). */
export function evalRunnerFor(db: AtelierDb): EvalRunner {
  const map = (globalForRunner.atelierEvalRunners ??= new WeakMap());
  let r = map.get(db);
  if (!r) {
    r = new EvalRunner(db);
    map.set(db, r);
  }
  return r;
}

/** Is `pid` another live Atelier process (the server, or the CLI) that may still be running the eval? */
function otherProcessAlive(pid: number | null): boolean {
  if (!pid || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("node");
  } catch {
    return true;
  }
}

/**
 * Server start: an eval run left "running" by a process that is gone goes back to the queue;
 * its stored answers are kept, and it continues with the ones still missing.
 */
export function recoverEvalRuns(db: AtelierDb, opts: { kick?: boolean } = {}): { requeued: string[] } {
  const runner = evalRunnerFor(db);
  const requeued: string[] = [];
  for (const row of db.select().from(evalRuns).where(and(eq(evalRuns.status, "running"))).all()) {
    if (runner.activeRunId === row.id || otherProcessAlive(row.pid)) continue;
    const log = [...row.log, `the process running this eval stopped; queued again with ${row.doneItems} of ${row.totalItems} answers kept`];
    db.update(evalRuns).set({ status: "queued", pid: null, queuedAt: Date.now(), log: log.slice(-EVAL_LOG_LINES) }).where(eq(evalRuns.id, row.id)).run();
    requeued.push(row.id);
  }
  if (opts.kick ?? true) runner.kick();
  return { requeued };
}
