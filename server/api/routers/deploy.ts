import "server-only";
import { asc, desc, isNull } from "drizzle-orm";
import { z } from "zod";
import { diffFields, recordAudit } from "../../auth/audit";
import { assistants } from "../../db/schema";
import { deploymentPatch, ensureDeployment, rotateIdentitySecret, updateDeployment } from "../../widget/deployments";
import { createApiKey, listApiKeys, revokeApiKey } from "../../widget/keys";
import { exportConversations, listPublicConversations, publicConversationMessages } from "../../widget/owner";
import { deployments } from "../../widget/schema";
import { getAssistant } from "../../chat/conversations";
import { createTRPCRouter, editorProcedure, viewerProcedure } from "../trpc";

const byAssistant = z.object({ assistantId: z.string().min(1) });

export const deployRouter = createTRPCRouter({
  /** Every live assistant and whether its widget is on (no secrets). */
  list: viewerProcedure.query(({ ctx }) => {
    const deployed = new Map(ctx.db.select().from(deployments).all().map((d) => [d.assistantId, d]));
    return ctx.db
      .select({ id: assistants.id, name: assistants.name, color: assistants.color, avatar: assistants.avatar })
      .from(assistants)
      .where(isNull(assistants.archivedAt))
      .orderBy(desc(assistants.isDefault), asc(assistants.createdAt))
      .all()
      .map((a) => {
        const d = deployed.get(a.id);
        return { ...a, enabled: d?.enabled ?? false, publicId: d?.publicId ?? null, origins: d ? (d.anyOrigin ? "any" : d.allowedOrigins.length) : 0 };
      });
  }),
  /** The deployment (created disabled on first visit), its assistant and its API keys. */
  get: editorProcedure.input(byAssistant).query(({ ctx, input }) => {
    const assistant = getAssistant(ctx.db, input.assistantId);
    const deployment = ensureDeployment(ctx.db, assistant.id);
    return {
      assistant: { id: assistant.id, name: assistant.name, color: assistant.color, avatar: assistant.avatar, greeting: assistant.greeting, starterQuestions: assistant.starterQuestions },
      deployment,
      keys: listApiKeys(ctx.db, assistant.id),
    };
  }),
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
