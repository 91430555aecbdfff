import "server-only";
import { signedIn } from "../../auth";
import { getConversation, sendChat, sendInput } from "../../chat";
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
});
