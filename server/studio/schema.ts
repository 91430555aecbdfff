import { sql } from "drizzle-orm";
import { index, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { assistants } from "../db/schema";

// No "server-only" here: drizzle-kit loads this file outside Next to generate migrations.
// Training studio tables: datasets (with provenance and records), runs (a persisted queue),
// progress points, calibration cache, eval prompts and the activation history.

const now = sql`(cast(unixepoch('subsec') * 1000 as integer))`;

export const DATASET_KINDS = ["text", "chat"] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];
export const RUN_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled", "interrupted"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const RUN_GOALS = ["domain", "answers", "scratch"] as const;
export const RUN_METHODS = ["lora", "full", "scratch"] as const;
export type RunMethod = (typeof RUN_METHODS)[number];

/** A chat record as stored (and trained): alternating user/assistant turns, optional system prompt. */
export type StoredChat = { system?: string; messages: { role: "user" | "assistant"; content: string }[] };

export const studioDatasets = sqliteTable("studio_datasets", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** "chat" when any record is a conversation (raw text records then train as documents beside them). */
  kind: text("kind", { enum: DATASET_KINDS }).notNull(),
  recordCount: integer("record_count").notNull(),
  /** Bytes of the uploaded files, together. */
  bytes: integer("bytes").notNull(),
  /** Byte-level token estimate at upload (exact counts need a tokenizer: see preview). */
  tokenEstimate: integer("token_estimate").notNull(),
  createdBy: text("created_by"),
  createdAt: integer("created_at").notNull().default(now),
});
export type StudioDatasetRow = typeof studioDatasets.$inferSelect;

/** Provenance: one row per uploaded file. */
export const studioDatasetFiles = sqliteTable(
  "studio_dataset_files",
  {
    id: text("id").primaryKey(),
    datasetId: text("dataset_id")
      .notNull()
      .references(() => studioDatasets.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    sha256: text("sha256").notNull(),
    bytes: integer("bytes").notNull(),
    format: text("format").notNull(),
    records: integer("records").notNull(),
    warnings: text("warnings", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    uploadedAt: integer("uploaded_at").notNull().default(now),
  },
  (t) => [index("studio_dataset_files_dataset_idx").on(t.datasetId)],
);
export type StudioDatasetFileRow = typeof studioDatasetFiles.$inferSelect;

export const studioRecords = sqliteTable(
  "studio_records",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    datasetId: text("dataset_id")
      .notNull()
      .references(() => studioDatasets.id, { onDelete: "cascade" }),
    fileId: text("file_id").notNull(),
    position: integer("position").notNull(),
    kind: text("kind", { enum: DATASET_KINDS }).notNull(),
    /** kind "text": the passage */
    text: text("text"),
    /** kind "chat": the conversation */
    chat: text("chat", { mode: "json" }).$type<StoredChat>(),
  },
  (t) => [index("studio_records_dataset_idx").on(t.datasetId, t.position)],
);
export type StudioRecordRow = typeof studioRecords.$inferSelect;

/** A training run; status "queued" rows are the queue (oldest first, one running per device). */
export const studioRuns = sqliteTable(
  "studio_runs",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    status: text("status", { enum: RUN_STATUSES }).notNull().default("queued"),
    goal: text("goal", { enum: RUN_GOALS }).notNull(),
    method: text("method", { enum: RUN_METHODS }).notNull(),
    /** Kept as plain ids (no FK) so the history outlives a deleted dataset or model. */
    datasetId: text("dataset_id").notNull(),
    baseModelId: text("base_model_id"),
    assistantId: text("assistant_id"),
    /** The start input (plan input + name) and the derived trainer settings. */
    settings: text("settings", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    /** Next start continues from the checkpoint instead of preparing from scratch. */
    resume: integer("resume", { mode: "boolean" }).notNull().default(false),
    device: text("device").notNull().default("cpu"),
    workDir: text("work_dir").notNull(),
    pid: integer("pid"),
    step: integer("step").notNull().default(0),
    totalSteps: integer("total_steps").notNull().default(0),
    etaSeconds: real("eta_seconds"),
    error: text("error"),
    estimateSeconds: real("estimate_seconds"),
    estimatePeakBytes: integer("estimate_peak_bytes"),
    /** Seconds spent training (summed over resumes). */
    actualSeconds: real("actual_seconds"),
    actualPeakBytes: integer("actual_peak_bytes"),
    pplBefore: real("ppl_before"),
    pplAfter: real("ppl_after"),
    /** Held-out bits per byte before/after (tokenizer-independent; see bits-per-byte.ts). */
    bpbBefore: real("bpb_before"),
    bpbAfter: real("bpb_after"),
    modelId: text("model_id"),
    /** The last lines of the trainer's log and the runner's notes. */
    log: text("log", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    createdBy: text("created_by"),
    createdAt: integer("created_at").notNull().default(now),
    /** Queue order (a resumed run goes to the back). */
    queuedAt: integer("queued_at").notNull().default(now),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
  },
  (t) => [index("studio_runs_status_idx").on(t.status, t.queuedAt)],
);
export type StudioRunRow = typeof studioRuns.$inferSelect;

/** Loss curve, written throttled (about one point a second plus every eval step). */
export const studioRunPoints = sqliteTable(
  "studio_run_points",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    runId: text("run_id")
      .notNull()
      .references(() => studioRuns.id, { onDelete: "cascade" }),
    step: integer("step").notNull(),
    loss: real("loss"),
    evalLoss: real("eval_loss"),
    lr: real("lr").notNull(),
    tokensPerSecond: real("tokens_per_second").notNull(),
  },
  (t) => [index("studio_run_points_run_idx").on(t.runId, t.step)],
);
export type StudioRunPointRow = typeof studioRunPoints.$inferSelect;

/** Measured trainer speed per (model shape, method, backend, batch×seq): the planner's clock. */
export const studioCalibrations = sqliteTable("studio_calibrations", {
  key: text("key").primaryKey(),
  tokensPerSecond: real("tokens_per_second").notNull(),
  memEstimateBytes: integer("mem_estimate_bytes").notNull(),
  params: integer("params").notNull(),
  trainable: integer("trainable").notNull(),
  backend: text("backend").notNull(),
  createdAt: integer("created_at").notNull().default(now),
});

export const studioEvalPrompts = sqliteTable("studio_eval_prompts", {
  assistantId: text("assistant_id")
    .primaryKey()
    .references(() => assistants.id, { onDelete: "cascade" }),
  prompts: text("prompts", { mode: "json" }).$type<string[]>().notNull(),
  updatedAt: integer("updated_at").notNull().default(now),
});

/** Which model an assistant answered with, and when it changed (rollback picks from here). */
export const studioActivations = sqliteTable(
  "studio_activations",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    assistantId: text("assistant_id")
      .notNull()
      .references(() => assistants.id, { onDelete: "cascade" }),
    modelId: text("model_id").notNull(),
    previousModelId: text("previous_model_id"),
    userId: text("user_id"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("studio_activations_assistant_idx").on(t.assistantId, t.createdAt)],
);
