import "server-only";
import { formatMetric, metricInfo } from "./metric-info";
import type { EvalConfig, EvalRunOptions } from "./schema";
import { formatP, MIN_ROWS_FOR_CONCLUSION } from "./stats";
import type { ConfigSummary, MetricKey, PairView, PlannerCheck } from "./types";

/*
 * The plain-words reading of a run, computed from its numbers: which configuration scores best on
 * the gate metric, what the knowledge base and fine-tuning each add (paired, with p-values), and a
 * recommendation — the cheapest configuration that is not measurably worse than the best (keeping
 * the active version is cheaper than switching; the assistant's current knowledge setting is
 * cheaper than changing it). With too few rows it says so instead of concluding.
 */

export type TrainingInfo = { runId: string; seconds: number | null; recommendation: string | null; reasons: string[] };

type Pair = Omit<PairView, "sentence">;

const pts = (d: number) => `${d >= 0 ? "+" : "−"}${Math.abs(d * 100).toFixed(0)} point${Math.abs(Math.round(d * 100)) === 1 ? "" : "s"}`;

export function duration(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} seconds`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} minutes`;
  return `${(seconds / 3600).toFixed(1)} hours`;
}

/** "A is better on 34 of 50 questions, worse on 10 (p = 0.01)" — from a's point of view. */
export function describePair(p: Pair, configs: EvalConfig[]): string {
  const a = configs[p.a]!.label;
  const b = configs[p.b]!.label;
  if (p.n === 0) return `${a} and ${b} share no scored questions.`;
  const diff = p.difference ? ` (${pts(p.difference.mean)} on ${metricInfo(p.metric).noun}, 95% CI ${pts(p.difference.low)} to ${pts(p.difference.high)})` : "";
  const lead = p.wins >= p.losses ? `${a} is better than ${b} on ${p.wins} of ${p.n} questions, worse on ${p.losses}` : `${a} is worse than ${b} on ${p.losses} of ${p.n} questions, better on ${p.wins}`;
  return `${lead}, tied on ${p.ties}${diff}; ${formatP(p.pValue)}.`;
}

/** Is a measurably different from b: the interval of the paired difference excludes 0 and the sign test agrees. */
export function significant(p: Pair | undefined): boolean {
  return !!p && !!p.difference && p.pValue < 0.05 && (p.difference.low > 0 || p.difference.high < 0);
}

function pairOf(comparisons: Pair[], a: number, b: number): { pair: Pair; flip: boolean } | null {
  const direct = comparisons.find((c) => c.a === a && c.b === b);
  if (direct) return { pair: direct, flip: false };
  const rev = comparisons.find((c) => c.a === b && c.b === a);
  return rev ? { pair: rev, flip: true } : null;
}

/** The pair seen from a's side (wins/losses and the difference flipped when stored the other way). */
export function oriented(comparisons: Pair[], a: number, b: number): Pair | undefined {
  const f = pairOf(comparisons, a, b);
  if (!f) return undefined;
  if (!f.flip) return f.pair;
  const d = f.pair.difference;
  return { ...f.pair, a, b, wins: f.pair.losses, losses: f.pair.wins, difference: d ? { mean: -d.mean, low: -d.high, high: -d.low, n: d.n } : null };
}

function cost(c: EvalConfig, options: EvalRunOptions): number {
  return (c.modelId !== options.activeModelId ? 2 : 0) + (c.knowledge !== options.assistantHasKnowledge ? 1 : 0) + (c.personaLabel ? 1 : 0);
}

function action(c: EvalConfig, options: EvalRunOptions): string {
  const parts: string[] = [];
  if (c.modelId !== options.activeModelId) parts.push(`switch to ${c.modelName}`);
  if (c.knowledge !== options.assistantHasKnowledge) parts.push(c.knowledge ? "answer with the knowledge base" : "answer without the knowledge base");
  else if (c.modelId !== options.activeModelId && c.knowledge) parts.push("keep the knowledge base");
  if (c.personaLabel) parts.push(`use the persona "${c.personaLabel}"`);
  if (parts.length === 0) return `keep ${c.modelName}${c.knowledge ? " with the knowledge base" : ""} as it is`;
  return parts.join(", ");
}

export function verdictOf(input: {
  configs: EvalConfig[];
  summaries: ConfigSummary[];
  comparisons: Pair[];
  gateMetric: MetricKey | null;
  rows: number;
  enoughRows: boolean;
  options: EvalRunOptions;
  training: Map<string, TrainingInfo>;
}): { sentences: string[]; recommendation: { configIdx: number; label: string } | null; winner: { configIdx: number; label: string } | null } {
  const { configs, summaries, comparisons, gateMetric: g, rows, options } = input;
  const out: string[] = [];
  if (rows === 0 || !g) return { sentences: ["The run has no scored rows, so there is nothing to conclude."], recommendation: null, winner: null };
  const noun = metricInfo(g).noun;
  const mean = (i: number) => summaries[i]!.metrics[g]?.mean ?? null;
  const scored = configs.map((_, i) => i).filter((i) => mean(i) !== null);
  if (scored.length === 0) return { sentences: [`No configuration has a ${noun} score.`], recommendation: null, winner: null };
  const winner = scored.reduce((w, i) => (mean(i)! > mean(w)! + 1e-12 || (Math.abs(mean(i)! - mean(w)!) <= 1e-12 && cost(configs[i]!, options) < cost(configs[w]!, options)) ? i : w));
  const wi = summaries[winner]!.metrics[g]!;
  out.push(
    configs.length > 1
      ? `${configs[winner]!.label} scores best: ${formatMetric(g, wi.mean)} of ${noun} (95% CI ${formatMetric(g, wi.low)}–${formatMetric(g, wi.high)}, ${wi.n} questions, bootstrap seed ${options.seed}).`
      : `${configs[winner]!.label} gets ${formatMetric(g, wi.mean)} of ${noun} (95% CI ${formatMetric(g, wi.low)}–${formatMetric(g, wi.high)}, ${wi.n} questions, bootstrap seed ${options.seed}).`,
  );
  if (!input.enoughRows) {
    out.push(`Only ${rows} question${rows === 1 ? "" : "s"}: too few for a conclusion (at least ${MIN_ROWS_FOR_CONCLUSION}, better 50). The intervals are wide and no difference here can be trusted yet; add questions and run again.`);
  }

  // what the knowledge base adds, per model version
  for (let i = 0; i < configs.length; i++) {
    const on = configs[i]!;
    if (!on.knowledge) continue;
    const j = configs.findIndex((c) => !c.knowledge && c.modelId === on.modelId && c.systemPrompt === on.systemPrompt);
    if (j < 0 || mean(i) === null || mean(j) === null) continue;
    const p = oriented(comparisons, i, j);
    const detail = p ? `; better on ${p.wins} of ${p.n} questions, worse on ${p.losses}, ${formatP(p.pValue)}${significant(p) ? "" : " — within chance"}` : "";
    out.push(`With the knowledge base, ${on.modelName} gets ${formatMetric(g, mean(i)!)} of ${noun} against ${formatMetric(g, mean(j)!)} without it (${pts(mean(i)! - mean(j)!)}${detail}).`);
  }

  // what fine-tuning adds over the active version, with the same knowledge setting and persona
  if (options.activeModelId) {
    for (let i = 0; i < configs.length; i++) {
      const c = configs[i]!;
      if (c.modelId === options.activeModelId) continue;
      const j = configs.findIndex((d) => d.modelId === options.activeModelId && d.knowledge === c.knowledge && d.systemPrompt === c.systemPrompt);
      if (j < 0 || mean(i) === null || mean(j) === null) continue;
      const p = oriented(comparisons, i, j);
      const d = mean(i)! - mean(j)!;
      const t = input.training.get(c.modelId)?.seconds;
      const cost = t ? ` for ${duration(t)} of training` : "";
      const detail = p ? ` (better on ${p.wins} of ${p.n} questions, worse on ${p.losses}, ${formatP(p.pValue)}${significant(p) ? "" : " — within chance"})` : "";
      out.push(`${c.modelName} ${d >= 0 ? "adds" : "loses"} ${pts(Math.abs(d)).slice(1)} over ${configs[j]!.modelName} ${c.knowledge ? "with" : "without"} the knowledge base${cost}${detail}.`);
    }
  }

  if (!input.enoughRows) {
    out.push("No recommendation yet: too few questions to tell the configurations apart.");
    return { sentences: out, recommendation: null, winner: { configIdx: winner, label: configs[winner]!.label } };
  }
  // the cheapest configuration that is not measurably worse than the best
  const contenders = scored.filter((i) => i === winner || !significant(oriented(comparisons, winner, i)));
  const rec = contenders.reduce((r, i) => {
    const ci = cost(configs[i]!, options);
    const cr = cost(configs[r]!, options);
    return ci < cr || (ci === cr && mean(i)! > mean(r)!) ? i : r;
  });
  const cheaper = scored.filter((i) => cost(configs[i]!, options) < cost(configs[rec]!, options));
  if (rec === winner) {
    out.push(`Recommendation: ${action(configs[rec]!, options)}${cheaper.length ? " — every simpler configuration scores measurably lower" : ""}.`);
  } else {
    const p = oriented(comparisons, winner, rec);
    out.push(
      `Recommendation: ${action(configs[rec]!, options)}. ${configs[winner]!.label} scores ${pts(mean(winner)! - mean(rec)!)} higher, but that is within chance on these questions${p ? ` (${formatP(p.pValue)})` : ""}, so it does not justify the change.`,
    );
  }
  return { sentences: out, recommendation: { configIdx: rec, label: configs[rec]!.label }, winner: { configIdx: winner, label: configs[winner]!.label } };
}

const ADVICE: Record<string, string> = {
  knowledge: "putting the data in the knowledge base instead of training",
  lora: "training a LoRA adapter",
  full: "a full fine-tune",
  scratch: "a model from scratch",
};

/**
 * The planner's advice for each trained version in the run, beside what the run measured: the
 * measured winner (best score) and the recommendation (the cheapest configuration not measurably
 * worse). The advice held when it said "train" and the recommendation uses the trained version,
 * or it said "knowledge base" and the recommendation does not.
 */
export function plannerChecks(input: {
  configs: EvalConfig[];
  options: EvalRunOptions;
  training: Map<string, TrainingInfo>;
  recommendation: { configIdx: number } | null;
  winner: { configIdx: number } | null;
}): PlannerCheck[] {
  const out: PlannerCheck[] = [];
  const seen = new Set<string>();
  const winner = input.winner ? input.configs[input.winner.configIdx]! : null;
  for (const c of input.configs) {
    if (seen.has(c.modelId) || c.modelId === input.options.activeModelId) continue;
    seen.add(c.modelId);
    const t = input.training.get(c.modelId);
    if (!t) continue;
    const rec = input.recommendation ? input.configs[input.recommendation.configIdx]! : null;
    const trainedWins = rec ? rec.modelId === c.modelId : null;
    let held: boolean | null = null;
    let sentence: string;
    const measured = winner ? `measured, ${winner.label} scores best` : "measured, nothing scored";
    if (!t.recommendation) {
      sentence = `${c.modelName}: the planner's advice was not recorded for its training run (it predates this check); ${measured}.`;
    } else if (trainedWins === null) {
      sentence = `${c.modelName}: the planner advised ${ADVICE[t.recommendation] ?? t.recommendation}; ${measured}, but there are too few questions to check that advice yet.`;
    } else {
      held = t.recommendation === "knowledge" ? !trainedWins : trainedWins;
      const verdict = trainedWins ? "the trained version is the one to use" : "the trained version does not earn its place";
      const recommended = rec && winner && rec !== winner ? ` and ${rec.label} is recommended (not measurably worse, and cheaper)` : "";
      sentence = `${c.modelName}: the planner advised ${ADVICE[t.recommendation] ?? t.recommendation}; ${measured}${recommended}, so ${verdict} — the advice ${held ? "held" : "did not hold"}.`;
    }
    out.push({
      modelId: c.modelId,
      modelName: c.modelName,
      runId: t.runId,
      recommendation: t.recommendation,
      reasons: t.reasons,
      trainingSeconds: t.seconds,
      measuredWinner: winner?.label ?? null,
      recommended: rec?.label ?? null,
      held,
      sentence,
    });
  }
  return out;
}
