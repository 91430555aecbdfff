import "server-only";
import path from "node:path";
import { and, asc, desc, eq, lt } from "drizzle-orm";
import { recordAudit } from "../auth";
import type { Session } from "../auth";
import type { AtelierDb } from "../db/client";
import { assistants } from "../db/schema";
import { env } from "../env";
import { AtelierError, notFound } from "../errors";
import { newId } from "../ids";
import { AsyncQueue } from "../llm/async-queue";
import { measuredTrainSeconds } from "./accuracy";
import { planDetail } from "./planner";
import { hasCheckpoint, LOG_LINES, runnerFor, TERMINAL, type RunSettings } from "./runner";
import { placeOnWorker } from "./remote/queue";
import { studioRunPoints, studioRuns, type StudioRunRow } from "./schema";
import type { RunDetail, RunEvent, RunView, StartInput } from "./types";

export function getRunRow(db: AtelierDb, id: string): StudioRunRow {
  const row = db.select().from(studioRuns).where(eq(studioRuns.id, id)).get();
  if (!row) throw notFound("studio", "Training run", id);
  return row;
}

function queuedAhead(db: AtelierDb, row: StudioRunRow): number {
  if (row.status !== "queued") return 0;
  const before = db.select({ id: studioRuns.id }).from(studioRuns).where(and(eq(studioRuns.status, "queued"), lt(studioRuns.queuedAt, row.queuedAt))).all().length;
  const running = db.select({ id: studioRuns.id }).from(studioRuns).where(eq(studioRuns.status, "running")).all().length;
  return before + running;
}

export function toRunView(db: AtelierDb, row: StudioRunRow): RunView {
  const total = row.totalSteps;
  const finished = (TERMINAL as readonly string[]).includes(row.status);
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    goal: row.goal,
    method: row.method,
    datasetId: row.datasetId,
    baseModelId: row.baseModelId,
    assistantId: row.assistantId,
    progress: { step: row.step, totalSteps: total, fraction: row.status === "succeeded" ? 1 : total > 0 ? Math.min(1, row.step / total) : 0, etaSeconds: row.status === "running" ? row.etaSeconds : null },
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    error: row.error,
    estimate: { seconds: row.estimateSeconds, peakMemoryBytes: row.estimatePeakBytes },
    actual:
      finished && row.actualSeconds !== null
        ? { seconds: row.actualSeconds, trainSeconds: measuredTrainSeconds(row), peakMemoryBytes: row.actualPeakBytes }
        : null,
    metrics:
      row.pplBefore !== null || row.pplAfter !== null
        ? { pplBefore: row.pplBefore, pplAfter: row.pplAfter, bpbBefore: row.bpbBefore, bpbAfter: row.bpbAfter, beforeUntrained: row.method === "scratch" }
        : null,
    modelId: row.modelId,
    queuedBehind: queuedAhead(db, row),
    canResume: (row.status === "cancelled" || row.status === "interrupted" || row.status === "failed") && hasCheckpoint(row),
  };
}

/** Plans (validates data, calibrates, estimates), queues, and starts the worker if the device is free. */
export async function startRun(db: AtelierDb, input: StartInput, session: Session | null): Promise<{ runId: string; queuedBehind: number }> {
  if (input.assistantId && !db.select({ id: assistants.id }).from(assistants).where(eq(assistants.id, input.assistantId)).get()) {
    throw notFound("studio", "Assistant", input.assistantId);
  }
  const plan = await planDetail(db, input);
  const id = newId();
  const settings: RunSettings = { input, train: plan.settings, plan: { ...plan.plan, recommendation: plan.recommendation, reasons: plan.reasons } };
  const name = input.name?.trim() || `${plan.prepared.base?.name ?? "scratch"} · ${input.method} · ${new Date().toISOString().slice(0, 16).replace("T", " ")}`;
  db.insert(studioRuns)
    .values({
      id,
      name,
      status: "queued",
      goal: input.goal,
      method: input.method,
      datasetId: input.datasetId,
      baseModelId: input.method === "scratch" ? null : input.baseModelId,
      assistantId: input.assistantId ?? null,
      settings: settings as unknown as Record<string, unknown>,
      workDir: path.join(env().ATELIER_DATA_DIR, "studio", "runs", id),
      estimateSeconds: plan.estSeconds,
      estimatePeakBytes: plan.peakMemoryBytes,
      log: [
        `queued: ${plan.rows} training rows, ${plan.tokens} tokens × ${input.epochs} epoch(s); estimate ${Math.round(plan.estSeconds)} s, ${Math.round(plan.peakMemoryBytes / 1024 / 1024)} MB` +
          (plan.accuracy.runs > 0 ? ` (raw ${Math.round(plan.raw.estSeconds)} s, ${Math.round(plan.raw.peakMemoryBytes / 1024 / 1024)} MB, corrected by ${plan.accuracy.runs} recent run${plan.accuracy.runs === 1 ? "" : "s"})` : ""),
      ],
      createdBy: session?.user.id ?? null,
    })
    .run();
  if (input.placement === "worker") placeOnWorker(db, id);
  recordAudit(db, session, "training.start", { type: "training_run", id }, { method: input.method, datasetId: input.datasetId, baseModelId: input.baseModelId, ...(input.placement ? { placement: input.placement } : {}) });
  const row = getRunRow(db, id);
  const queuedBehind = queuedAhead(db, row);
  runnerFor(db).kick();
  return { runId: id, queuedBehind };
}

export function listRuns(db: AtelierDb): RunView[] {
  return db.select().from(studioRuns).orderBy(desc(studioRuns.createdAt)).all().map((r) => toRunView(db, r));
}

export function getRun(db: AtelierDb, id: string): RunDetail {
  const row = getRunRow(db, id);
  const points = db.select().from(studioRunPoints).where(eq(studioRunPoints.runId, id)).orderBy(asc(studioRunPoints.step)).all();
  return {
    ...toRunView(db, row),
    points: points.map((p) => ({ step: p.step, loss: p.loss, ...(p.evalLoss !== null ? { evalLoss: p.evalLoss } : {}), lr: p.lr, tokensPerSecond: p.tokensPerSecond })),
    settings: row.settings,
    log: row.log.slice(-LOG_LINES),
  };
}

/** Current status first, then live events until the run ends (or the caller goes away). */
export async function* watchRun(db: AtelierDb, id: string, signal?: AbortSignal): AsyncGenerator<RunEvent> {
  getRunRow(db, id);
  const queue = new AsyncQueue<RunEvent>();
  const unsubscribe = runnerFor(db).subscribe(id, (ev) => {
    queue.push(ev);
    if (ev.type === "status" && (TERMINAL as readonly string[]).includes(ev.status)) queue.close();
  });
  const onAbort = () => queue.close();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const row = getRunRow(db, id);
    yield { type: "status", status: row.status, ...(row.error ? { error: row.error } : {}) };
    if ((TERMINAL as readonly string[]).includes(row.status)) {
      if (row.status === "succeeded" && row.modelId) yield { type: "done", modelId: row.modelId, pplBefore: row.pplBefore, pplAfter: row.pplAfter, bpbBefore: row.bpbBefore, bpbAfter: row.bpbAfter };
      return;
    }
    for await (const ev of queue) {
      // the first status was read from the row; skip the listener's duplicate
      yield ev;
    }
  } finally {
    unsubscribe();
    signal?.removeEventListener("abort", onAbort);
  }
}

export function cancelRun(db: AtelierDb, id: string, session: Session | null): RunView {
  const row = getRunRow(db, id);
  if (row.status === "queued") {
    db.update(studioRuns).set({ status: "cancelled", finishedAt: Date.now(), log: [...row.log, "cancelled while queued"].slice(-LOG_LINES) }).where(eq(studioRuns.id, id)).run();
  } else if (row.status === "running") {
    if (!runnerFor(db).cancelActive(id) && !runnerFor(db).requestRemoteCancel(id)) throw new AtelierError("conflict:studio", "This run is not running in this server process; restart recovery will settle it.");
  } else {
    throw new AtelierError("conflict:studio", `The run has already ${row.status === "succeeded" ? "finished" : row.status === "failed" ? "failed" : "stopped"}.`);
  }
  recordAudit(db, session, "training.cancel", { type: "training_run", id });
  return toRunView(db, getRunRow(db, id));
}

/** Re-queues a stopped run: from its checkpoint when there is one, else from the start. */
export function resumeRun(db: AtelierDb, id: string, session: Session | null): RunView {
  const row = getRunRow(db, id);
  if (row.status !== "cancelled" && row.status !== "interrupted" && row.status !== "failed") {
    throw new AtelierError("conflict:studio", `Only a cancelled, interrupted or failed run can be resumed (this one is ${row.status}).`);
  }
  const resume = hasCheckpoint(row);
  const note = resume ? "resume requested: continuing from the last checkpoint" : "resume requested: no checkpoint was saved, starting over";
  // back of the queue: a resumed run does not jump ahead of runs queued meanwhile
  db.update(studioRuns)
    .set({ status: "queued", resume, error: null, finishedAt: null, queuedAt: Date.now(), log: [...row.log, note].slice(-LOG_LINES) })
    .where(eq(studioRuns.id, id))
    .run();
  recordAudit(db, session, "training.resume", { type: "training_run", id }, { fromCheckpoint: resume });
  runnerFor(db).kick();
  return toRunView(db, getRunRow(db, id));
}
