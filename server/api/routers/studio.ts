import "server-only";
import {
  activateInput,
  activateVersion,
  cancelRun,
  compareInput,
  compareModels,
  deleteDataset,
  evalPromptsSetInput,
  getDataset,
  getEvalPrompts,
  getRun,
  idInput,
  listDatasets,
  listRuns,
  listVersions,
  planInput,
  planTraining,
  previewDataset,
  previewInput,
  resumeRun,
  setEvalPrompts,
  startInput,
  startRun,
  watchRun,
} from "../../studio";
import { z } from "zod";
import { env } from "../../env";
import { carryVersionToNodes } from "../../nodes";
import { createTRPCRouter, editorProcedure, mapStreamErrors, viewerProcedure } from "../trpc";

// Training studio: inputs and outputs in server/studio/types.ts (the UI derives its types from this router). Upload is a multipart route: app/api/studio/datasets/route.ts.

const assistantInput = z.object({ assistantId: z.string().min(1) });

export const studioRouter = createTRPCRouter({
  datasets: createTRPCRouter({
    list: viewerProcedure.query(({ ctx }) => listDatasets(ctx.db)),
    get: viewerProcedure.input(idInput).query(({ ctx, input }) => getDataset(ctx.db, input.id)),
    /** Cleaning effect and token counts with the chosen base model's tokenizer (nothing is changed). */
    preview: viewerProcedure.input(previewInput).query(({ ctx, input }) => previewDataset(ctx.db, input)),
    delete: editorProcedure.input(idInput).mutation(({ ctx, input }) => deleteDataset(ctx.db, input.id, ctx.session)),
  }),
  /**
   * Feasibility: tokens, FLOPs, time (calibrated on this machine), memory, recommendation. A
   * mutation (POST): a first plan for a model shape runs a short calibration and stores it.
   */
  plan: editorProcedure.input(planInput).mutation(({ ctx, input }) => planTraining(ctx.db, input)),
  runs: createTRPCRouter({
    start: editorProcedure.input(startInput).mutation(({ ctx, input }) => startRun(ctx.db, input, ctx.session)),
    list: viewerProcedure.query(({ ctx }) => listRuns(ctx.db)),
    get: viewerProcedure.input(idInput).query(({ ctx, input }) => getRun(ctx.db, input.id)),
    /** Streams progress until the run ends (a mutation, like chat.send, so it is a POST). */
    watch: viewerProcedure.input(idInput).mutation(async function* ({ ctx, input, signal }) {
      yield* mapStreamErrors(watchRun(ctx.db, input.id, signal));
    }),
    cancel: editorProcedure.input(idInput).mutation(({ ctx, input }) => cancelRun(ctx.db, input.id, ctx.session)),
    resume: editorProcedure.input(idInput).mutation(({ ctx, input }) => resumeRun(ctx.db, input.id, ctx.session)),
  }),
  evalPrompts: createTRPCRouter({
    get: viewerProcedure.input(assistantInput).query(({ ctx, input }) => getEvalPrompts(ctx.db, input.assistantId)),
    set: editorProcedure.input(evalPromptsSetInput).mutation(({ ctx, input }) => setEvalPrompts(ctx.db, input, ctx.session)),
  }),
  /** The assistant's current model and a candidate answer its eval prompts, streamed side by side. */
  compare: editorProcedure.input(compareInput).mutation(async function* ({ ctx, input, signal }) {
    yield* mapStreamErrors(compareModels(ctx.db, input, signal));
  }),
  versions: createTRPCRouter({
    list: viewerProcedure.input(z.object({ assistantId: z.string().min(1).optional() }).optional()).query(({ ctx, input }) => listVersions(ctx.db, input?.assistantId)),
    /** Hot swap: new turns use the model; turns in flight finish on the old one. Rollback = activate an earlier one. */
    activate: editorProcedure.input(activateInput).mutation(async ({ ctx, input }) => {
      const activated = activateVersion(ctx.db, input, ctx.session);
      // The nodes that served the previous version get this one too (server/nodes/versions.ts).
      const nodes = await carryVersionToNodes(ctx.db, activated.previousModelId, input.modelId, env().ATELIER_PUBLIC_URL ?? ctx.origin);
      return { ...activated, nodes };
    }),
  }),
});
