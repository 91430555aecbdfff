import "server-only";
import { and, asc, desc, eq, inArray, lt } from "drizzle-orm";
import { recordAudit, type Session } from "../auth";
import type { AtelierDb } from "../db/client";
import { assistants, models } from "../db/schema";
import { env } from "../env";
import { AtelierError, notFound } from "../errors";
import { newId } from "../ids";
import { assistantTurnConfig } from "../chat";
import { getModelRow, servingSpecFor } from "../models";
import { completionsUrl, EndpointError } from "./endpoint";
import { describeJudge } from "./judge";
import { csvCell } from "./io";
import { EVAL_LOG_LINES, EVAL_TERMINAL, evalRunnerFor } from "./runner";
import { evalActivationChecks, evalResults, evalRunRows, evalRuns, type EvalConfig, type EvalRunOptions, type EvalRunRow, type JudgeSpec } from "./schema";
import { isFailure } from "./score";
import { coverageOf, getSetRow, setRows } from "./sets";
import type { CellView, EvalRunView, MetricKey, ResultRowView, RunCreateInput, RunSummary } from "./types";
import { runCreateInput } from "./types";

/*
 * Eval runs: create (configurations, a snapshot of the set's accepted rows, queued on the shared
 * heavy-job queue), list, read, cancel, delete, and the per-row results (drill-down and export).
 */

export function getRunRow(db: AtelierDb, id: string): EvalRunRow {
  const row = db.select().from(evalRuns).where(eq(evalRuns.id, id)).get();
  if (!row) throw notFound("eval", "Eval run", id);
  return row;
}

function queuedAhead(db: AtelierDb, row: EvalRunRow): number {
  if (row.status !== "queued") return 0;
  return db.select({ id: evalRuns.id }).from(evalRuns).where(and(eq(evalRuns.status, "queued"), lt(evalRuns.queuedAt, row.queuedAt))).all().length;
}

export function toRunView(db: AtelierDb, row: EvalRunRow): EvalRunView {
  const j = row.options.judge;
  const judgeName = j?.kind === "model" ? (db.select({ name: models.name }).from(models).where(eq(models.id, j.modelId)).get()?.name ?? undefined) : undefined;
  return {
    id: row.id,
    name: row.name,
    assistantId: row.assistantId,
    setId: row.setId,
    setName: row.setName,
    status: row.status,
    configs: row.configs,
    options: {
      seed: row.options.seed,
      resamples: row.options.resamples,
      temperature: row.options.sampling.temperature,
      maxTokens: row.options.sampling.maxTokens,
      concurrency: row.options.concurrency,
      judge: j ? describeJudge(j, judgeName) : null,
    },
    progress: { done: row.doneItems, total: row.totalItems, fraction: row.totalItems > 0 ? row.doneItems / row.totalItems : row.status === "succeeded" ? 1 : 0 },
    error: row.error,
    log: row.log.slice(-EVAL_LOG_LINES),
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    summary: (row.summary as RunSummary | null) ?? null,
    queuedBehind: queuedAhead(db, row),
  };
}

/**
 * The newest ready version of this assistant other than the active one (a candidate to compare):
 * one the studio trained for it (the model's lineage names the assistant) or one it was ever
 * switched to or from (the activation checks).
 */
export function candidateVersion(db: AtelierDb, assistantId: string, activeModelId: string | null): string | null {
  const ids = new Set<string>();
  for (const m of db.select({ id: models.id, meta: models.meta }).from(models).all()) if (m.meta?.assistantId === assistantId) ids.add(m.id);
  for (const c of db.select({ id: evalActivationChecks.modelId, prev: evalActivationChecks.previousModelId }).from(evalActivationChecks).where(eq(evalActivationChecks.assistantId, assistantId)).all()) {
    ids.add(c.id);
    if (c.prev) ids.add(c.prev);
  }
  ids.delete(activeModelId ?? "");
  if (ids.size === 0) return null;
  return (
    db
      .select({ id: models.id })
      .from(models)
      .where(and(inArray(models.id, [...ids]), eq(models.status, "ready")))
      .orderBy(desc(models.createdAt))
      .get()?.id ?? null
  );
}

function checkJudge(db: AtelierDb, judge: JudgeSpec | null): JudgeSpec | null {
  if (!judge) return null;
  if (judge.kind === "model") {
    servingSpecFor(db, getModelRow(db, judge.modelId));
    return judge;
  }
  try {
    completionsUrl(judge.url);
  } catch (err) {
    throw new AtelierError("bad_request:eval", (err as EndpointError).message);
  }
  return { kind: "endpoint", url: judge.url.trim(), model: judge.model, apiKey: judge.apiKey?.trim() || null };
}

export type CreatedRun = { runId: string; queuedBehind: number; warnings: string[] };

/**
 * Plans the configurations (explicit ones, or versions × knowledge; default: the active version
 * and the newest other version, each with and without the assistant's knowledge), snapshots the
 * set's accepted rows and queues the run.
 */
export function createRun(db: AtelierDb, raw: RunCreateInput, session: Session | null, opts: { kick?: boolean } = {}): CreatedRun {
  const input = runCreateInput.parse(raw);
  const a = db.select().from(assistants).where(eq(assistants.id, input.assistantId)).get();
  if (!a) throw notFound("assistant", "Assistant", input.assistantId);
  const set = getSetRow(db, input.setId);
  if (set.assistantId && set.assistantId !== a.id) throw new AtelierError("bad_request:eval", `The eval set "${set.name}" belongs to another assistant.`);
  const all = setRows(db, set.id);
  const rows = all.filter((r) => r.status === "accepted");
  const coverage = coverageOf(all);
  if (rows.length === 0) {
    throw new AtelierError(
      "bad_request:eval",
      `The eval set "${set.name}" has no accepted rows, so none of the metrics (required facts, token-F1, ROUGE-L, citation hit, refusal correctness) can be computed.${coverage.candidates ? ` Review its ${coverage.candidates} candidate rows first.` : " Add rows first."}`,
    );
  }
  const warnings = coverage.cannotCompute.map((c) => c.reason);
  const collectionIds = assistantTurnConfig(db, a).collectionIds;
  const hasKnowledge = collectionIds.length > 0;

  let wanted: { modelId: string; knowledge: boolean; systemPrompt: string | null; personaLabel: string | null; label: string | null }[];
  if (input.configs) {
    wanted = input.configs.map((c) => ({ modelId: c.modelId, knowledge: c.knowledge, systemPrompt: c.systemPrompt ?? null, personaLabel: c.systemPrompt ? (c.personaLabel ?? "custom persona") : null, label: c.label ?? null }));
  } else {
    let versions = input.versions;
    if (!versions) {
      if (!a.modelId) throw new AtelierError("precondition:eval", `${a.name} has no active model version; choose the versions to evaluate.`);
      const candidate = candidateVersion(db, a.id, a.modelId);
      versions = candidate ? [a.modelId, candidate] : [a.modelId];
    }
    const knowledge = input.knowledge ? [...new Set(input.knowledge)].map((k) => k === "on") : hasKnowledge ? [true, false] : [false];
    const personas = [{ systemPrompt: null as string | null, personaLabel: null as string | null }, ...(input.personas ?? []).map((p) => ({ systemPrompt: p.systemPrompt, personaLabel: p.label }))];
    wanted = versions.flatMap((modelId) => knowledge.flatMap((k) => personas.map((p) => ({ modelId, knowledge: k, ...p, label: null }))));
  }
  if (!hasKnowledge && wanted.some((w) => w.knowledge)) {
    warnings.push(`${a.name} has no knowledge collections, so "knowledge on" would answer exactly like "off"; those configurations were left out.`);
    wanted = wanted.filter((w) => !w.knowledge);
    if (wanted.length === 0) throw new AtelierError("bad_request:eval", `${a.name} has no knowledge collections; link one to the assistant or evaluate with knowledge off.`);
  }
  const configs: EvalConfig[] = [];
  for (const w of wanted) {
    const m = getModelRow(db, w.modelId);
    try {
      servingSpecFor(db, m);
    } catch (err) {
      throw new AtelierError("precondition:eval", `${m.name} cannot be served: ${(err as Error).message}`);
    }
    const label = w.label || `${m.name}${m.id === a.modelId ? " (active)" : ""} · ${w.knowledge ? "with knowledge" : "no knowledge"}${w.personaLabel ? ` · ${w.personaLabel}` : ""}`;
    if (configs.some((c) => c.modelId === m.id && c.knowledge === w.knowledge && c.systemPrompt === (w.systemPrompt ?? a.systemPrompt))) continue;
    configs.push({ label, modelId: m.id, modelName: m.name, knowledge: w.knowledge, systemPrompt: w.systemPrompt ?? a.systemPrompt, personaLabel: w.personaLabel });
  }
  const judge = checkJudge(db, input.judge);
  const options: EvalRunOptions = {
    activeModelId: a.modelId,
    assistantHasKnowledge: hasKnowledge,
    collectionIds,
    outOfScopeReply: a.outOfScopeReply,
    sampling: {
      ...a.sampling,
      temperature: input.temperature,
      maxTokens: Math.min(input.maxTokens ?? a.sampling.maxTokens, env().ATELIER_MAX_TOKENS),
      seed: input.seed,
    },
    seed: input.seed,
    resamples: input.resamples,
    // one sequence stays free, so a visitor's chat on the same model never waits behind the eval
    concurrency: input.concurrency ?? Math.max(1, env().ATELIER_SEQUENCES - 1),
    judge,
  };
  const id = newId();
  const name = input.name?.trim() || `${set.name} · ${new Date().toISOString().slice(0, 16).replace("T", " ")}`;
  db.transaction((tx) => {
    tx.insert(evalRuns)
      .values({
        id,
        name,
        assistantId: a.id,
        setId: set.id,
        setName: set.name,
        status: "queued",
        configs,
        options,
        totalItems: rows.length * configs.length,
        log: [`queued: ${rows.length} questions × ${configs.length} configurations`, ...warnings],
        createdBy: session?.user.id ?? null,
      })
      .run();
    const snap = rows.map((r, idx) => ({ runId: id, idx, rowId: r.id, question: r.question, reference: r.reference, facts: r.facts, expectedSource: r.expectedSource ?? null, shouldRefuse: r.shouldRefuse }));
    for (let i = 0; i < snap.length; i += 100) tx.insert(evalRunRows).values(snap.slice(i, i + 100)).run();
  });
  recordAudit(db, session, "eval.run.start", { type: "eval_run", id }, { assistantId: a.id, setId: set.id, configs: configs.length, rows: rows.length });
  const queuedBehind = queuedAhead(db, getRunRow(db, id));
  if (opts.kick ?? true) evalRunnerFor(db).kick();
  return { runId: id, queuedBehind, warnings };
}

export function listRuns(db: AtelierDb, assistantId?: string | null): EvalRunView[] {
  return db
    .select()
    .from(evalRuns)
    .where(assistantId ? eq(evalRuns.assistantId, assistantId) : undefined)
    .orderBy(desc(evalRuns.createdAt))
    .limit(200)
    .all()
    .map((r) => toRunView(db, r));
}

export function getRun(db: AtelierDb, id: string): EvalRunView {
  return toRunView(db, getRunRow(db, id));
}

export function cancelRun(db: AtelierDb, id: string, session: Session | null): EvalRunView {
  const row = getRunRow(db, id);
  if (row.status === "queued") {
    db.update(evalRuns).set({ status: "cancelled", finishedAt: Date.now(), log: [...row.log, "cancelled while queued"].slice(-EVAL_LOG_LINES) }).where(eq(evalRuns.id, id)).run();
  } else if (row.status === "running") {
    if (!evalRunnerFor(db).cancelActive(id)) throw new AtelierError("conflict:eval", "This run is executing in another process (the command line?); stop it there.");
  } else {
    throw new AtelierError("conflict:eval", `The run has already ${row.status === "succeeded" ? "finished" : row.status}.`);
  }
  recordAudit(db, session, "eval.run.cancel", { type: "eval_run", id });
  return getRun(db, id);
}

export function deleteRun(db: AtelierDb, id: string, session: Session | null): { id: string } {
  const row = getRunRow(db, id);
  if (!EVAL_TERMINAL.includes(row.status)) throw new AtelierError("conflict:eval", "Cancel the run before deleting it.");
  db.delete(evalRuns).where(eq(evalRuns.id, id)).run();
  recordAudit(db, session, "eval.run.delete", { type: "eval_run", id }, { name: row.name });
  return { id };
}

const METRIC_KEYS: MetricKey[] = ["factsHit", "tokenF1", "rougeL", "citationHit", "sourceRetrieved", "refusalCorrect", "answerTokens", "ttftMs", "tokensPerSecond"];

/** Rows of a run with each configuration's answer, citations and scores side by side. */
export function runResults(db: AtelierDb, input: { runId: string; failuresOnly: boolean; offset: number; limit: number }): { total: number; rows: ResultRowView[] } {
  const run = getRunRow(db, input.runId);
  const runRows = db.select().from(evalRunRows).where(eq(evalRunRows.runId, run.id)).orderBy(asc(evalRunRows.idx)).all();
  const results = db.select().from(evalResults).where(eq(evalResults.runId, run.id)).all();
  const byRow = new Map<number, CellView[]>();
  for (const r of results) {
    const cell: CellView = {
      configIdx: r.configIdx,
      answer: r.answer,
      citations: r.citations,
      cited: r.cited,
      metrics: Object.fromEntries(METRIC_KEYS.map((k) => [k, r[k]])) as Record<MetricKey, number | null>,
      judge: r.judgeStatus ? { score: r.judgeScore, reason: r.judgeReason, status: r.judgeStatus } : null,
      error: r.error,
      failed: isFailure(r),
    };
    byRow.set(r.rowIdx, [...(byRow.get(r.rowIdx) ?? []), cell]);
  }
  let rows: ResultRowView[] = runRows.map((r) => ({
    idx: r.idx,
    question: r.question,
    reference: r.reference,
    facts: r.facts,
    expectedSource: r.expectedSource ?? null,
    shouldRefuse: r.shouldRefuse,
    cells: (byRow.get(r.idx) ?? []).sort((x, y) => x.configIdx - y.configIdx),
  }));
  if (input.failuresOnly) rows = rows.filter((r) => r.cells.some((c) => c.failed));
  return { total: rows.length, rows: rows.slice(input.offset, input.offset + input.limit) };
}

/** Every answer of a run as CSV or JSONL (one line per row × configuration). */
export function exportResults(db: AtelierDb, input: { runId: string; format: "jsonl" | "csv" }): { fileName: string; mime: string; content: string } {
  const run = getRunRow(db, input.runId);
  const { rows } = runResults(db, { runId: run.id, failuresOnly: false, offset: 0, limit: Number.MAX_SAFE_INTEGER });
  const records = rows.flatMap((r) =>
    r.cells.map((c) => ({
      row: r.idx + 1,
      question: r.question,
      reference: r.reference,
      configuration: run.configs[c.configIdx]?.label ?? String(c.configIdx),
      answer: c.answer,
      cited_sources: c.citations.filter((x) => c.cited.includes(x.n)).map((x) => x.documentTitle),
      facts_hit: c.metrics.factsHit,
      token_f1: c.metrics.tokenF1,
      rouge_l: c.metrics.rougeL,
      citation_hit: c.metrics.citationHit,
      source_retrieved: c.metrics.sourceRetrieved,
      refusal_correct: c.metrics.refusalCorrect,
      answer_tokens: c.metrics.answerTokens,
      ttft_ms: c.metrics.ttftMs,
      tokens_per_second: c.metrics.tokensPerSecond,
      judge_score: c.judge?.score ?? null,
      judge_reason: c.judge?.reason ?? null,
      failed: c.failed,
      error: c.error,
    })),
  );
  const base = run.name.replace(/[^\w.-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 80) || "eval-run";
  if (input.format === "jsonl") return { fileName: `${base}.jsonl`, mime: "application/x-ndjson", content: records.map((r) => JSON.stringify(r)).join("\n") + (records.length ? "\n" : "") };
  const keys = Object.keys(records[0] ?? { row: 0 }) as (keyof (typeof records)[number])[];
  const lines = [keys.join(",")];
  for (const r of records) lines.push(keys.map((k) => { const v = r[k]; return csvCell(v === null || v === undefined ? "" : Array.isArray(v) ? v.join("; ") : String(v)); }).join(","));
  return { fileName: `${base}.csv`, mime: "text/csv", content: lines.join("\n") + "\n" };
}

export const activeEvalRuns = (db: AtelierDb) => db.select().from(evalRuns).where(inArray(evalRuns.status, ["queued", "running"])).all();
