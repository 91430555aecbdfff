import "server-only";
import { z } from "zod";
import {
  assistantView,
  createConversation,
  deleteConversation,
  getAssistant,
  getConversation,
  listConversations,
  listMessages,
  renameConversation,
} from "../../chat/conversations";
import { createTRPCRouter, viewerProcedure } from "../trpc";

const id = z.string().min(1).max(100);

export const conversationsRouter = createTRPCRouter({
  list: viewerProcedure
    .input(z.object({ search: z.string().max(200).optional() }).optional())
    .query(({ ctx, input }) => listConversations(ctx.db, input?.search)),
  get: viewerProcedure.input(z.object({ id })).query(({ ctx, input }) => {
    const conversation = getConversation(ctx.db, input.id);
    return {
      conversation,
      assistant: assistantView(ctx.db, getAssistant(ctx.db, conversation.assistantId)),
      messages: listMessages(ctx.db, conversation.id),
    };
  }),
  create: viewerProcedure
    .input(z.object({ assistantId: id, title: z.string().max(200).optional() }))
    .mutation(({ ctx, input }) => createConversation(ctx.db, input)),
  rename: viewerProcedure
    .input(z.object({ id, title: z.string().trim().min(1, "The title is empty.").max(200) }))
    .mutation(({ ctx, input }) => renameConversation(ctx.db, input.id, input.title)),
  delete: viewerProcedure.input(z.object({ id })).mutation(({ ctx, input }) => {
    deleteConversation(ctx.db, input.id);
    return { id: input.id };
  }),
});
