import "server-only";
import { z } from "zod";
import { assistantView, getAssistant } from "../../assistants";
import { signedIn } from "../../auth";
import { createConversation, deleteConversation, getConversation, listConversations, listMessages, renameConversation } from "../../chat";
import { forgetConversation } from "../../loop";
import { createTRPCRouter, viewerProcedure } from "../trpc";

const id = z.string().min(1).max(100);

/** Console conversations are private to the user who started them (admins included). */
export const conversationsRouter = createTRPCRouter({
  list: viewerProcedure
    .input(z.object({ search: z.string().max(200).optional() }).optional())
    .query(({ ctx, input }) => listConversations(ctx.db, signedIn(ctx).user.id, input?.search)),
  get: viewerProcedure.input(z.object({ id })).query(({ ctx, input }) => {
    const conversation = getConversation(ctx.db, input.id, signedIn(ctx).user.id);
    return {
      conversation,
      assistant: assistantView(ctx.db, getAssistant(ctx.db, conversation.assistantId)),
      messages: listMessages(ctx.db, conversation.id),
    };
  }),
  create: viewerProcedure
    .input(z.object({ assistantId: id, title: z.string().max(200).optional() }))
    .mutation(({ ctx, input }) => createConversation(ctx.db, { ...input, userId: signedIn(ctx).user.id })),
  rename: viewerProcedure
    .input(z.object({ id, title: z.string().trim().min(1, "The title is empty.").max(200) }))
    .mutation(({ ctx, input }) => renameConversation(ctx.db, input.id, input.title, signedIn(ctx).user.id)),
  delete: viewerProcedure.input(z.object({ id })).mutation(({ ctx, input }) => {
    getConversation(ctx.db, input.id, signedIn(ctx).user.id);
    // Its reviewed answers leave improvement datasets not yet trained on (trained versions are named).
    const impact = forgetConversation(ctx.db, input.id, ctx.session);
    deleteConversation(ctx.db, input.id, signedIn(ctx).user.id);
    return { id: input.id, trainedVersions: impact.trainedVersions };
  }),
});
