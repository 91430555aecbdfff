import type { LossPoint, RunProgress, RunStatus, WatchEvent } from "./studio-types";

/** What the run page shows live: the last server snapshot with the watch stream's events folded in. */
export interface LiveRun {
  status: RunStatus;
  error: string | null;
  progress: RunProgress;
  points: LossPoint[];
  modelId: string | null;
  pplBefore: number | null;
  pplAfter: number | null;
}

export interface RunSnapshot {
  status: RunStatus;
  error: string | null;
  progress: RunProgress;
  points: LossPoint[];
  modelId: string | null;
  metrics: { pplBefore: number | null; pplAfter: number | null } | null;
}

export function liveFromSnapshot(run: RunSnapshot): LiveRun {
  return {
    status: run.status,
    error: run.error,
    progress: run.progress,
    points: run.points.map((p) => ({ step: p.step, loss: p.loss, evalLoss: p.evalLoss ?? null })),
    modelId: run.modelId,
    pplBefore: run.metrics?.pplBefore ?? null,
    pplAfter: run.metrics?.pplAfter ?? null,
  };
}

/**
 * A fresh snapshot replaces the live state, but never loses points the stream already delivered
 * (a snapshot fetched just before an event arrives would otherwise make the chart jump back).
 */
export function mergeSnapshot(live: LiveRun | null, run: RunSnapshot): LiveRun {
  const next = liveFromSnapshot(run);
  if (!live) return next;
  const points = mergePoints(next.points, live.points);
  const progress = live.progress.step > next.progress.step && isRunning(next.status) ? live.progress : next.progress;
  return { ...next, points, progress };
}

const isRunning = (s: RunStatus) => s === "running" || s === "queued";

/** Union by step, sorted; a later point fills in what an earlier one at the same step lacked. */
export function mergePoints(a: readonly LossPoint[], b: readonly LossPoint[]): LossPoint[] {
  const byStep = new Map<number, LossPoint>();
  for (const p of [...a, ...b]) {
    const prev = byStep.get(p.step);
    byStep.set(p.step, prev ? { step: p.step, loss: p.loss ?? prev.loss, evalLoss: p.evalLoss ?? prev.evalLoss ?? null } : p);
  }
  return [...byStep.values()].sort((x, y) => x.step - y.step);
}

export function applyWatchEvent(live: LiveRun, e: WatchEvent): LiveRun {
  switch (e.type) {
    case "progress": {
      const point: LossPoint = { step: e.step, loss: e.loss, evalLoss: e.evalLoss ?? null };
      return {
        ...live,
        status: live.status === "queued" ? "running" : live.status,
        progress: {
          step: e.step,
          totalSteps: e.totalSteps,
          fraction: e.totalSteps > 0 ? Math.min(1, e.step / e.totalSteps) : 0,
          etaSeconds: e.etaSeconds,
        },
        points: mergePoints(live.points, [point]),
      };
    }
    case "status":
      return { ...live, status: e.status, error: e.error ?? (e.status === "failed" ? live.error : null) };
    case "done":
      return {
        ...live,
        status: "succeeded",
        modelId: e.modelId,
        pplBefore: e.pplBefore,
        pplAfter: e.pplAfter,
        progress: { ...live.progress, step: live.progress.totalSteps || live.progress.step, fraction: 1, etaSeconds: 0 },
      };
  }
}
