import "server-only";
import { z } from "zod";
import { getAssistant } from "../../assistants";
import { diffFields, recordAudit } from "../../auth";
import {
  createApiKey,
  deploymentPatch,
  deploymentSummaries,
  ensureDeployment,
  exportConversations,
  findDeployment,
  listApiKeys,
  listPublicConversations,
  publicConversationMessages,
  revokeApiKey,
  rotateIdentitySecret,
  updateDeployment,
} from "../../edge";
import { createTRPCRouter, editorProcedure, viewerProcedure } from "../trpc";

const byAssistant = z.object({ assistantId: z.string().min(1) });

export const deployRouter = createTRPCRouter({
  /** Every live assistant and whether its widget is on (no secrets). */
  list: viewerProcedure.query(({ ctx }) => deploymentSummaries(ctx.db)),
  /** The deployment (null until `open` created it), its assistant and its API keys. Reads only. */
  get: editorProcedure.input(byAssistant).query(({ ctx, input }) => {
    const assistant = getAssistant(ctx.db, input.assistantId);
    const deployment = findDeployment(ctx.db, assistant.id);
    return {
      assistant: { id: assistant.id, name: assistant.name, color: assistant.color, avatar: assistant.avatar, greeting: assistant.greeting, starterQuestions: assistant.starterQuestions },
      deployment,
      keys: listApiKeys(ctx.db, assistant.id),
    };
  }),
  /** Creates the deployment (disabled, no origins, a fresh identity secret) the first time the Deploy page opens it. */
  open: editorProcedure.input(byAssistant).mutation(({ ctx, input }) => ensureDeployment(ctx.db, input.assistantId)),
  update: editorProcedure.input(byAssistant.extend({ patch: deploymentPatch })).mutation(({ ctx, input }) => {
    const { before, after } = updateDeployment(ctx.db, input.assistantId, input.patch);
    recordAudit(ctx.db, ctx.session, "deployment.update", { type: "assistant", id: input.assistantId }, diffFields(before, input.patch.allowedOrigins ? { ...input.patch, allowedOrigins: after.allowedOrigins } : input.patch));
    return after;
  }),
  rotateSecret: editorProcedure.input(byAssistant).mutation(({ ctx, input }) => {
    const row = rotateIdentitySecret(ctx.db, input.assistantId);
    recordAudit(ctx.db, ctx.session, "deployment.rotate_secret", { type: "assistant", id: input.assistantId });
    return row;
  }),
  createKey: editorProcedure.input(byAssistant.extend({ name: z.string().trim().min(1, "Name the key.").max(80) })).mutation(({ ctx, input }) => {
    ensureDeployment(ctx.db, input.assistantId);
    const created = createApiKey(ctx.db, input.assistantId, input.name, ctx.session?.user.id ?? null);
    recordAudit(ctx.db, ctx.session, "api_key.create", { type: "assistant", id: input.assistantId }, { keyId: created.row.id, name: input.name, prefix: created.row.prefix });
    return created;
  }),
  revokeKey: editorProcedure.input(byAssistant.extend({ keyId: z.string().min(1) })).mutation(({ ctx, input }) => {
    const row = revokeApiKey(ctx.db, input.assistantId, input.keyId);
    recordAudit(ctx.db, ctx.session, "api_key.revoke", { type: "assistant", id: input.assistantId }, { keyId: row.id, name: row.name });
    return row;
  }),
  conversations: editorProcedure.input(byAssistant).query(({ ctx, input }) => listPublicConversations(ctx.db, getAssistant(ctx.db, input.assistantId).id)),
  messages: editorProcedure
    .input(byAssistant.extend({ conversationId: z.string().min(1) }))
    .query(({ ctx, input }) => publicConversationMessages(ctx.db, input.assistantId, input.conversationId)),
  export: editorProcedure.input(byAssistant.extend({ format: z.enum(["csv", "jsonl"]) })).query(({ ctx, input }) => {
    const assistant = getAssistant(ctx.db, input.assistantId);
    const slug = assistant.name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "assistant";
    return { filename: `${slug}-conversations.${input.format}`, content: exportConversations(ctx.db, assistant.id, input.format) };
  }),
});
