import "server-only";
import { z } from "zod";
import { addLocalModel, downloadModel, listModels, removeModel } from "../../models";
import { createTRPCRouter, adminProcedure, mapStreamErrors, viewerProcedure } from "../trpc";

export const modelsRouter = createTRPCRouter({
  /** Admins see where each file is on the server; everyone else only its name. */
  list: viewerProcedure.query(({ ctx }) => listModels(ctx.db, { showPaths: ctx.session?.user.role === "admin" })),
  addLocal: adminProcedure
    .input(z.object({ path: z.string().trim().min(1, "Give the path of a .gguf file.").max(4096), name: z.string().max(200).optional(), baseModelId: z.string().optional() }))
    .mutation(({ ctx, input }) => addLocalModel(ctx.db, input)),
  download: adminProcedure
    .input(z.object({ uri: z.string().trim().min(1).max(1000), name: z.string().max(200).optional() }))
    .mutation(async function* ({ ctx, input, signal }) {
      yield* mapStreamErrors(downloadModel(ctx.db, input, signal));
    }),
  remove: adminProcedure.input(z.object({ id: z.string().min(1) })).mutation(async ({ ctx, input }) => {
    await removeModel(ctx.db, input.id);
    return { id: input.id };
  }),
});
