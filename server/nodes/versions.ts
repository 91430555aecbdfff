import "server-only";
import { and, eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { getModelRow } from "../models";
import { assignModel, engineLimits, NODE_KIND_LABELS } from "./registry";
import { inferenceNodes, nodeModels } from "./schema";

/*
 * Trained versions reach the nodes: activating a version on an assistant whose model is served by
 * nodes makes it available on those nodes (Atelier nodes download it; llama-server selects the
 * adapter it was started with; vLLM loads the PEFT export). What an engine cannot take is said
 * before activation (`activationPlan`), and after it the turn falls back to the local engine.
 */

export type NodePlanItem = { nodeId: string; nodeName: string; kind: string; ok: boolean; already: boolean; how: string };

function nodesServing(db: AtelierDb, modelId: string) {
  return db
    .select({ node: inferenceNodes, route: nodeModels })
    .from(nodeModels)
    .innerJoin(inferenceNodes, eq(inferenceNodes.id, nodeModels.nodeId))
    .where(eq(nodeModels.modelId, modelId))
    .all();
}

/** For each node serving the assistant's current model: can it take the candidate, and how. */
export function activationPlan(db: AtelierDb, currentModelId: string | null, candidateModelId: string): NodePlanItem[] {
  if (!currentModelId) return [];
  const candidate = getModelRow(db, candidateModelId);
  return nodesServing(db, currentModelId).map(({ node }) => {
    const already = !!db.select({ n: nodeModels.nodeId }).from(nodeModels).where(and(eq(nodeModels.nodeId, node.id), eq(nodeModels.modelId, candidateModelId))).get();
    const limits = engineLimits(node.kind, candidate);
    return { nodeId: node.id, nodeName: node.name, kind: NODE_KIND_LABELS[node.kind], ok: limits.ok, already, how: limits.how };
  });
}

export type CarryResult = { nodeId: string; nodeName: string; ok: boolean; message: string };

/** After activation: serve the new version on the nodes that served the previous one. */
export async function carryVersionToNodes(db: AtelierDb, previousModelId: string | null, modelId: string, publicUrl: string | null): Promise<CarryResult[]> {
  if (!previousModelId || previousModelId === modelId) return [];
  const results: CarryResult[] = [];
  for (const { node, route } of nodesServing(db, previousModelId)) {
    if (db.select({ n: nodeModels.nodeId }).from(nodeModels).where(and(eq(nodeModels.nodeId, node.id), eq(nodeModels.modelId, modelId))).get()) {
      results.push({ nodeId: node.id, nodeName: node.name, ok: true, message: "already serves it" });
      continue;
    }
    // Atelier nodes and vLLM adapters get a name of our own; llama-server keeps its model's name (the adapter is chosen per request).
    const remoteName = node.kind === "llama-server" ? route.remoteName : `atelier-${modelId}`;
    try {
      const view = await assignModel(db, { nodeId: node.id, modelId, remoteName }, publicUrl);
      const r = view.routes.find((x) => x.modelId === modelId);
      results.push({ nodeId: node.id, nodeName: node.name, ok: true, message: r?.detail ?? "serves it" });
    } catch (err) {
      results.push({ nodeId: node.id, nodeName: node.name, ok: false, message: `${(err as Error).message} Until then this version is answered locally.` });
    }
  }
  return results;
}
