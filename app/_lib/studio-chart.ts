import { mergePoints } from "./studio-live";
import type { LossPoint } from "./studio-types";

export interface ChartBox {
  width: number;
  height: number;
  /** Room for axis labels: left, right, top, bottom. */
  pad: { l: number; r: number; t: number; b: number };
}

export interface ChartGeometry {
  trainPath: string;
  evalPath: string;
  evalDots: { x: number; y: number; step: number; value: number }[];
  lastTrain: { x: number; y: number; step: number; value: number } | null;
  yTicks: { y: number; label: string }[];
  xTicks: { x: number; label: string }[];
  trainCount: number;
  evalCount: number;
}

const finite = (n: number | null | undefined): n is number => typeof n === "number" && Number.isFinite(n);

/** 1, 2, 5 × 10^k steps, so tick labels stay round. */
function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

function trimNumber(v: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return v.toFixed(Math.min(decimals, 4));
}

/**
 * Pure geometry of the loss chart (train line + eval line with dots) in SVG user units.
 * Points are sorted and de-duplicated by step (the live stream may repeat what the first load had);
 * the x axis spans to `totalSteps` so the line visibly grows toward the end.
 */
export function lossChart(points: readonly LossPoint[], totalSteps: number, box: ChartBox): ChartGeometry {
  const sorted = mergePoints([], points.filter((p) => finite(p.step)));
  const train = sorted.filter((p) => finite(p.loss));
  const evals = sorted.filter((p) => finite(p.evalLoss));

  const values = [...train.map((p) => p.loss as number), ...evals.map((p) => p.evalLoss as number)];
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (hi - lo < 1e-6) {
    lo -= 0.5;
    hi += 0.5;
  }
  const yStep = niceStep(hi - lo, 4);
  lo = Math.max(0, Math.floor(lo / yStep) * yStep);
  hi = Math.ceil(hi / yStep) * yStep;

  const maxStep = Math.max(1, totalSteps, ...sorted.map((p) => p.step));
  const minStep = 0;
  const { width, height, pad } = box;
  const plotW = width - pad.l - pad.r;
  const plotH = height - pad.t - pad.b;
  const sx = (step: number) => pad.l + ((step - minStep) / (maxStep - minStep)) * plotW;
  const sy = (v: number) => pad.t + (1 - (v - lo) / (hi - lo)) * plotH;
  const r = (n: number) => Math.round(n * 10) / 10;
  const path = (pts: { x: number; y: number }[]) => pts.map((p, i) => `${i ? "L" : "M"}${r(p.x)} ${r(p.y)}`).join(" ");

  const trainXY = train.map((p) => ({ x: sx(p.step), y: sy(p.loss as number), step: p.step, value: p.loss as number }));
  const evalXY = evals.map((p) => ({ x: sx(p.step), y: sy(p.evalLoss as number), step: p.step, value: p.evalLoss as number }));

  const yTicks: ChartGeometry["yTicks"] = [];
  for (let v = lo; v <= hi + yStep / 2; v += yStep) yTicks.push({ y: r(sy(v)), label: trimNumber(v, yStep) });
  const xStep = Math.max(1, niceStep(maxStep - minStep, 5));
  const xTicks: ChartGeometry["xTicks"] = [];
  for (let s = minStep; s <= maxStep; s += xStep) xTicks.push({ x: r(sx(s)), label: String(Math.round(s)) });

  return {
    trainPath: path(trainXY),
    evalPath: path(evalXY),
    evalDots: evalXY.map((p) => ({ ...p, x: r(p.x), y: r(p.y) })),
    lastTrain: trainXY.length ? { ...trainXY[trainXY.length - 1]!, x: r(trainXY[trainXY.length - 1]!.x), y: r(trainXY[trainXY.length - 1]!.y) } : null,
    yTicks,
    xTicks,
    trainCount: train.length,
    evalCount: evals.length,
  };
}
