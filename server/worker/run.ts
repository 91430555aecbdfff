import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { evaluate, resumeTraining, startTraining, type TrainingRun } from "../forge";
import { ServerError, type ArtifactRef, type ClaimedRun, type WorkerClient } from "./client";

/*
 * One claimed run on this machine: download the packed data and the base (cached by sha256),
 * continue from the server's checkpoint if there is one, train with the local forge (CUDA where
 * this machine has it), post progress lines twice a second (they renew the lease), upload each
 * checkpoint as it is written and the output at the end.
 */

export type RunContext = { client: WorkerClient; cacheDir: string; threads?: number; log: (line: string) => void };

const FLUSH_MS = 500;

async function ensureBase(ctx: RunContext, run: ClaimedRun, ref: ArtifactRef): Promise<string> {
  const blob = path.join(ctx.cacheDir, "blobs", `${ref.sha256}.gguf`);
  if (!existsSync(blob)) {
    await fs.mkdir(path.dirname(blob), { recursive: true });
    ctx.log(`downloading the base model (${(ref.bytes / 1024 / 1024).toFixed(1)} MB)`);
    await ctx.client.download(run, "base.gguf", ref, blob, ctx.log);
  } else ctx.log("base model found in the cache");
  // A checkpoint is bound to the base path it was trained with: every worker serves the base at the path the server names.
  const wanted = run.basePath ?? blob;
  if (wanted !== blob) {
    await fs.mkdir(path.dirname(wanted), { recursive: true });
    const current = await fs.readlink(wanted).catch(() => null);
    if (current !== blob) {
      await fs.rm(wanted, { force: true });
      await fs.symlink(blob, wanted);
    }
  }
  return wanted;
}

export async function executeRun(ctx: RunContext, run: ClaimedRun): Promise<void> {
  const dir = path.join(ctx.cacheDir, "runs", run.runId);
  const ckptDir = path.join(dir, "ckpt");
  await fs.mkdir(ckptDir, { recursive: true });
  const started = Date.now();
  const pending: unknown[] = [];
  let cancel = false;
  let leaseLost = false;
  let training: TrainingRun | null = null;
  const flush = async () => {
    const lines = pending.splice(0);
    try {
      const r = await ctx.client.events(run, lines);
      if (r.cancel && !cancel) {
        cancel = true;
        ctx.log("the run was cancelled on the server; stopping after this step");
        training?.stop();
      }
    } catch (err) {
      if (err instanceof ServerError && err.status === 409) {
        leaseLost = true;
        ctx.log(`lost the run: ${err.message}`);
        training?.kill();
      } else {
        pending.unshift(...lines);
        ctx.log(`could not post progress (${(err as Error).message}); retrying`);
      }
    }
  };
  let flushing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => (flushing = flushing.then(flush)), FLUSH_MS);
  const note = (line: string) => {
    ctx.log(line);
    pending.push({ type: "log", line: `worker: ${line}` });
  };
  try {
    const files = new Map(run.artifacts.map((a) => [a.name, a]));
    for (const name of ["train.atds", "eval.atds"]) {
      const ref = files.get(name);
      if (ref) await ctx.client.download(run, name, ref, path.join(dir, name), ctx.log);
    }
    const base = files.get("base.gguf") ? await ensureBase(ctx, run, files.get("base.gguf")!) : undefined;
    const hasEval = files.has("eval.atds");
    const config = {
      ...run.config,
      ...(base ? { base } : {}),
      train: path.join(dir, "train.atds"),
      ...(hasEval ? { eval: path.join(dir, "eval.atds") } : {}),
      out: path.join(dir, "output.gguf"),
      checkpointDir: ckptDir,
      ...(ctx.threads ? { threads: ctx.threads } : {}),
    } as Parameters<typeof startTraining>[0];
    const opts = { onLog: (line: string) => pending.push({ type: "log", line }) };
    if (run.checkpoint) {
      note(`resuming from the server's checkpoint at step ${run.checkpoint.step}`);
      for (const f of run.checkpoint.files) await ctx.client.download(run, `ckpt/${f.name}`, f, path.join(ckptDir, f.name), ctx.log);
      await fs.writeFile(path.join(ckptDir, "run.json"), JSON.stringify(config, null, 2) + "\n");
      training = resumeTraining(ckptDir, opts);
    } else {
      if (base && hasEval) {
        const before = await evaluate({ model: base, data: path.join(dir, "eval.atds"), ...(ctx.threads ? { threads: ctx.threads } : {}) });
        pending.push({ type: "ppl_before", value: before.ppl });
      }
      training = startTraining(config, opts);
    }
    note(`training (pid ${training.pid})`);
    let uploads: Promise<void> = Promise.resolve();
    for await (const ev of training.progress) {
      pending.push(ev);
      if (ev.type === "checkpoint") {
        // Copied now, uploaded in turn: the trainer overwrites its checkpoint at the next save.
        const snap = await snapshotCheckpoint(ckptDir, ev.step);
        if (snap) uploads = uploads.then(() => uploadCheckpoint(ctx, run, snap, ev.step));
      }
    }
    const result = await training.done;
    await uploads;
    await (flushing = flushing.then(flush));
    if (leaseLost) return;
    const seconds = (Date.now() - started) / 1000;
    if (result.status === "stopped") {
      await ctx.client.post(run, "finish", { status: "stopped", steps: result.steps, trainLoss: result.trainLoss, evalLoss: result.evalLoss, evalPpl: result.evalPpl, pplAfter: null, seconds });
      return;
    }
    let pplAfter = result.evalPpl;
    if (pplAfter === null && hasEval) {
      const lora = run.method === "lora";
      pplAfter = (await evaluate({ model: lora || !base ? (base ?? result.out) : result.out, data: path.join(dir, "eval.atds"), ...(lora ? { lora: result.out } : {}) })).ppl;
    }
    note("uploading the output");
    await ctx.client.upload(run, "output", "output.gguf", result.out);
    await ctx.client.post(run, "finish", { status: "done", steps: result.steps, trainLoss: result.trainLoss, evalLoss: result.evalLoss, evalPpl: result.evalPpl, pplAfter, seconds });
    note(`done: ${result.steps} steps`);
    await fs.rm(dir, { recursive: true, force: true });
  } catch (err) {
    if (leaseLost || (err instanceof ServerError && err.status === 409)) return;
    const message = (err as Error).message;
    ctx.log(`run failed: ${message}`);
    await flushing;
    await ctx.client.post(run, "finish", { status: "failed", steps: 0, trainLoss: null, evalLoss: null, evalPpl: null, pplAfter: null, seconds: (Date.now() - started) / 1000, error: message }).catch(() => undefined);
  } finally {
    clearInterval(timer);
  }
}

/** A copy of the checkpoint the trainer just wrote (null if it was already replaced by a newer one). */
async function snapshotCheckpoint(ckptDir: string, step: number): Promise<string | null> {
  const snap = path.join(ckptDir, "..", `ckpt-upload-${step}`);
  await fs.mkdir(snap, { recursive: true });
  for (const name of ["ckpt.gguf", "ckpt.json"]) await fs.copyFile(path.join(ckptDir, name), path.join(snap, name));
  const info = JSON.parse(await fs.readFile(path.join(snap, "ckpt.json"), "utf8")) as { step?: number };
  if (info.step === step) return snap;
  await fs.rm(snap, { recursive: true, force: true });
  return null;
}

/** Uploads a checkpoint snapshot and makes it the server's current one. */
async function uploadCheckpoint(ctx: RunContext, run: ClaimedRun, snap: string, step: number): Promise<void> {
  try {
    const files: ArtifactRef[] = [];
    for (const name of ["ckpt.gguf", "ckpt.json"]) files.push(await ctx.client.upload(run, "ckpt", name, path.join(snap, name)));
    await ctx.client.post(run, "checkpoint", { step, files });
    ctx.log(`checkpoint at step ${step} uploaded`);
  } catch (err) {
    ctx.log(`checkpoint at step ${step} not uploaded: ${(err as Error).message}`);
  } finally {
    await fs.rm(snap, { recursive: true, force: true });
  }
}
