import "server-only";
import { z } from "zod";
import {
  activationLineage,
  activationEvidenceInput,
  addFromConversations,
  addRows,
  assistantFilter,
  buildFromCollection,
  cancelRun,
  candidatesInput,
  createRun,
  createSet,
  deleteRows,
  deleteRun,
  deleteSet,
  evidenceForActivation,
  exportFile,
  exportInput,
  exportResults,
  exportResultsInput,
  fromConversationsInput,
  getRun,
  getSet,
  idInput,
  importFile,
  importInput,
  JUDGE_RUBRIC,
  listRuns,
  listSets,
  METRICS,
  resultsInput,
  reviewInput,
  reviewRows,
  rowIdsInput,
  rowsAddInput,
  rowUpdateInput,
  runCreateInput,
  runResults,
  setCreateInput,
  setUpdateInput,
  updateRow,
  updateSet,
} from "../../evals";
import { createTRPCRouter, editorProcedure, viewerProcedure } from "../trpc";

// Evaluations (server/evals/). Reads are for viewers; anything that writes or runs a model is for editors.

export const evalsRouter = createTRPCRouter({
  /** The fixed judge rubric and the metric columns, so the UI shows exactly what the server uses. */
  meta: viewerProcedure.query(() => ({ rubric: [...JUDGE_RUBRIC], metrics: METRICS })),
  sets: createTRPCRouter({
    list: viewerProcedure.input(assistantFilter).query(({ ctx, input }) => listSets(ctx.db, input?.assistantId)),
    get: viewerProcedure.input(idInput).query(({ ctx, input }) => getSet(ctx.db, input.id)),
    create: editorProcedure.input(setCreateInput).mutation(({ ctx, input }) => createSet(ctx.db, input, ctx.session)),
    update: editorProcedure.input(setUpdateInput).mutation(({ ctx, input }) => updateSet(ctx.db, input, ctx.session)),
    delete: editorProcedure.input(idInput).mutation(({ ctx, input }) => deleteSet(ctx.db, input.id, ctx.session)),
    /** All-or-nothing .jsonl/.csv import; errors name the file and line. */
    import: editorProcedure.input(importInput).mutation(({ ctx, input }) => importFile(ctx.db, input, ctx.session)),
    export: viewerProcedure.input(exportInput).query(({ ctx, input }) => exportFile(ctx.db, input)),
    /** Candidate rows from a knowledge collection's structure (optionally rewritten by a generator model), for review. */
    buildFromCollection: editorProcedure.input(candidatesInput).mutation(({ ctx, input, signal }) => buildFromCollection(ctx.db, input, ctx.session, signal)),
    /** Candidate rows from rated answers (thumbs up: a reference; thumbs down: a row to fix). */
    fromConversations: editorProcedure.input(fromConversationsInput).mutation(({ ctx, input }) => addFromConversations(ctx.db, input, ctx.session)),
  }),
  rows: createTRPCRouter({
    add: editorProcedure.input(rowsAddInput).mutation(({ ctx, input }) => addRows(ctx.db, input, ctx.session)),
    update: editorProcedure.input(rowUpdateInput).mutation(({ ctx, input }) => updateRow(ctx.db, input, ctx.session)),
    delete: editorProcedure.input(rowIdsInput).mutation(({ ctx, input }) => deleteRows(ctx.db, input.ids, ctx.session)),
    /** Accept (as is or edited) or drop candidate rows. */
    review: editorProcedure.input(reviewInput).mutation(({ ctx, input }) => reviewRows(ctx.db, input, ctx.session)),
  }),
  runs: createTRPCRouter({
    start: editorProcedure.input(runCreateInput).mutation(({ ctx, input }) => createRun(ctx.db, input, ctx.session)),
    list: viewerProcedure.input(assistantFilter).query(({ ctx, input }) => listRuns(ctx.db, input?.assistantId)),
    get: viewerProcedure.input(idInput).query(({ ctx, input }) => getRun(ctx.db, input.id)),
    cancel: editorProcedure.input(idInput).mutation(({ ctx, input }) => cancelRun(ctx.db, input.id, ctx.session)),
    delete: editorProcedure.input(idInput).mutation(({ ctx, input }) => deleteRun(ctx.db, input.id, ctx.session)),
    /** Drill-down: each row's question, reference and every configuration's answer, citations and scores. */
    results: viewerProcedure.input(resultsInput).query(({ ctx, input }) => runResults(ctx.db, input)),
    export: viewerProcedure.input(exportResultsInput).query(({ ctx, input }) => exportResults(ctx.db, input)),
  }),
  /** What the gate would say about activating a version now, and each version's recorded check. */
  gate: createTRPCRouter({
    evidence: viewerProcedure.input(activationEvidenceInput).query(({ ctx, input }) => evidenceForActivation(ctx.db, input)),
    lineage: viewerProcedure.input(z.object({ assistantId: z.string().min(1).max(200) })).query(({ ctx, input }) => activationLineage(ctx.db, input.assistantId)),
  }),
});
