import { sql } from "drizzle-orm";
import { index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { assistants } from "../db/schema";

// No "server-only" here: drizzle-kit loads this file outside Next to generate migrations.
// Evaluations: eval sets and their rows (with the fingerprints that keep them out of training),
// eval runs (a persisted queue beside the training queue), one result per row × configuration,
// and the evidence each activation was decided on.

const now = sql`(cast(unixepoch('subsec') * 1000 as integer))`;

/** Where a row came from. */
export const EVAL_ROW_ORIGINS = ["manual", "import", "knowledge", "generated", "conversation"] as const;
export type EvalRowOrigin = (typeof EVAL_ROW_ORIGINS)[number];
/** "candidate" rows wait for review (accept / edit / drop) and count nowhere until accepted. */
export const EVAL_ROW_STATUSES = ["accepted", "candidate"] as const;
export type EvalRowStatus = (typeof EVAL_ROW_STATUSES)[number];

export const EVAL_RUN_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export type EvalRunStatus = (typeof EVAL_RUN_STATUSES)[number];

/** The source a correct answer should cite: a knowledge document or a whole collection (title kept for display and matching). */
export type ExpectedSource = { kind: "document" | "collection"; id: string | null; title: string };

/** A required fact: a plain string (case- and spacing-insensitive) or a regular expression written /like this/i. */
export type RequiredFact = string;

export type RowProvenance = {
  documentId?: string;
  chunkId?: number;
  /** "heading" | "faq" | "definition": which structure of the document produced the row */
  rule?: string;
  conversationId?: string;
  messageId?: string;
  rating?: number;
  /** the rated answer (thumbs down: the answer to fix) */
  answer?: string;
  generator?: string;
  /** why the generator's version is missing ("generator unavailable: …") */
  note?: string;
};

export const evalSets = sqliteTable(
  "eval_sets",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    /** null: shared by every assistant */
    assistantId: text("assistant_id").references(() => assistants.id, { onDelete: "cascade" }),
    /** The assistant's default set: the activation gate and experiments score on it. */
    isDefault: integer("is_default", { mode: "boolean" }).notNull().default(false),
    createdBy: text("created_by"),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [index("eval_sets_assistant_idx").on(t.assistantId)],
);
export type EvalSetRow = typeof evalSets.$inferSelect;

export const evalRows = sqliteTable(
  "eval_rows",
  {
    id: text("id").primaryKey(),
    setId: text("set_id")
      .notNull()
      .references(() => evalSets.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    question: text("question").notNull(),
    reference: text("reference"),
    facts: text("facts", { mode: "json" }).$type<RequiredFact[]>().notNull().default(sql`'[]'`),
    expectedSource: text("expected_source", { mode: "json" }).$type<ExpectedSource | null>(),
    shouldRefuse: integer("should_refuse", { mode: "boolean" }).notNull().default(false),
    status: text("status", { enum: EVAL_ROW_STATUSES }).notNull().default("accepted"),
    origin: text("origin", { enum: EVAL_ROW_ORIGINS }).notNull().default("manual"),
    provenance: text("provenance", { mode: "json" }).$type<RowProvenance | null>(),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [index("eval_rows_set_idx").on(t.setId, t.status, t.position)],
);
export type EvalRowRow = typeof evalRows.$inferSelect;

/**
 * Normalised-text hashes of every eval question and reference answer (and of their longer
 * sentences): a training record that contains one is left out of training and counted as
 * leakage in the studio preview.
 */
export const evalFingerprints = sqliteTable(
  "eval_fingerprints",
  {
    hash: text("hash").notNull(),
    rowId: text("row_id")
      .notNull()
      .references(() => evalRows.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: ["question", "answer"] }).notNull(),
  },
  (t) => [index("eval_fingerprints_hash_idx").on(t.hash), index("eval_fingerprints_row_idx").on(t.rowId)],
);

/** One configuration of a run: which model version, with or without the assistant's knowledge, which persona. */
export type EvalConfig = {
  label: string;
  modelId: string;
  /** the model's name when the run was created (kept when the model is removed later) */
  modelName: string;
  knowledge: boolean;
  /** The persona it answers with (the assistant's saved one, copied when the run was created, or one to try). */
  systemPrompt: string;
  /** null: the assistant's saved persona */
  personaLabel: string | null;
};

export type JudgeSpec =
  | { kind: "model"; modelId: string }
  | { kind: "endpoint"; url: string; model: string; apiKey?: string | null };

export type EvalRunOptions = {
  /** The assistant's model when the run was created ("the active version") and whether it has knowledge. */
  activeModelId: string | null;
  assistantHasKnowledge: boolean;
  /** The assistant's collections (configurations with knowledge on search these). */
  collectionIds: string[];
  outOfScopeReply: string | null;
  sampling: { temperature: number; topP: number; topK: number; repeatPenalty: number; maxTokens: number; seed: number };
  /** Bootstrap resampling seed (shown beside every interval). */
  seed: number;
  resamples: number;
  /** Questions generated at once (parallel sequences of the serving context). */
  concurrency: number;
  judge: JudgeSpec | null;
};

export const evalRuns = sqliteTable(
  "eval_runs",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    assistantId: text("assistant_id")
      .notNull()
      .references(() => assistants.id, { onDelete: "cascade" }),
    /** Plain id (no FK): a run outlives its set; its rows are snapshotted in eval_run_rows. */
    setId: text("set_id").notNull(),
    setName: text("set_name").notNull(),
    status: text("status", { enum: EVAL_RUN_STATUSES }).notNull().default("queued"),
    configs: text("configs", { mode: "json" }).$type<EvalConfig[]>().notNull(),
    options: text("options", { mode: "json" }).$type<EvalRunOptions>().notNull(),
    totalItems: integer("total_items").notNull().default(0),
    doneItems: integer("done_items").notNull().default(0),
    error: text("error"),
    /** The process executing it (a restarted server re-queues a run whose process is gone). */
    pid: integer("pid"),
    log: text("log", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    /** Aggregates, pairwise comparisons, verdict and the planner's advice (computed when the run ends). */
    summary: text("summary", { mode: "json" }).$type<Record<string, unknown> | null>(),
    createdBy: text("created_by"),
    createdAt: integer("created_at").notNull().default(now),
    queuedAt: integer("queued_at").notNull().default(now),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
  },
  (t) => [index("eval_runs_status_idx").on(t.status, t.queuedAt), index("eval_runs_assistant_idx").on(t.assistantId, t.createdAt)],
);
export type EvalRunRow = typeof evalRuns.$inferSelect;

/** The set's accepted rows as they were when the run was created (later edits do not change a run). */
export const evalRunRows = sqliteTable(
  "eval_run_rows",
  {
    runId: text("run_id")
      .notNull()
      .references(() => evalRuns.id, { onDelete: "cascade" }),
    idx: integer("idx").notNull(),
    rowId: text("row_id").notNull(),
    question: text("question").notNull(),
    reference: text("reference"),
    facts: text("facts", { mode: "json" }).$type<RequiredFact[]>().notNull(),
    expectedSource: text("expected_source", { mode: "json" }).$type<ExpectedSource | null>(),
    shouldRefuse: integer("should_refuse", { mode: "boolean" }).notNull(),
  },
  (t) => [uniqueIndex("eval_run_rows_idx").on(t.runId, t.idx)],
);
export type EvalRunRowRow = typeof evalRunRows.$inferSelect;

export type StoredCitation = { n: number; documentId: string; documentTitle: string; chunkId: number; heading: string | null; excerpt: string };
export const JUDGE_STATUSES = ["ok", "unavailable", "unparsed"] as const;

/** One answer: row × configuration. Deterministic metrics and the judge's opinion are separate columns. */
export const evalResults = sqliteTable(
  "eval_results",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    runId: text("run_id")
      .notNull()
      .references(() => evalRuns.id, { onDelete: "cascade" }),
    rowIdx: integer("row_idx").notNull(),
    configIdx: integer("config_idx").notNull(),
    answer: text("answer").notNull(),
    citations: text("citations", { mode: "json" }).$type<StoredCitation[]>().notNull().default(sql`'[]'`),
    /** Markers [n] the answer itself uses. */
    cited: text("cited", { mode: "json" }).$type<number[]>().notNull().default(sql`'[]'`),
    factsHit: real("facts_hit"),
    tokenF1: real("token_f1"),
    rougeL: real("rouge_l"),
    citationHit: real("citation_hit"),
    sourceRetrieved: real("source_retrieved"),
    refusalCorrect: real("refusal_correct"),
    answerTokens: integer("answer_tokens"),
    ttftMs: real("ttft_ms"),
    tokensPerSecond: real("tokens_per_second"),
    judgeScore: integer("judge_score"),
    judgeReason: text("judge_reason"),
    judgeStatus: text("judge_status", { enum: JUDGE_STATUSES }),
    error: text("error"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("eval_results_cell_idx").on(t.runId, t.rowIdx, t.configIdx)],
);
export type EvalResultRow = typeof evalResults.$inferSelect;

/** The evidence an activation was decided on (shown in the version's lineage). */
export const evalActivationChecks = sqliteTable(
  "eval_activation_checks",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    assistantId: text("assistant_id")
      .notNull()
      .references(() => assistants.id, { onDelete: "cascade" }),
    modelId: text("model_id").notNull(),
    previousModelId: text("previous_model_id"),
    /** The run that justified it (null: no run on the default set compared the two). */
    evalRunId: text("eval_run_id"),
    /** "better" | "no-difference" | "worse" | "not-evaluated" */
    verdict: text("verdict").notNull(),
    metric: text("metric"),
    /** candidate − active on the gate metric, with its 95% bootstrap interval */
    difference: real("difference"),
    ciLow: real("ci_low"),
    ciHigh: real("ci_high"),
    overridden: integer("overridden", { mode: "boolean" }).notNull().default(false),
    message: text("message").notNull(),
    userId: text("user_id"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("eval_activation_checks_idx").on(t.assistantId, t.modelId, t.createdAt)],
);
export type EvalActivationCheckRow = typeof evalActivationChecks.$inferSelect;
