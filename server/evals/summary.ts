import "server-only";
import { asc, eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { models } from "../db/schema";
import { METRICS } from "./metric-info";
import { evalResults, evalRunRows, type EvalResultRow, type EvalRunRow } from "./schema";
import { coverageOf } from "./sets";
import { bootstrapMean, comparePaired, MIN_ROWS_FOR_CONCLUSION } from "./stats";
import type { ConfigSummary, IntervalView, MetricKey, PairView, RunSummary } from "./types";
import { describePair, plannerChecks, verdictOf, type TrainingInfo } from "./verdict";

/*
 * From stored results to the numbers a reader sees: per configuration and metric the mean with
 * its 95% bootstrap interval (seed and resamples shown), the best per column, every pair of
 * configurations compared on the same rows (wins / ties / losses, sign-test p), and the verdict.
 * Computed once when a run ends and stored with it.
 */

const round = (x: number) => Math.round(x * 1e6) / 1e6;
const iv = (i: ReturnType<typeof bootstrapMean>): IntervalView | null => (i ? { mean: round(i.mean), low: round(i.low), high: round(i.high), n: i.n } : null);

const GATE_ORDER: MetricKey[] = ["factsHit", "tokenF1", "refusalCorrect"];

/**
 * The metric the gate and the verdict use: required facts when at least half the answers can be
 * checked for them, else token-F1 on the same terms, else refusal correctness (every row has
 * one); failing all of those, whichever covers the most answers.
 */
export function gateMetricOf(results: Pick<EvalResultRow, "factsHit" | "tokenF1" | "refusalCorrect">[]): MetricKey | null {
  if (results.length === 0) return null;
  const coverage = (k: MetricKey) => results.filter((r) => r[k as "factsHit"] !== null).length;
  const half = GATE_ORDER.find((k) => coverage(k) * 2 >= results.length);
  if (half) return half;
  const best = [...GATE_ORDER].sort((a, b) => coverage(b) - coverage(a))[0]!;
  return coverage(best) > 0 ? best : null;
}

/**
 * The best configuration(s) per metric column, by mean. A column where every configuration ties
 * (all 0%, say) has no best: marking them all would say nothing, and the mark would read as a win.
 */
export function bestPerColumn(configs: Pick<ConfigSummary, "metrics">[]): RunSummary["best"] {
  const best: RunSummary["best"] = {};
  for (const m of METRICS) {
    if (!m.better) continue;
    const means = configs.map((c) => c.metrics[m.key]?.mean ?? null);
    const valid = means.filter((v): v is number => v !== null);
    if (valid.length < 2) continue;
    const target = m.better === "higher" ? Math.max(...valid) : Math.min(...valid);
    const winners = means.flatMap((v, i) => (v !== null && Math.abs(v - target) < 1e-9 ? [i] : []));
    if (winners.length < valid.length) best[m.key] = winners;
  }
  return best;
}

/** Values of one metric for one configuration, indexed by row (null where there is none). */
export function column(results: EvalResultRow[], configIdx: number, rows: number, key: MetricKey): (number | null)[] {
  const out = new Array<number | null>(rows).fill(null);
  for (const r of results) if (r.configIdx === configIdx && r.rowIdx < rows) out[r.rowIdx] = r[key] as number | null;
  return out;
}

/** The studio writes each trained version's lineage into models.meta: its run, the planner's advice, the seconds it trained. */
function trainingInfo(db: AtelierDb, modelIds: string[]): Map<string, TrainingInfo> {
  const out = new Map<string, TrainingInfo>();
  for (const id of new Set(modelIds)) {
    const m = db.select({ runId: models.runId, meta: models.meta }).from(models).where(eq(models.id, id)).get();
    if (!m?.runId) continue;
    const meta = (m.meta ?? {}) as { plan?: { recommendation?: unknown; reasons?: unknown }; actual?: { seconds?: unknown } };
    out.set(id, {
      runId: m.runId,
      seconds: typeof meta.actual?.seconds === "number" ? meta.actual.seconds : null,
      recommendation: typeof meta.plan?.recommendation === "string" ? meta.plan.recommendation : null,
      reasons: Array.isArray(meta.plan?.reasons) ? meta.plan.reasons.filter((r): r is string => typeof r === "string") : [],
    });
  }
  return out;
}

export function computeSummary(db: AtelierDb, run: EvalRunRow): RunSummary {
  const runRows = db.select().from(evalRunRows).where(eq(evalRunRows.runId, run.id)).orderBy(asc(evalRunRows.idx)).all();
  const results = db.select().from(evalResults).where(eq(evalResults.runId, run.id)).all();
  const n = runRows.length;
  const opts = { seed: run.options.seed, resamples: run.options.resamples };
  const configs: ConfigSummary[] = run.configs.map((c, ci) => {
    const mine = results.filter((r) => r.configIdx === ci);
    const metrics = Object.fromEntries(
      METRICS.map((m) => [m.key, iv(bootstrapMean(column(results, ci, n, m.key).filter((v): v is number => v !== null), opts))]),
    ) as Record<MetricKey, IntervalView | null>;
    const judged = mine.filter((r) => r.judgeStatus !== null);
    const scores = mine.filter((r) => r.judgeStatus === "ok" && r.judgeScore !== null).map((r) => r.judgeScore!);
    return {
      label: c.label,
      metrics,
      judge: run.options.judge
        ? { score: iv(bootstrapMean(scores, opts)), unavailable: judged.filter((r) => r.judgeStatus === "unavailable").length, unparsed: judged.filter((r) => r.judgeStatus === "unparsed").length }
        : null,
      errors: mine.filter((r) => r.error !== null).length,
    };
  });

  const best = bestPerColumn(configs);

  const gateMetric = gateMetricOf(results);
  const comparisons: PairView[] = [];
  if (gateMetric) {
    for (let a = 0; a < configs.length; a++) {
      for (let b = a + 1; b < configs.length; b++) {
        const cmp = comparePaired(column(results, a, n, gateMetric), column(results, b, n, gateMetric), opts);
        const pair = { a, b, metric: gateMetric, n: cmp.n, wins: cmp.wins, ties: cmp.ties, losses: cmp.losses, pValue: round(cmp.pValue), difference: iv(cmp.difference) };
        comparisons.push({ ...pair, sentence: describePair(pair, run.configs) });
      }
    }
  }

  const coverage = coverageOf(runRows.map((r) => ({ ...r, status: "accepted" as const })));
  const cannotCompute = [...coverage.cannotCompute];
  if (run.configs.some((c) => !c.knowledge) && coverage.withSource > 0) {
    cannotCompute.push({ metric: "citation hit (knowledge off)", reason: "Configurations without the knowledge base have no sources to cite; their citation columns are empty." });
  }
  const training = trainingInfo(db, run.configs.map((c) => c.modelId));
  const enoughRows = n >= MIN_ROWS_FOR_CONCLUSION;
  const verdict = verdictOf({ configs: run.configs, summaries: configs, comparisons, gateMetric, rows: n, enoughRows, options: run.options, training });
  return {
    seed: opts.seed,
    resamples: opts.resamples,
    rows: n,
    gateMetric,
    configs,
    best,
    cannotCompute,
    comparisons,
    verdict: verdict.sentences,
    recommendation: verdict.recommendation,
    measuredWinner: verdict.winner,
    planner: plannerChecks({ configs: run.configs, options: run.options, training, recommendation: verdict.recommendation, winner: verdict.winner }),
    enoughRows,
  };
}
