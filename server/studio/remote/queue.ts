import "server-only";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { and, asc, eq, inArray, lt } from "drizzle-orm";
import type { AtelierDb } from "../../db/client";
import { env } from "../../env";
import { AtelierError } from "../../errors";
import { ProgressEventSchema } from "../../forge";
import { trainerConfig } from "../planner";
import { packPrepared, prepareData } from "../prepare";
import { checkpointDirOf, LOG_LINES, outputPathOf, runnerFor, type RunSettings } from "../runner";
import { studioRuns, type StudioRunRow } from "../schema";
import { studioRemoteRuns, type ArtifactRef, type StudioRemoteRunRow } from "./schema";

/*
 * Studio runs trained by remote workers (`npx atelier worker`). A run queued "on a worker" is
 * never picked by the server's own runner; a worker claims it and gets a lease (a random token,
 * renewed by every call). Its data is packed here at the first claim; the worker downloads the
 * packed dataset and the base (sha256-checked), trains with its own forge, posts progress lines
 * (the run page looks the same as for a local run), uploads checkpoints and the output. A worker
 * that goes silent past ATELIER_WORKER_LEASE_S loses the lease: the run is queued again and the
 * next worker resumes from the last uploaded checkpoint.
 */

export type ClaimedRun = {
  runId: string;
  lease: string;
  name: string;
  method: string;
  /** The trainer config with this server's paths; the worker substitutes its own. */
  config: Record<string, unknown>;
  artifacts: ArtifactRef[];
  checkpoint: { step: number; files: ArtifactRef[] } | null;
  /** Every worker puts the base here (a checkpoint is bound to the base path it was trained with). */
  basePath: string | null;
};

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export function hashFile(filePath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(filePath, { highWaterMark: 1 << 20 })
      .on("data", (c) => h.update(c))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}

/** `Authorization: Bearer <ATELIER_WORKER_TOKEN>`; a wrong or missing token learns nothing else. */
export function authenticateWorker(req: Request): void {
  const expected = env().ATELIER_WORKER_TOKEN;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "");
  const given = Buffer.from(m?.[1] ?? "");
  const want = Buffer.from(expected ?? "");
  if (!expected || given.length !== want.length || !timingSafeEqual(given, want)) {
    throw new AtelierError("unauthorized:worker", "Missing or wrong worker token.");
  }
}

function appendLog(db: AtelierDb, row: StudioRunRow, line: string, set: Partial<StudioRunRow> = {}) {
  db.update(studioRuns).set({ ...set, log: [...row.log, line].slice(-LOG_LINES) }).where(eq(studioRuns.id, row.id)).run();
}

/** Runs whose worker went silent go back to the queue (resuming from their last uploaded checkpoint). */
export function expireLeases(db: AtelierDb, now = Date.now()): string[] {
  const stale = db
    .select({ run: studioRuns, remote: studioRemoteRuns })
    .from(studioRemoteRuns)
    .innerJoin(studioRuns, eq(studioRuns.id, studioRemoteRuns.runId))
    .where(and(eq(studioRuns.status, "running"), lt(studioRemoteRuns.leaseExpiresAt, now)))
    .all();
  for (const { run, remote } of stale) {
    const resume = remote.checkpointStep !== null;
    db.update(studioRemoteRuns).set({ leaseHash: null, leaseExpiresAt: null, workerName: null }).where(eq(studioRemoteRuns.runId, run.id)).run();
    appendLog(
      db,
      run,
      `worker ${remote.workerName ?? "?"} went silent; ${resume ? `queued again, resuming from the checkpoint at step ${remote.checkpointStep}` : "queued again from the start (no checkpoint uploaded)"}`,
      { status: "queued", resume, queuedAt: Date.now() },
    );
    runnerFor(db).emitStatus(run.id, "queued");
  }
  return stale.map((s) => s.run.id);
}

/** Packs the run's data (once) and describes what the worker downloads. */
async function prepareForWorker(db: AtelierDb, run: StudioRunRow, remote: StudioRemoteRunRow): Promise<{ config: Record<string, unknown>; artifacts: ArtifactRef[] }> {
  if (remote.config && remote.artifacts) return { config: remote.config, artifacts: remote.artifacts };
  const settings = run.settings as unknown as RunSettings;
  const trainPath = path.join(run.workDir, "train.atds");
  const evalPath = path.join(run.workDir, "eval.atds");
  await fs.mkdir(run.workDir, { recursive: true });
  const prepared = await prepareData(db, settings.input);
  const packed = packPrepared(prepared, settings.train, { train: trainPath, eval: evalPath });
  const hasEval = packed.built.eval !== null && existsSync(evalPath);
  const config = trainerConfig(prepared, { ...settings.train, batch: packed.batch }, {
    out: outputPathOf(run),
    checkpointDir: checkpointDirOf(run),
    train: trainPath,
    ...(hasEval ? { eval: evalPath } : {}),
  }) as Record<string, unknown>;
  const files: Array<[string, string]> = [["train.atds", trainPath], ...(hasEval ? [["eval.atds", evalPath] as [string, string]] : []), ...(prepared.base ? [["base.gguf", prepared.base.filePath] as [string, string]] : [])];
  const artifacts: ArtifactRef[] = [];
  for (const [name, file] of files) artifacts.push({ name, sha256: await hashFile(file), bytes: (await fs.stat(file)).size });
  db.update(studioRemoteRuns).set({ config, artifacts }).where(eq(studioRemoteRuns.runId, run.id)).run();
  appendLog(db, run, `packed for a worker: ${packed.built.train.nRows} training rows, ${packed.built.eval?.nRows ?? 0} held-out rows`);
  return { config, artifacts };
}

let claiming: Promise<unknown> = Promise.resolve();

/** The oldest run queued for a worker, leased to this one; null when there is none. */
export function claimRun(db: AtelierDb, workerName: string): Promise<ClaimedRun | null> {
  // One claim at a time in this process: preparing a run takes a moment and must not be done twice.
  const next = claiming.then(() => claimNow(db, workerName));
  claiming = next.catch(() => undefined);
  return next;
}

async function claimNow(db: AtelierDb, workerName: string): Promise<ClaimedRun | null> {
  expireLeases(db);
  const candidate = db
    .select({ run: studioRuns, remote: studioRemoteRuns })
    .from(studioRemoteRuns)
    .innerJoin(studioRuns, eq(studioRuns.id, studioRemoteRuns.runId))
    .where(eq(studioRuns.status, "queued"))
    .orderBy(asc(studioRuns.queuedAt))
    .limit(1)
    .get();
  if (!candidate) return null;
  const { run, remote } = candidate;
  let prepared;
  try {
    prepared = await prepareForWorker(db, run, remote);
  } catch (err) {
    const error = `preparing the data for a worker failed: ${(err as Error).message}`;
    appendLog(db, run, error, { status: "failed", error, finishedAt: Date.now() });
    runnerFor(db).emitStatus(run.id, "failed", error);
    return claimNow(db, workerName);
  }
  const lease = randomBytes(24).toString("base64url");
  const taken = db
    .update(studioRuns)
    .set({ status: "running", startedAt: run.startedAt ?? Date.now(), error: null, finishedAt: null, device: `worker:${workerName}`.slice(0, 100) })
    .where(and(eq(studioRuns.id, run.id), eq(studioRuns.status, "queued")))
    .run();
  if (taken.changes !== 1) return claimNow(db, workerName);
  db.update(studioRemoteRuns)
    .set({ workerName, leaseHash: sha256(lease), leaseExpiresAt: Date.now() + env().ATELIER_WORKER_LEASE_S * 1000 })
    .where(eq(studioRemoteRuns.runId, run.id))
    .run();
  const resumeFrom = run.resume && remote.checkpointStep !== null && remote.checkpointFiles ? { step: remote.checkpointStep, files: remote.checkpointFiles } : null;
  appendLog(db, { ...run, log: getRunLog(db, run.id) }, `claimed by worker ${workerName}${resumeFrom ? `; resuming from the checkpoint at step ${resumeFrom.step}` : ""}`);
  runnerFor(db).emitStatus(run.id, "running");
  const base = prepared.artifacts.find((a) => a.name === "base.gguf");
  return {
    runId: run.id,
    lease,
    name: run.name,
    method: run.method,
    config: prepared.config,
    artifacts: prepared.artifacts,
    checkpoint: resumeFrom,
    basePath: base ? `/tmp/atelier-worker-bases/${base.sha256}.gguf` : null,
  };
}

const getRunLog = (db: AtelierDb, id: string) => db.select({ log: studioRuns.log }).from(studioRuns).where(eq(studioRuns.id, id)).get()?.log ?? [];

/** The run behind a lease (renewed); a lost or wrong lease is refused (the worker must stop). */
export function leasedRun(db: AtelierDb, runId: string, req: Request): { run: StudioRunRow; remote: StudioRemoteRunRow } {
  const lease = req.headers.get("x-atelier-lease") ?? "";
  const found = db
    .select({ run: studioRuns, remote: studioRemoteRuns })
    .from(studioRemoteRuns)
    .innerJoin(studioRuns, eq(studioRuns.id, studioRemoteRuns.runId))
    .where(eq(studioRemoteRuns.runId, runId))
    .get();
  if (!found || !found.remote.leaseHash || found.remote.leaseHash !== sha256(lease) || found.run.status !== "running") {
    throw new AtelierError("conflict:worker", "This worker no longer holds the run (its lease expired or the run was cancelled); stop working on it.", { reason: "lease_lost" });
  }
  db.update(studioRemoteRuns).set({ leaseExpiresAt: Date.now() + env().ATELIER_WORKER_LEASE_S * 1000 }).where(eq(studioRemoteRuns.runId, runId)).run();
  return found;
}

/** Progress lines from the worker, as the local runner handles the trainer's. Returns whether the run was cancelled meanwhile. */
export function recordProgress(db: AtelierDb, run: StudioRunRow, lines: unknown[]): { cancel: boolean } {
  const runner = runnerFor(db);
  const log = [...getRunLog(db, run.id)];
  for (const raw of lines) {
    const r = raw as { type?: unknown; line?: unknown; value?: unknown };
    if (r?.type === "log" && typeof r.line === "string") {
      log.push(r.line.slice(0, 2000));
      continue;
    }
    if (r?.type === "ppl_before" && typeof r.value === "number") {
      db.update(studioRuns).set({ pplBefore: r.value }).where(eq(studioRuns.id, run.id)).run();
      continue;
    }
    const ev = ProgressEventSchema.safeParse(raw);
    if (!ev.success) throw new AtelierError("bad_request:worker", `Not a progress line: ${JSON.stringify(raw).slice(0, 200)}`);
    runner.recordEvent(run.id, ev.data, log);
  }
  db.update(studioRuns).set({ log: log.slice(-LOG_LINES) }).where(eq(studioRuns.id, run.id)).run();
  return { cancel: runner.cancelRequested(run.id) };
}

/** Where uploads land before they are checked: <run>/remote-upload/<name>. */
export const uploadDir = (run: StudioRunRow) => path.join(run.workDir, "remote-upload");

/** Makes an uploaded checkpoint the run's current one (the files were sha256-checked on upload). */
export async function commitCheckpoint(db: AtelierDb, run: StudioRunRow, step: number, files: ArtifactRef[]): Promise<void> {
  const dir = checkpointDirOf(run);
  const next = `${dir}.next`;
  await fs.rm(next, { recursive: true, force: true });
  await fs.mkdir(next, { recursive: true });
  for (const f of files) {
    const src = path.join(uploadDir(run), `ckpt-${f.name}`);
    const got = await hashFile(src).catch(() => null);
    if (got !== f.sha256) throw new AtelierError("bad_request:worker", `Checkpoint file ${f.name} was not uploaded with sha256 ${f.sha256.slice(0, 12)}.`);
    await fs.rename(src, path.join(next, f.name));
  }
  // The run's config beside it, as a local checkpoint has: "resume" on the run page then offers it.
  const config = db.select({ config: studioRemoteRuns.config }).from(studioRemoteRuns).where(eq(studioRemoteRuns.runId, run.id)).get()?.config;
  await fs.writeFile(path.join(next, "run.json"), JSON.stringify(config ?? {}, null, 2) + "\n");
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rename(next, dir);
  db.update(studioRemoteRuns).set({ checkpointStep: step, checkpointFiles: files }).where(eq(studioRemoteRuns.runId, run.id)).run();
  appendLog(db, { ...run, log: getRunLog(db, run.id) }, `checkpoint at step ${step} uploaded by the worker`);
}

export type FinishInput = {
  status: "done" | "stopped" | "failed";
  steps: number;
  trainLoss: number | null;
  evalLoss: number | null;
  evalPpl: number | null;
  pplAfter: number | null;
  seconds: number;
  error?: string;
};

/** The worker's end of the run: the output registered (done), or the run stopped/failed, resumable from its checkpoint. */
export async function finishRun(db: AtelierDb, run: StudioRunRow, remote: StudioRemoteRunRow, input: FinishInput): Promise<{ modelId: string | null }> {
  const runner = runnerFor(db);
  const seconds = (run.actualSeconds ?? 0) + input.seconds;
  const release = () => db.update(studioRemoteRuns).set({ leaseHash: null, leaseExpiresAt: null }).where(eq(studioRemoteRuns.runId, run.id)).run();
  const fresh = db.select().from(studioRuns).where(eq(studioRuns.id, run.id)).get()!;
  if (input.status === "done") {
    const out = outputPathOf(run);
    if (!existsSync(out)) throw new AtelierError("precondition:worker", "Upload the output before finishing the run.");
    const settings = run.settings as unknown as RunSettings;
    const modelId = await runner.register(run, settings, {
      pplBefore: fresh.pplBefore,
      pplAfter: input.pplAfter ?? input.evalPpl,
      // Bits per byte and peak memory are measured by the local runner; a remote worker reports neither yet.
      bpbBefore: fresh.bpbBefore ?? null,
      bpbAfter: null,
      trainLoss: input.trainLoss,
      evalLoss: input.evalLoss,
      steps: input.steps,
      seconds,
      // The worker's own training seconds, summed over resumes: the time the estimate is compared with.
      trainSeconds: seconds,
      peakBytes: null,
    });
    release();
    const log = [...fresh.log, `done on worker ${remote.workerName ?? "?"}: registered as model ${modelId}`];
    runner.emitDone(run.id, { modelId, pplBefore: fresh.pplBefore, pplAfter: input.pplAfter ?? input.evalPpl });
    runner.finishStatus(run.id, "succeeded", { step: input.steps, actualSeconds: seconds, pplAfter: input.pplAfter ?? input.evalPpl, modelId }, log);
    return { modelId };
  }
  release();
  const cancelled = input.status === "stopped" && runner.cancelRequested(run.id);
  const status = input.status === "failed" ? "failed" : cancelled ? "cancelled" : "interrupted";
  const error = input.status === "failed" ? (input.error ?? "The worker's trainer failed.").slice(0, 2000) : cancelled ? undefined : "The worker stopped the run.";
  if (remote.checkpointStep !== null) db.update(studioRuns).set({ resume: true }).where(eq(studioRuns.id, run.id)).run();
  runner.finishStatus(run.id, status, { step: input.steps, actualSeconds: seconds, ...(error ? { error } : {}) }, [...fresh.log, `worker ${remote.workerName ?? "?"}: ${status}${error ? `: ${error}` : ""}`]);
  return { modelId: null };
}

/** Queued for a worker: the row that keeps the server's own runner away from the run. */
export function placeOnWorker(db: AtelierDb, runId: string): void {
  db.insert(studioRemoteRuns).values({ runId }).onConflictDoNothing().run();
}

export function isRemoteRun(db: AtelierDb, runIds: string[]): Set<string> {
  if (runIds.length === 0) return new Set();
  return new Set(db.select({ id: studioRemoteRuns.runId }).from(studioRemoteRuns).where(inArray(studioRemoteRuns.runId, runIds)).all().map((r) => r.id));
}

const globalForSweeper = globalThis as unknown as { atelierLeaseSweepers?: WeakMap<AtelierDb, NodeJS.Timeout> };

/** Re-queues runs whose worker went silent without waiting for the next claim (so the run page says so). */
export function startLeaseSweeper(db: AtelierDb): void {
  const timers = (globalForSweeper.atelierLeaseSweepers ??= new WeakMap());
  if (timers.has(db)) return;
  expireLeases(db);
  const timer = setInterval(() => expireLeases(db), Math.max(1000, (env().ATELIER_WORKER_LEASE_S * 1000) / 2));
  timer.unref();
  timers.set(db, timer);
}
