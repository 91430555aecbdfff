import { describe, expect, it } from "vitest";
import type { EvalConfig, EvalRunOptions } from "@/server/evals/schema";
import { bootstrapMean, comparePaired } from "@/server/evals/stats";
import { matrixTable } from "@/server/evals/matrix-table";
import { bestPerColumn } from "@/server/evals/summary";
import type { ConfigSummary, EvalRunView, MetricKey } from "@/server/evals/types";
import { plannerChecks, verdictOf, type TrainingInfo } from "@/server/evals/verdict";

/*
 * The verdict on hand-made per-row scores: which configuration wins, what knowledge and
 * fine-tuning add, and the recommendation (the cheapest configuration not measurably worse).
 */

const OPTIONS: EvalRunOptions = {
  activeModelId: "base",
  assistantHasKnowledge: true,
  collectionIds: ["c"],
  outOfScopeReply: null,
  sampling: { temperature: 0, topP: 1, topK: 0, repeatPenalty: 1, maxTokens: 64, seed: 1234 },
  seed: 1234,
  resamples: 2000,
  concurrency: 4,
  judge: null,
};
const cfg = (modelId: string, knowledge: boolean): EvalConfig => ({
  label: `${modelId} · ${knowledge ? "with knowledge" : "no knowledge"}`,
  modelId,
  modelName: modelId === "base" ? "Base" : "Tuned",
  knowledge,
  systemPrompt: "p",
  personaLabel: null,
});
const CONFIGS = [cfg("base", true), cfg("base", false), cfg("tuned", true), cfg("tuned", false)];

/** 0/1 facts per row: `ones` of `n` rows hit, spread evenly. */
const rows = (n: number, hits: (i: number) => boolean) => Array.from({ length: n }, (_, i) => (hits(i) ? 1 : 0));

function run(columns: number[][], training = new Map<string, TrainingInfo>()) {
  const g: MetricKey = "factsHit";
  const summaries: ConfigSummary[] = columns.map((c, i) => ({
    label: CONFIGS[i]!.label,
    metrics: { factsHit: bootstrapMean(c), tokenF1: null, rougeL: null, citationHit: null, sourceRetrieved: null, refusalCorrect: null, answerTokens: null, ttftMs: null, tokensPerSecond: null },
    judge: null,
    errors: 0,
  }));
  const comparisons = [];
  for (let a = 0; a < columns.length; a++) for (let b = a + 1; b < columns.length; b++) {
    const c = comparePaired(columns[a]!, columns[b]!);
    comparisons.push({ a, b, metric: g, ...c });
  }
  const n = columns[0]!.length;
  return verdictOf({ configs: CONFIGS, summaries, comparisons, gateMetric: g, rows: n, enoughRows: n >= 10, options: OPTIONS, training });
}

describe("verdict", () => {
  it("keeps the knowledge base when fine-tuning adds only a little (the seed question)", () => {
    // 50 rows: base+knowledge 41/50 = 82%; tuned+knowledge 43/50 = 86% (2 more rows, within chance); without knowledge far lower
    const baseK = rows(50, (i) => i < 41);
    const baseN = rows(50, (i) => i < 15);
    const tunedK = rows(50, (i) => i < 43);
    const tunedN = rows(50, (i) => i < 20);
    const v = run([baseK, baseN, tunedK, tunedN], new Map([["tuned", { runId: "r", seconds: 2400, recommendation: "lora", reasons: [] }]]));
    expect(v.winner).toEqual({ configIdx: 2, label: "tuned · with knowledge" });
    expect(v.recommendation).toEqual({ configIdx: 0, label: "base · with knowledge" });
    const text = v.sentences.join("\n");
    expect(text).toContain("tuned · with knowledge scores best: 86% of required facts (95% CI");
    expect(text).toContain("With the knowledge base, Base gets 82% of required facts against 30% without it (+52 points; better on 26 of 50 questions, worse on 0, p < 0.001).");
    expect(text).toContain("Tuned adds 4 points over Base with the knowledge base for 40 minutes of training (better on 2 of 50 questions, worse on 0, p = 0.5 — within chance).");
    expect(text).toMatch(/Recommendation: keep Base with the knowledge base as it is\. tuned · with knowledge scores \+4 points higher, but that is within chance/);
  });

  it("recommends switching when the fine-tuned version is measurably better", () => {
    const baseK = rows(40, (i) => i < 20);
    const tunedK = rows(40, (i) => i < 36);
    const v = run([baseK, rows(40, () => false), tunedK, rows(40, () => false)]);
    expect(v.recommendation?.configIdx).toBe(2);
    expect(v.sentences.at(-1)).toBe("Recommendation: switch to Tuned, keep the knowledge base — every simpler configuration scores measurably lower.");
  });

  it("says in words when there are too few rows, and recommends nothing", () => {
    const v = run([[1, 1, 0], [0, 0, 0], [1, 1, 1], [0, 1, 0]]);
    expect(v.recommendation).toBeNull();
    expect(v.sentences.join(" ")).toContain("Only 3 questions: too few for a conclusion");
    expect(v.sentences.at(-1)).toBe("No recommendation yet: too few questions to tell the configurations apart.");
  });
});

describe("the planner's advice beside the measured winner", () => {
  const trained = (recommendation: string | null) => new Map<string, TrainingInfo>([["tuned", { runId: "run-1", seconds: 600, recommendation, reasons: ["Little data."] }]]);
  const check = (recommendation: string | null, rec: number | null, winner: number | null) =>
    plannerChecks({ configs: CONFIGS, options: OPTIONS, training: trained(recommendation), recommendation: rec === null ? null : { configIdx: rec }, winner: winner === null ? null : { configIdx: winner } });

  it("did not hold: it advised training, the tuned version scores best but only within chance, so the base is recommended", () => {
    expect(check("lora", 0, 2)).toEqual([
      {
        modelId: "tuned", modelName: "Tuned", runId: "run-1", recommendation: "lora", reasons: ["Little data."], trainingSeconds: 600,
        measuredWinner: "tuned · with knowledge", recommended: "base · with knowledge", held: false,
        sentence: "Tuned: the planner advised training a LoRA adapter; measured, tuned · with knowledge scores best and base · with knowledge is recommended (not measurably worse, and cheaper), so the trained version does not earn its place — the advice did not hold.",
      },
    ]);
  });

  it("held: it advised the knowledge base and the base version is recommended; or it advised training and the tuned version wins", () => {
    expect(check("knowledge", 0, 0)[0]).toMatchObject({ held: true, measuredWinner: "base · with knowledge", sentence: "Tuned: the planner advised putting the data in the knowledge base instead of training; measured, base · with knowledge scores best, so the trained version does not earn its place — the advice held." });
    expect(check("lora", 2, 2)[0]).toMatchObject({ held: true, sentence: "Tuned: the planner advised training a LoRA adapter; measured, tuned · with knowledge scores best, so the trained version is the one to use — the advice held." });
  });

  it("with too few rows (no recommendation) names the winner and leaves the advice unchecked; the active version has no check", () => {
    expect(check("lora", null, 2)[0]).toMatchObject({ held: null, recommended: null, sentence: "Tuned: the planner advised training a LoRA adapter; measured, tuned · with knowledge scores best, but there are too few questions to check that advice yet." });
    expect(check(null, 0, 0)[0]!.sentence).toBe("Tuned: the planner's advice was not recorded for its training run (it predates this check); measured, base · with knowledge scores best.");
    expect(check("lora", 0, 0).map((c) => c.modelId)).toEqual(["tuned"]);
  });
});

describe("best per column", () => {
  const metrics = (m: Partial<Record<MetricKey, number>>) => ({
    metrics: Object.fromEntries(
      (["factsHit", "tokenF1", "rougeL", "citationHit", "sourceRetrieved", "refusalCorrect", "answerTokens", "ttftMs", "tokensPerSecond"] as const).map((k) => [
        k,
        m[k] === undefined ? null : { mean: m[k]!, low: m[k]!, high: m[k]!, n: 10 },
      ]),
    ) as ConfigSummary["metrics"],
  });

  it("marks the highest (or, for time to first token, the lowest) mean; ties at the top share it; a column where all tie has no best", () => {
    const best = bestPerColumn([
      metrics({ factsHit: 0.8, tokenF1: 0, rougeL: 0.4, ttftMs: 120, answerTokens: 30, refusalCorrect: 1 }),
      metrics({ factsHit: 0.5, tokenF1: 0, rougeL: 0.4, ttftMs: 90, answerTokens: 50, refusalCorrect: 1 }),
      metrics({ factsHit: 0.8, tokenF1: 0, rougeL: 0.2, ttftMs: 300, answerTokens: 10 }),
    ]);
    expect(best).toEqual({ factsHit: [0, 2], rougeL: [0, 1], ttftMs: [1] });
  });
});

describe("the command line's matrix table", () => {
  it("says how many answers of a configuration failed", () => {
    const none = { factsHit: null, rougeL: null, citationHit: null, sourceRetrieved: null, refusalCorrect: null, answerTokens: null, ttftMs: null, tokensPerSecond: null };
    const config = (label: string, mean: number, errors: number) => ({ label, metrics: { ...none, tokenF1: { mean, low: mean - 0.1, high: mean + 0.1, n: 4 - errors } }, judge: null, errors });
    const summary = { seed: 7, resamples: 200, rows: 4, configs: [config("a", 0.5, 0), config("b", 0.25, 1)], best: { tokenF1: [0] }, cannotCompute: [], verdict: ["v."], planner: [] };
    const text = matrixTable({ name: "r", status: "succeeded", error: null, summary } as unknown as EvalRunView);
    expect(text.split("\n")).toEqual([
      "Configuration  Token-F1",
      "-------------  --------------",
      "1. a           50% [40%–60%]*",
      "2. b           25% [15%–35%]",
      "",
      "4 questions; mean [95% bootstrap CI, seed 7, 200 resamples]; * best in column.",
      "2. b: 1 of 4 answers failed and count as empty answers (the engine's error is in the drill-down and --json).",
      "",
      "v.",
    ]);
  });
});
