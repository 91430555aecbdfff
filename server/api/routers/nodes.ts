import "server-only";
import { z } from "zod";
import { env } from "../../env";
import {
  activationPlan,
  assignModel,
  checkAllNodes,
  checkNode,
  getNodeRow,
  listNodes,
  localServing,
  NODE_KINDS,
  registerNode,
  removeNode,
  setLocalServing,
  unassignModel,
  updateNode,
} from "../../nodes";
import { adminProcedure, createTRPCRouter, viewerProcedure } from "../trpc";

// Inference nodes (server/nodes): registration, which model versions they serve, health. Listing
// is for every signed-in user (no secrets in it); changes are the admin's.

const idInput = z.object({ id: z.string().min(1).max(64) });

/** Where nodes download model versions from: ATELIER_PUBLIC_URL, else the address the admin's browser used. */
const publicUrl = (origin: string | null) => env().ATELIER_PUBLIC_URL ?? origin ?? null;

export const nodesRouter = createTRPCRouter({
  list: viewerProcedure.query(({ ctx }) => ({ nodes: listNodes(ctx.db), localServing: localServing(ctx.db), kinds: NODE_KINDS })),
  register: adminProcedure
    .input(
      z.object({
        name: z.string().trim().max(100).default(""),
        url: z.string().trim().min(1, "Give the node's URL.").max(2000),
        kind: z.enum(NODE_KINDS),
        apiKey: z.string().trim().max(1000).nullish(),
      }),
    )
    .mutation(({ ctx, input }) => registerNode(ctx.db, input)),
  update: adminProcedure
    .input(idInput.extend({ name: z.string().trim().max(100).optional(), enabled: z.boolean().optional() }))
    .mutation(({ ctx, input }) => updateNode(ctx.db, input.id, input)),
  remove: adminProcedure.input(idInput).mutation(({ ctx, input }) => {
    removeNode(ctx.db, input.id);
    return { id: input.id };
  }),
  /** Serve a model version from a node, under the name the node knows it by. */
  assign: adminProcedure
    .input(z.object({ nodeId: z.string().min(1).max(64), modelId: z.string().min(1).max(64), remoteName: z.string().trim().min(1).max(256) }))
    .mutation(({ ctx, input }) => assignModel(ctx.db, input, publicUrl(ctx.origin))),
  unassign: adminProcedure.input(z.object({ nodeId: z.string().min(1).max(64), modelId: z.string().min(1).max(64) })).mutation(({ ctx, input }) => {
    unassignModel(ctx.db, input.nodeId, input.modelId);
    return { ok: true };
  }),
  /** Whether this server's own engine also serves the version (the fallback when no node can). */
  setLocal: adminProcedure.input(z.object({ modelId: z.string().min(1).max(64), local: z.boolean() })).mutation(({ ctx, input }) => {
    setLocalServing(ctx.db, input.modelId, input.local);
    return { ok: true };
  }),
  /** Health-check now (one node, or all). */
  check: adminProcedure.input(z.object({ id: z.string().min(1).max(64).optional() })).mutation(async ({ ctx, input }) => {
    if (input.id) await checkNode(ctx.db, getNodeRow(ctx.db, input.id));
    else await checkAllNodes(ctx.db);
    return listNodes(ctx.db);
  }),
  /** Before activating a version: what each node serving the assistant's model can do with it. */
  activationPlan: viewerProcedure
    .input(z.object({ currentModelId: z.string().max(64).nullable(), modelId: z.string().min(1).max(64) }))
    .query(({ ctx, input }) => activationPlan(ctx.db, input.currentModelId, input.modelId)),
});
