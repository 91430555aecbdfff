import { sql } from "drizzle-orm";
import { index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { assistants } from "../db/schema";

// No "server-only" here: drizzle-kit loads this file outside Next to generate migrations.
// The improvement loop: the owner's review of each answer (with provenance), and the versioned
// improvement datasets reviewed answers accumulate into. Conversation and message ids are kept as
// plain ids (no foreign key): deleting a conversation is handled by the loop itself, which removes
// its items from datasets not yet trained on and reports the trained versions that used them.

const now = sql`(cast(unixepoch('subsec') * 1000 as integer))`;

/** good: the answer as it was; corrected: the reviewer's answer; eval: the question went to an eval set; dismissed: nothing. */
export const REVIEW_ACTIONS = ["good", "corrected", "eval", "dismissed"] as const;
export type ReviewAction = (typeof REVIEW_ACTIONS)[number];

/** A chat turn as trained: the history window the model saw, then the approved answer. */
export type ReviewTurn = { role: "user" | "assistant"; content: string };

export const reviewItems = sqliteTable(
  "review_items",
  {
    id: text("id").primaryKey(),
    assistantId: text("assistant_id")
      .notNull()
      .references(() => assistants.id, { onDelete: "cascade" }),
    conversationId: text("conversation_id").notNull(),
    /** The reviewed assistant message (one review per message; a new decision replaces the old one). */
    messageId: text("message_id").notNull(),
    channel: text("channel").notNull(),
    action: text("action", { enum: REVIEW_ACTIONS }).notNull(),
    /** The model version that answered. */
    modelId: text("model_id"),
    /** The turns the model saw (its history window, ending with the question), PII-scrubbed unless the reviewer chose otherwise. */
    turns: text("turns", { mode: "json" }).$type<ReviewTurn[]>().notNull(),
    /** The answer as given, and the reviewer's corrected answer (action "corrected"). */
    answer: text("answer").notNull(),
    correction: text("correction"),
    /** The persona prompt the record trains under. */
    system: text("system"),
    scrubbed: integer("scrubbed", { mode: "boolean" }).notNull().default(true),
    /** How many e-mails, phones, cards and addresses scrubbing replaced. */
    piiCounts: text("pii_counts", { mode: "json" }).$type<Record<string, number>>(),
    rating: integer("rating"),
    evalSetId: text("eval_set_id"),
    evalRowId: text("eval_row_id"),
    reviewerId: text("reviewer_id"),
    reviewedAt: integer("reviewed_at").notNull().default(now),
  },
  (t) => [uniqueIndex("review_items_message_idx").on(t.messageId), index("review_items_assistant_idx").on(t.assistantId, t.action, t.reviewedAt), index("review_items_conversation_idx").on(t.conversationId)],
);
export type ReviewItemRow = typeof reviewItems.$inferSelect;

/** A numbered version of an assistant's improvement data: every approved review up to its creation. */
export const improvementDatasets = sqliteTable(
  "improvement_datasets",
  {
    id: text("id").primaryKey(),
    assistantId: text("assistant_id")
      .notNull()
      .references(() => assistants.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    recordCount: integer("record_count").notNull(),
    createdBy: text("created_by"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("improvement_datasets_version_idx").on(t.assistantId, t.version)],
);
export type ImprovementDatasetRow = typeof improvementDatasets.$inferSelect;

/** One chat record of a version, with its provenance (a copy: later re-reviews do not change a version). */
export const improvementItems = sqliteTable(
  "improvement_items",
  {
    id: text("id").primaryKey(),
    datasetId: text("dataset_id")
      .notNull()
      .references(() => improvementDatasets.id, { onDelete: "cascade" }),
    reviewItemId: text("review_item_id").notNull(),
    conversationId: text("conversation_id").notNull(),
    messageId: text("message_id").notNull(),
    action: text("action", { enum: REVIEW_ACTIONS }).notNull(),
    system: text("system"),
    /** The history window plus the approved or corrected answer. */
    turns: text("turns", { mode: "json" }).$type<ReviewTurn[]>().notNull(),
    reviewerId: text("reviewer_id"),
    reviewedAt: integer("reviewed_at").notNull(),
  },
  (t) => [index("improvement_items_dataset_idx").on(t.datasetId), index("improvement_items_conversation_idx").on(t.conversationId)],
);
export type ImprovementItemRow = typeof improvementItems.$inferSelect;

/** A Retrain: the studio dataset built from a version (plus replay) and the run that trained on it. */
export const improvementTrainings = sqliteTable(
  "improvement_trainings",
  {
    id: text("id").primaryKey(),
    datasetId: text("dataset_id")
      .notNull()
      .references(() => improvementDatasets.id, { onDelete: "cascade" }),
    studioDatasetId: text("studio_dataset_id").notNull(),
    /** The version it continues from, and the share of that version's own training data replayed. */
    fromModelId: text("from_model_id"),
    replayShare: integer("replay_share_pct").notNull(),
    replayRecords: integer("replay_records").notNull(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("improvement_trainings_dataset_idx").on(t.datasetId), index("improvement_trainings_studio_idx").on(t.studioDatasetId)],
);
export type ImprovementTrainingRow = typeof improvementTrainings.$inferSelect;

export const EXPERIMENT_STATUSES = ["running", "promoted", "stopped"] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];

/** A/B on live traffic: two or more versions of one assistant share its conversations. */
export const experiments = sqliteTable(
  "experiments",
  {
    id: text("id").primaryKey(),
    assistantId: text("assistant_id")
      .notNull()
      .references(() => assistants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    status: text("status", { enum: EXPERIMENT_STATUSES }).notNull().default("running"),
    /** An arm whose error rate passes this (with at least minAnswers answers) is stopped automatically. */
    errorThreshold: real("error_threshold").notNull().default(0.2),
    minAnswers: integer("min_answers").notNull().default(10),
    /** The version active when it started (Stop and rollback return to it). */
    baselineModelId: text("baseline_model_id"),
    winnerArmId: text("winner_arm_id"),
    endedReason: text("ended_reason"),
    createdBy: text("created_by"),
    createdAt: integer("created_at").notNull().default(now),
    endedAt: integer("ended_at"),
  },
  (t) => [index("experiments_assistant_idx").on(t.assistantId, t.status)],
);
export type ExperimentRow = typeof experiments.$inferSelect;

export const experimentArms = sqliteTable(
  "experiment_arms",
  {
    id: text("id").primaryKey(),
    experimentId: text("experiment_id")
      .notNull()
      .references(() => experiments.id, { onDelete: "cascade" }),
    label: text("label").notNull(),
    modelId: text("model_id").notNull(),
    /** Share of traffic, in percent of the arms still running. */
    weight: integer("weight").notNull(),
    stoppedAt: integer("stopped_at"),
    stoppedReason: text("stopped_reason"),
  },
  (t) => [index("experiment_arms_experiment_idx").on(t.experimentId)],
);
export type ExperimentArmRow = typeof experimentArms.$inferSelect;
