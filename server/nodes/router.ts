import "server-only";
import { and, eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { env } from "../env";
import { CircuitBreaker, type BreakerView } from "./breaker";
import { inferenceNodes, modelServing, nodeModels, type InferenceNodeRow, type NodeModelRow } from "./schema";

/*
 * Which node answers a turn. In memory, per process: each node's circuit breaker and how many
 * turns this process has in flight on it; which node a conversation last used. The database
 * says which nodes serve which model version and what the last health check saw.
 */

type NodeRuntime = { breaker: CircuitBreaker; outstanding: number };

const globalForNodes = globalThis as unknown as { atelierNodeRuntime?: Map<string, NodeRuntime>; atelierSticky?: Map<string, string> };
const runtimes = (globalForNodes.atelierNodeRuntime ??= new Map());
/** conversation id → node id, oldest first (a Map keeps insertion order), bounded. */
const sticky = (globalForNodes.atelierSticky ??= new Map());
const MAX_STICKY = 10_000;

export function runtimeOf(nodeId: string): NodeRuntime {
  let r = runtimes.get(nodeId);
  if (!r) {
    r = {
      breaker: new CircuitBreaker(
        () => env().ATELIER_NODE_BREAKER_FAILURES,
        () => env().ATELIER_NODE_BREAKER_COOLDOWN_S * 1000,
      ),
      outstanding: 0,
    };
    runtimes.set(nodeId, r);
  }
  return r;
}

export function breakerView(nodeId: string): BreakerView & { outstanding: number } {
  const r = runtimeOf(nodeId);
  return { ...r.breaker.view(), outstanding: r.outstanding };
}

export function forgetNode(nodeId: string): void {
  runtimes.delete(nodeId);
  for (const [conv, node] of sticky) if (node === nodeId) sticky.delete(conv);
}

export type Candidate = { node: InferenceNodeRow; route: NodeModelRow };

/** Enabled nodes that serve `modelId` and are ready for it (health and circuit aside). */
export function routesFor(db: AtelierDb, modelId: string): Candidate[] {
  return db
    .select({ node: inferenceNodes, route: nodeModels })
    .from(nodeModels)
    .innerJoin(inferenceNodes, eq(nodeModels.nodeId, inferenceNodes.id))
    .where(and(eq(nodeModels.modelId, modelId), eq(nodeModels.state, "ready"), eq(inferenceNodes.enabled, true)))
    .all();
}

/** Does this process's own engine serve the version too (the default)? */
export function servesLocally(db: AtelierDb, modelId: string): boolean {
  return db.select({ local: modelServing.local }).from(modelServing).where(eq(modelServing.modelId, modelId)).get()?.local ?? true;
}

/** Capacity of a node: its slots where it reports them, else 1 (each node counts the same). */
const capacityOf = (node: InferenceNodeRow) => Math.max(1, node.health?.slots?.total ?? 1);

/**
 * The node for a turn: the conversation's previous node while it is healthy (its prompt cache
 * holds the earlier turns), else the least loaded — turns this process has in flight there over
 * its slots, fewer busy slots as reported, then lower latency. Nodes in `exclude` (already
 * failed for this turn), with an open circuit or a failed last health check are skipped.
 */
export function pickNode(candidates: Candidate[], affinity: string | null, exclude: ReadonlySet<string>): Candidate | null {
  const usable = candidates.filter((c) => !exclude.has(c.node.id) && c.node.health?.ok !== false && runtimeOf(c.node.id).breaker.allows());
  if (usable.length === 0) return null;
  if (affinity) {
    const previous = sticky.get(affinity);
    const mine = usable.find((c) => c.node.id === previous);
    if (mine) return mine;
  }
  const load = (c: Candidate) => (runtimeOf(c.node.id).outstanding + 1) / capacityOf(c.node);
  const busy = (c: Candidate) => (c.node.health?.slots ? c.node.health.slots.busy / capacityOf(c.node) : 0);
  return usable.reduce((best, c) => {
    const d = load(c) - load(best) || busy(c) - busy(best) || (c.node.health?.latencyMs ?? Infinity) - (best.node.health?.latencyMs ?? Infinity);
    return d < 0 ? c : best;
  });
}

export function rememberNode(affinity: string | null | undefined, nodeId: string): void {
  if (!affinity) return;
  sticky.delete(affinity);
  sticky.set(affinity, nodeId);
  if (sticky.size > MAX_STICKY) sticky.delete(sticky.keys().next().value!);
}

export function forgetAffinity(affinity: string | null | undefined): void {
  if (affinity) sticky.delete(affinity);
}
