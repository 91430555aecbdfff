import "server-only";
import { and, desc, eq } from "drizzle-orm";
import type { Session } from "../auth";
import type { AtelierDb } from "../db/client";
import { assistants } from "../db/schema";
import { AtelierError, notFound } from "../errors";
import { metricInfo } from "./metric-info";
import { evalActivationChecks, evalResults, evalRunRows, evalRuns, type EvalActivationCheckRow } from "./schema";
import { defaultSetOf } from "./sets";
import { comparePaired, formatP } from "./stats";
import { column, gateMetricOf } from "./summary";
import type { RunSummary } from "./types";

/*
 * The activation gate. Before a version becomes an assistant's active one, the newest finished
 * run on the assistant's default eval set that compared it with the active version (same
 * knowledge setting, same persona) is consulted: when the candidate is worse beyond the 95%
 * interval of the paired difference on the gate metric, activation needs an explicit override.
 * Whatever was decided is recorded with the evidence, and shown in the version's lineage.
 */

export type GateVerdict = "better" | "no-difference" | "worse" | "not-evaluated";

export type GateEvidence = {
  assistantId: string;
  modelId: string;
  previousModelId: string | null;
  verdict: GateVerdict;
  evalRunId: string | null;
  metric: string | null;
  difference: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  message: string;
};

const pct = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x * 100).toFixed(0)}`;

/** What the default set's newest comparable run says about switching from `previousModelId` to `modelId`. */
export function activationEvidence(db: AtelierDb, input: { assistantId: string; modelId: string; previousModelId: string | null }): GateEvidence {
  const base = { ...input, evalRunId: null, metric: null, difference: null, ciLow: null, ciHigh: null };
  const set = defaultSetOf(db, input.assistantId);
  if (!set) return { ...base, verdict: "not-evaluated", message: "The assistant has no default eval set, so this activation was not checked against one." };
  if (!input.previousModelId) return { ...base, verdict: "not-evaluated", message: "There was no active version to compare with." };
  const runs = db
    .select()
    .from(evalRuns)
    .where(and(eq(evalRuns.assistantId, input.assistantId), eq(evalRuns.setId, set.id), eq(evalRuns.status, "succeeded")))
    .orderBy(desc(evalRuns.finishedAt))
    .all();
  for (const run of runs) {
    // prefer the comparison with the knowledge setting the assistant answers with
    const pairs: [number, number][] = [];
    run.configs.forEach((c, i) => {
      if (c.modelId !== input.modelId || c.personaLabel) return;
      run.configs.forEach((d, j) => {
        if (d.modelId === input.previousModelId && d.knowledge === c.knowledge && d.systemPrompt === c.systemPrompt && !d.personaLabel) pairs.push([i, j]);
      });
    });
    if (pairs.length === 0) continue;
    pairs.sort(([a], [b]) => Number(run.configs[b]!.knowledge === run.options.assistantHasKnowledge) - Number(run.configs[a]!.knowledge === run.options.assistantHasKnowledge));
    const [ci, pj] = pairs[0]!;
    const results = db.select().from(evalResults).where(eq(evalResults.runId, run.id)).all();
    const rows = db.select({ idx: evalRunRows.idx }).from(evalRunRows).where(eq(evalRunRows.runId, run.id)).all().length;
    const metric = (run.summary as RunSummary | null)?.gateMetric ?? gateMetricOf(results);
    if (!metric) continue;
    const cmp = comparePaired(column(results, ci, rows, metric), column(results, pj, rows, metric), { seed: run.options.seed, resamples: run.options.resamples });
    const d = cmp.difference;
    if (!d) continue;
    const verdict: GateVerdict = d.high < 0 ? "worse" : d.low > 0 ? "better" : "no-difference";
    const noun = metricInfo(metric).noun;
    const what = `${run.configs[ci]!.modelName} against ${run.configs[pj]!.modelName} ${run.configs[ci]!.knowledge ? "with" : "without"} knowledge on "${set.name}"`;
    const numbers = `${pct(d.mean)} points of ${noun}, 95% CI ${pct(d.low)} to ${pct(d.high)}; better on ${cmp.wins} of ${cmp.n} questions, worse on ${cmp.losses}, ${formatP(cmp.pValue)}; run "${run.name}"`;
    const message =
      verdict === "worse"
        ? `${what}: worse beyond the interval (${numbers}).`
        : verdict === "better"
          ? `${what}: better (${numbers}).`
          : `${what}: no measurable difference (${numbers}).`;
    return { ...base, verdict, evalRunId: run.id, metric, difference: d.mean, ciLow: d.low, ciHigh: d.high, message };
  }
  return { ...base, verdict: "not-evaluated", message: `No finished run on the default eval set "${set.name}" compared this version with the active one.` };
}

/** The gate's reading for activating `modelId` on the assistant now (nothing is changed). */
export function evidenceForActivation(db: AtelierDb, input: { assistantId: string; modelId: string }): GateEvidence {
  const a = db.select({ modelId: assistants.modelId }).from(assistants).where(eq(assistants.id, input.assistantId)).get();
  if (!a) throw notFound("assistant", "Assistant", input.assistantId);
  return activationEvidence(db, { ...input, previousModelId: a.modelId });
}

/** Throws (asking for the override) when the evidence says the version is worse; returns the evidence otherwise. */
export function checkActivation(db: AtelierDb, input: { assistantId: string; modelId: string; previousModelId: string | null; override: boolean }): GateEvidence & { overridden: boolean } {
  const evidence = activationEvidence(db, input);
  if (evidence.verdict === "worse" && !input.override) {
    throw new AtelierError("precondition:eval", `Activation refused: ${evidence.message} Activate with the override to switch anyway; the override is recorded in the version's lineage.`);
  }
  return { ...evidence, overridden: evidence.verdict === "worse" && input.override };
}

export function recordActivationCheck(db: AtelierDb, evidence: GateEvidence & { overridden: boolean }, session: Session | null): void {
  db.insert(evalActivationChecks)
    .values({
      assistantId: evidence.assistantId,
      modelId: evidence.modelId,
      previousModelId: evidence.previousModelId,
      evalRunId: evidence.evalRunId,
      verdict: evidence.verdict,
      metric: evidence.metric,
      difference: evidence.difference,
      ciLow: evidence.ciLow,
      ciHigh: evidence.ciHigh,
      overridden: evidence.overridden,
      message: evidence.message,
      userId: session?.user.id ?? null,
    })
    .run();
}

/** Each version's latest activation check for this assistant (the lineage's "Evaluation" line). */
export function activationLineage(db: AtelierDb, assistantId: string): EvalActivationCheckRow[] {
  const rows = db.select().from(evalActivationChecks).where(eq(evalActivationChecks.assistantId, assistantId)).orderBy(desc(evalActivationChecks.createdAt), desc(evalActivationChecks.id)).all();
  const seen = new Set<string>();
  return rows.filter((r) => (seen.has(r.modelId) ? false : (seen.add(r.modelId), true)));
}
