import "server-only";
import { assistantsRouter } from "./routers/assistants";
import { chatRouter } from "./routers/chat";
import { conversationsRouter } from "./routers/conversations";
import { modelsRouter } from "./routers/models";
import { studioRouter } from "./routers/studio";
import { systemRouter } from "./routers/system";
import { createCallerFactory, createTRPCRouter } from "./trpc";

export const appRouter = createTRPCRouter({
  system: systemRouter,
  assistants: assistantsRouter,
  conversations: conversationsRouter,
  chat: chatRouter,
  models: modelsRouter,
  studio: studioRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
