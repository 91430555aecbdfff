import "server-only";
import { z } from "zod";
import { signedIn } from "../../auth";
import { getConversation, MAX_FEEDBACK_COMMENT_CHARS, rateAnswer, sendChat, sendInput } from "../../chat";
import { createTRPCRouter, mapStreamErrors, viewerProcedure } from "../trpc";

export const chatRouter = createTRPCRouter({
  /**
   * Streams one answer. A mutation (POST) rather than a subscription: long prompts in a GET
   * query string hit HTTP 431. Aborting the request stops generation and frees the sequence.
   */
  send: viewerProcedure.input(sendInput).mutation(({ ctx, input, signal }) => {
    // Only the caller's own conversation; checked before the stream starts so a stranger gets a plain 404.
    getConversation(ctx.db, input.conversationId, signedIn(ctx).user.id);
    return mapStreamErrors(sendChat(ctx.db, input, signal));
  }),
  /** Thumbs up/down (null clears) with optional words, on an answer in the caller's own conversation. */
  feedback: viewerProcedure
    .input(z.object({ messageId: z.string().min(1).max(100), value: z.union([z.literal(1), z.literal(-1), z.null()]), comment: z.string().max(MAX_FEEDBACK_COMMENT_CHARS * 2).nullish() }))
    .mutation(({ ctx, input }) => {
      const userId = signedIn(ctx).user.id;
      return rateAnswer(ctx.db, input, { surface: "chat", allowed: (c) => c.channel === "console" && c.userId === userId });
    }),
});
