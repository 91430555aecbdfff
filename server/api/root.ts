import "server-only";
import { assistantsRouter } from "./routers/assistants";
import { chatRouter } from "./routers/chat";
import { conversationsRouter } from "./routers/conversations";
import { deployRouter } from "./routers/deploy";
import { modelsRouter } from "./routers/models";
import { systemRouter } from "./routers/system";
import { createCallerFactory, createTRPCRouter } from "./trpc";

export const appRouter = createTRPCRouter({
  system: systemRouter,
  assistants: assistantsRouter,
  conversations: conversationsRouter,
  chat: chatRouter,
  models: modelsRouter,
  deploy: deployRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
