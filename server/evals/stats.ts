import "server-only";

/*
 * Statistics a reader can check: percentile bootstrap intervals with a fixed, shown seed, and
 * the exact two-sided sign test for paired comparisons (ties dropped). Pure functions.
 */

export const DEFAULT_SEED = 1234;
export const DEFAULT_RESAMPLES = 2000;
/** Below this many rows a mean is reported but no conclusion is drawn from it. */
export const MIN_ROWS_FOR_CONCLUSION = 10;

/** mulberry32: a small, fast 32-bit PRNG; the same seed gives the same stream everywhere. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Interval = { mean: number; low: number; high: number; n: number };

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/**
 * 95% (by default) percentile bootstrap interval of the mean: `resamples` resamples of n values
 * drawn with replacement; the interval is the empirical (α/2, 1−α/2) quantiles of their means.
 * null for no values.
 */
export function bootstrapMean(values: readonly number[], opts: { seed?: number; resamples?: number; level?: number } = {}): Interval | null {
  const n = values.length;
  if (n === 0) return null;
  const m = mean(values);
  if (n === 1) return { mean: m, low: m, high: m, n };
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  const alpha = 1 - (opts.level ?? 0.95);
  const rand = mulberry32(opts.seed ?? DEFAULT_SEED);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[Math.floor(rand() * n)]!;
    means[b] = s / n;
  }
  means.sort();
  const lo = means[Math.max(0, Math.floor((alpha / 2) * resamples))]!;
  const hi = means[Math.min(resamples - 1, Math.ceil((1 - alpha / 2) * resamples) - 1)]!;
  // float sums of identical values can differ in the last bit; keep the interval around the mean
  return { mean: m, low: Math.min(lo, m), high: Math.max(hi, m), n };
}

function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

const LOG_FACT: number[] = [0];
function logFactorial(n: number): number {
  for (let i = LOG_FACT.length; i <= n; i++) LOG_FACT[i] = LOG_FACT[i - 1]! + Math.log(i);
  return LOG_FACT[n]!;
}

/**
 * Exact two-sided sign test: under "no difference" each non-tied pair is a fair coin, so
 * p = 2 · P(Binomial(wins + losses, ½) ≤ min(wins, losses)), capped at 1. 1 when every pair tied.
 */
export function signTest(wins: number, losses: number): number {
  const n = wins + losses;
  if (n === 0) return 1;
  const k = Math.min(wins, losses);
  let tail = 0;
  for (let i = 0; i <= k; i++) tail += Math.exp(logChoose(n, i) - n * Math.LN2);
  return Math.min(1, 2 * tail);
}

export type PairedComparison = {
  /** pairs where both sides have a value */
  n: number;
  wins: number;
  ties: number;
  losses: number;
  /** sign test on wins vs losses */
  pValue: number;
  /** mean of (a − b) with its bootstrap interval */
  difference: Interval | null;
};

/** Two aligned lists (null = no value for that row); a "win" is a row where a beats b by more than `tolerance`. */
export function comparePaired(a: readonly (number | null)[], b: readonly (number | null)[], opts: { seed?: number; resamples?: number; tolerance?: number; higherIsBetter?: boolean } = {}): PairedComparison {
  const tol = opts.tolerance ?? 1e-9;
  const sign = opts.higherIsBetter === false ? -1 : 1;
  const diffs: number[] = [];
  let wins = 0;
  let ties = 0;
  let losses = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x == null || y == null) continue;
    const d = x - y;
    diffs.push(d);
    if (Math.abs(d) <= tol) ties++;
    else if (sign * d > 0) wins++;
    else losses++;
  }
  return { n: diffs.length, wins, ties, losses, pValue: signTest(wins, losses), difference: bootstrapMean(diffs, opts) };
}

/** Two significant digits, so 0.046 never reads as 0.05: "p = 0.015", "p = 0.32", "p < 0.001". */
export function formatP(p: number): string {
  if (p < 0.001) return "p < 0.001";
  return `p = ${Number(p.toPrecision(2))}`;
}
