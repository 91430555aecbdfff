import "server-only";
import { asc, desc } from "drizzle-orm";
import { z } from "zod";
import { assistantView, getAssistant } from "../../chat/conversations";
import { assistants } from "../../db/schema";
import { createTRPCRouter, viewerProcedure } from "../trpc";

export const assistantsRouter = createTRPCRouter({
  list: viewerProcedure.query(({ ctx }) =>
    ctx.db
      .select()
      .from(assistants)
      .orderBy(desc(assistants.isDefault), asc(assistants.createdAt))
      .all()
      .map((a) => assistantView(ctx.db, a)),
  ),
  get: viewerProcedure
    .input(z.object({ id: z.string().min(1) }))
    .query(({ ctx, input }) => assistantView(ctx.db, getAssistant(ctx.db, input.id))),
});
