import "server-only";
import { z } from "zod";
import {
  createExperiment,
  createVersion,
  experimentInput,
  getExperiment,
  listExperiments,
  promoteArm,
  rollbackExperiment,
  stopExperiment,
  createVersionInput,
  deleteConversationEverywhere,
  inboxCounts,
  inboxFilters,
  listInbox,
  listVersions,
  retrain,
  retrainInput,
  reviewAnswer,
  reviewInput,
  undoReview,
  versionItems,
} from "../../loop";
import { createTRPCRouter, editorProcedure } from "../trpc";

const id = z.string().min(1).max(200);

/** The improvement loop: reviewing answers from every channel and turning them into training data (editors). */
export const loopRouter = createTRPCRouter({
  inbox: editorProcedure.input(inboxFilters).query(({ ctx, input }) => listInbox(ctx.db, input)),
  counts: editorProcedure.input(z.object({ assistantId: id })).query(({ ctx, input }) => inboxCounts(ctx.db, input.assistantId)),
  review: editorProcedure.input(reviewInput).mutation(({ ctx, input }) => reviewAnswer(ctx.db, input, ctx.session)),
  undo: editorProcedure.input(z.object({ messageId: id })).mutation(({ ctx, input }) => undoReview(ctx.db, input.messageId, ctx.session)),
  datasets: editorProcedure.input(z.object({ assistantId: id })).query(({ ctx, input }) => listVersions(ctx.db, input.assistantId)),
  datasetItems: editorProcedure.input(z.object({ datasetId: id })).query(({ ctx, input }) => versionItems(ctx.db, input.datasetId)),
  createDataset: editorProcedure.input(createVersionInput).mutation(({ ctx, input }) => createVersion(ctx.db, input.assistantId, ctx.session)),
  /** Builds the version's training data (with replay) and returns the studio's plan; studio.start runs it. */
  retrain: editorProcedure.input(retrainInput).mutation(({ ctx, input }) => retrain(ctx.db, input, ctx.session)),
  /** Deletes any conversation of the assistant (all channels), removing it from datasets not yet trained on. */
  deleteConversation: editorProcedure
    .input(z.object({ conversationId: id }))
    .mutation(({ ctx, input }) => deleteConversationEverywhere(ctx.db, input.conversationId, ctx.session)),
  /** A/B on live traffic: versions × traffic split, live per-arm numbers, promote (through the activation gate), stop, rollback. */
  experiments: createTRPCRouter({
    list: editorProcedure.input(z.object({ assistantId: id })).query(({ ctx, input }) => listExperiments(ctx.db, input.assistantId)),
    get: editorProcedure.input(z.object({ id })).query(({ ctx, input }) => getExperiment(ctx.db, input.id)),
    create: editorProcedure.input(experimentInput).mutation(({ ctx, input }) => createExperiment(ctx.db, input, ctx.session)),
    stop: editorProcedure.input(z.object({ id })).mutation(({ ctx, input }) => stopExperiment(ctx.db, input.id, ctx.session)),
    promote: editorProcedure
      .input(z.object({ experimentId: id, armId: id, override: z.boolean().optional() }))
      .mutation(({ ctx, input }) => promoteArm(ctx.db, input, ctx.session)),
    rollback: editorProcedure.input(z.object({ id })).mutation(({ ctx, input }) => rollbackExperiment(ctx.db, input.id, ctx.session)),
  }),
});
