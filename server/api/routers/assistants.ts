import "server-only";
import { z } from "zod";
import {
  assistantHistory,
  createAssistant,
  defaultSettings,
  duplicateAssistant,
  getAssistantDetail,
  listAssistants,
  setArchived,
  setDefaultAssistant,
  updateAssistant,
  assistantPatchSchema,
  assistantSettingsSchema,
} from "../../assistants";
import { previewPrompt, tryIt, tryItInput } from "../../chat";
import { listCollections } from "../../knowledge";
import { createTRPCRouter, editorProcedure, mapStreamErrors, viewerProcedure } from "../trpc";

const id = z.string().min(1).max(100);

export const assistantsRouter = createTRPCRouter({
  /** Active assistants by default (the chat picker); the assistants page also asks for archived ones. */
  list: viewerProcedure
    .input(z.object({ status: z.enum(["active", "archived", "all"]).default("active") }).optional())
    .query(({ ctx, input }) => listAssistants(ctx.db, input?.status ?? "active")),
  get: viewerProcedure.input(z.object({ id })).query(({ ctx, input }) => getAssistantDetail(ctx.db, input.id)),
  /** What the "New assistant" form starts from. */
  defaults: viewerProcedure.query(({ ctx }) => defaultSettings(ctx.db)),
  history: viewerProcedure.input(z.object({ id })).query(({ ctx, input }) => assistantHistory(ctx.db, input.id)),
  /** Collections an assistant may use (the knowledge page manages them). */
  collections: viewerProcedure.query(({ ctx }) =>
    listCollections(ctx.db).map((c) => ({ id: c.id, name: c.name, description: c.description, documentCount: c.documentCount })),
  ),

  create: editorProcedure.input(assistantSettingsSchema).mutation(({ ctx, input }) => createAssistant(ctx.db, ctx.session, input)),
  update: editorProcedure
    .input(z.object({ id, patch: assistantPatchSchema }))
    .mutation(({ ctx, input }) => updateAssistant(ctx.db, ctx.session, input.id, input.patch)),
  duplicate: editorProcedure.input(z.object({ id })).mutation(({ ctx, input }) => duplicateAssistant(ctx.db, ctx.session, input.id)),
  archive: editorProcedure.input(z.object({ id })).mutation(({ ctx, input }) => setArchived(ctx.db, ctx.session, input.id, true)),
  restore: editorProcedure.input(z.object({ id })).mutation(({ ctx, input }) => setArchived(ctx.db, ctx.session, input.id, false)),
  setDefault: editorProcedure.input(z.object({ id })).mutation(({ ctx, input }) => setDefaultAssistant(ctx.db, ctx.session, input.id)),

  /**
   * Streams an answer under unsaved settings; persists nothing. A mutation (POST) like chat.send:
   * a draft system prompt can be far longer than a GET query string allows.
   */
  tryIt: editorProcedure.input(tryItInput).mutation(async function* ({ ctx, input, signal }) {
    yield* mapStreamErrors(tryIt(ctx.db, input, signal));
  }),
  /** The exact prompt text the model would see for a draft (chat template applied). */
  previewPrompt: editorProcedure.input(tryItInput).mutation(({ ctx, input }) => previewPrompt(ctx.db, input)),
});
