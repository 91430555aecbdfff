import "server-only";
import { sendChat, sendInput } from "../../chat/send";
import { createTRPCRouter, mapStreamErrors, viewerProcedure } from "../trpc";

export const chatRouter = createTRPCRouter({
  /**
   * Streams one answer. A mutation (POST) rather than a subscription: long prompts in a GET
   * query string hit HTTP 431. Aborting the request stops generation and frees the sequence.
   */
  send: viewerProcedure.input(sendInput).mutation(async function* ({ ctx, input, signal }) {
    yield* mapStreamErrors(sendChat(ctx.db, input, signal));
  }),
});
