import "server-only";
import { and, desc, eq, isNotNull } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { studioRuns, type StudioRunRow } from "./schema";
import type { EstimateAccuracy } from "./types";

/*
 * The planner's estimates, checked against what runs measured. Every finished run keeps the raw
 * estimate (calibration speed × steps; the trainer's own memory estimate) beside the measured
 * training time (the trainer process's wall time, without data preparation and evaluations,
 * which is what the estimate covers) and peak memory. The median measured/raw ratio of the recent runs of the same method
 * corrects the next estimate: a planner that was 40% high on this machine stops being 40% high.
 * The ratios are clamped so one odd run (a machine busy with something else) cannot make the
 * next plan absurd.
 */

/** Runs whose ratio corrects the next estimate. */
export const ACCURACY_WINDOW = 8;
const MIN_FACTOR = 0.2;
const MAX_FACTOR = 5;

/** What a run stores of its plan (in settings.plan): the raw estimates before correction, and the factors applied. */
export type PlanRecord = { rawSeconds: number; rawPeakBytes: number; timeFactor: number; memoryFactor: number };

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const clamp = (x: number) => Math.min(MAX_FACTOR, Math.max(MIN_FACTOR, x));

/** Seconds the trainer process ran, summed over resumes (null for runs from before it was measured). */
export function measuredTrainSeconds(row: Pick<StudioRunRow, "settings">): number | null {
  const m = (row.settings as { measured?: { trainSeconds?: number } }).measured;
  return typeof m?.trainSeconds === "number" ? m.trainSeconds : null;
}

/** What a run's time estimate is compared with: the trainer's running time, else (older runs) the whole wall time. */
const trainSecondsOf = (row: StudioRunRow) => measuredTrainSeconds(row) ?? row.actualSeconds;

function planOf(row: StudioRunRow): PlanRecord | null {
  const p = (row.settings as { plan?: Partial<PlanRecord> }).plan;
  return p && typeof p.rawSeconds === "number" && typeof p.rawPeakBytes === "number"
    ? { rawSeconds: p.rawSeconds, rawPeakBytes: p.rawPeakBytes, timeFactor: p.timeFactor ?? 1, memoryFactor: p.memoryFactor ?? 1 }
    : null;
}

/**
 * How the recent succeeded runs of `method` compared with their estimates (any method when none
 * of this one has finished yet), and the factors the next estimate is multiplied by (1 without
 * history).
 */
export function estimateAccuracy(db: AtelierDb, method: StudioRunRow["method"]): EstimateAccuracy {
  const recentOf = (m: StudioRunRow["method"] | null) =>
    db
      .select()
      .from(studioRuns)
      .where(and(eq(studioRuns.status, "succeeded"), isNotNull(studioRuns.actualSeconds), ...(m ? [eq(studioRuns.method, m)] : [])))
      .orderBy(desc(studioRuns.finishedAt))
      .limit(ACCURACY_WINDOW)
      .all();
  let rows = recentOf(method);
  const sameMethod = rows.length > 0;
  if (!sameMethod) rows = recentOf(null);
  const recent = rows.map((r) => {
    const plan = planOf(r);
    // runs planned before estimates were corrected stored the raw estimate as the estimate
    const rawSeconds = plan?.rawSeconds ?? r.estimateSeconds;
    const rawPeak = plan?.rawPeakBytes ?? r.estimatePeakBytes;
    const took = trainSecondsOf(r);
    return {
      runId: r.id,
      name: r.name,
      method: r.method,
      finishedAt: r.finishedAt ?? r.createdAt,
      estimatedSeconds: r.estimateSeconds,
      actualSeconds: took,
      estimatedPeakBytes: r.estimatePeakBytes,
      actualPeakBytes: r.actualPeakBytes,
      timeRatio: rawSeconds && took ? took / rawSeconds : null,
      memoryRatio: rawPeak && r.actualPeakBytes ? r.actualPeakBytes / rawPeak : null,
    };
  });
  const t = median(recent.flatMap((r) => (r.timeRatio !== null ? [r.timeRatio] : [])));
  const m = median(recent.flatMap((r) => (r.memoryRatio !== null ? [r.memoryRatio] : [])));
  return {
    method: sameMethod ? method : null,
    runs: recent.length,
    timeFactor: t === null ? 1 : clamp(t),
    memoryFactor: m === null ? 1 : clamp(m),
    recent: recent.map(({ timeRatio: _t, memoryRatio: _m, ...r }) => r),
  };
}
