import "server-only";
import { assistantsRouter } from "./routers/assistants";
import { authRouter } from "./routers/auth";
import { chatRouter } from "./routers/chat";
import { conversationsRouter } from "./routers/conversations";
import { knowledgeRouter } from "./routers/knowledge";
import { loopRouter } from "./routers/loop";
import { deployRouter } from "./routers/deploy";
import { evalsRouter } from "./routers/evals";
import { modelsRouter } from "./routers/models";
import { nodesRouter } from "./routers/nodes";
import { studioRouter } from "./routers/studio";
import { systemRouter } from "./routers/system";
import { usersRouter } from "./routers/users";
import { createCallerFactory, createTRPCRouter } from "./trpc";

export const appRouter = createTRPCRouter({
  system: systemRouter,
  assistants: assistantsRouter,
  conversations: conversationsRouter,
  chat: chatRouter,
  models: modelsRouter,
  auth: authRouter,
  users: usersRouter,
  knowledge: knowledgeRouter,
  deploy: deployRouter,
  studio: studioRouter,
  nodes: nodesRouter,
  evals: evalsRouter,
  loop: loopRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
