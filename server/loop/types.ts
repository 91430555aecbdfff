import "server-only";
import { z } from "zod";
import { CONVERSATION_CHANNELS } from "../db/schema";
import { REVIEW_ACTIONS } from "./schema";

// Inputs (zod) of the improvement loop's API, one schema per procedure.

export const LOOP_LIMITS = {
  /** A corrected answer: as long as the longest answer a model may give, with room to spare. */
  correction: 8000,
  pageSize: 100,
  replayShareMax: 0.9,
} as const;

const id = z.string().min(1).max(200);

export const inboxFilters = z.object({
  assistantId: id,
  /** "unreviewed" (default) hides answers already decided; "reviewed" shows only those. */
  state: z.enum(["unreviewed", "reviewed", "all"]).default("unreviewed"),
  rating: z.enum(["any", "up", "down", "rated", "unrated"]).default("any"),
  channel: z.enum(CONVERSATION_CHANNELS).optional(),
  /** Epoch milliseconds, inclusive. */
  from: z.number().int().min(0).optional(),
  to: z.number().int().min(0).optional(),
  modelId: id.optional(),
  hasCitations: z.boolean().optional(),
  outOfScope: z.boolean().optional(),
  regenerated: z.boolean().optional(),
  /** Older than this message time (paging, newest first). */
  before: z.number().int().optional(),
  limit: z.number().int().min(1).max(LOOP_LIMITS.pageSize).default(50),
});
export type InboxFilters = z.output<typeof inboxFilters>;

export const reviewInput = z.object({
  messageId: id,
  action: z.enum(REVIEW_ACTIONS),
  /** action "corrected": the answer it should have given. Also the reference when action is "eval". */
  correction: z.string().max(LOOP_LIMITS.correction * 4).nullish(),
  /** action "eval": the set the question goes to. */
  evalSetId: id.nullish(),
  /** PII is scrubbed unless the reviewer turns it off for this item. */
  scrubPii: z.boolean().default(true),
});
export type ReviewInput = z.input<typeof reviewInput>;

export const createVersionInput = z.object({ assistantId: id });
export const retrainInput = z.object({
  datasetId: id,
  /** Share of the training records replayed from the active version's own training data (against forgetting). */
  replayShare: z.number().min(0).max(LOOP_LIMITS.replayShareMax).default(0.2),
  epochs: z.number().min(0.01).max(1000).default(2),
  maxSteps: z.number().int().min(1).max(1_000_000).optional(),
  method: z.enum(["lora", "full"]).optional(),
});
export type RetrainInput = z.input<typeof retrainInput>;

export const experimentInput = z.object({
  assistantId: id,
  name: z.string().max(200).optional(),
  arms: z
    .array(z.object({ modelId: id, weight: z.number().int().min(1).max(100) }))
    .min(2, "An experiment needs at least two versions.")
    .max(4, "An experiment has at most four arms."),
  errorThreshold: z.number().min(0.01).max(1).default(0.2),
  minAnswers: z.number().int().min(1).max(10_000).default(10),
});
export type ExperimentInput = z.input<typeof experimentInput>;
