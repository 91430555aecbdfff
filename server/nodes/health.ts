import "server-only";
import { and, eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { env } from "../env";
import { getModelRow } from "../models";
import { fileSha256 } from "./hash";
import { probeEndpoint, probeFailure, type ProbeResult } from "./probe";
import { runtimeOf } from "./router";
import { inferenceNodes, nodeModels, type InferenceNodeRow } from "./schema";

/*
 * Health checks: every ATELIER_NODE_HEALTH_S each enabled node is probed (models, slots,
 * latency) and the result stored for the router and the Models page. A node whose circuit is
 * open is re-probed once its cooldown is over; models still downloading to an Atelier node turn
 * ready when the node lists them with the expected sha256.
 */

export async function checkNode(db: AtelierDb, node: InferenceNodeRow): Promise<void> {
  const breaker = runtimeOf(node.id).breaker;
  let probe: ProbeResult;
  try {
    probe = await probeEndpoint({ url: node.url, apiKey: node.apiKey }, node.kind);
  } catch (err) {
    const error = probeFailure(err, node.url);
    breaker.probeFailed(error);
    db.update(inferenceNodes)
      .set({ health: { ok: false, checkedAt: Date.now(), latencyMs: null, models: node.health?.models ?? [], slots: null, error } })
      .where(eq(inferenceNodes.id, node.id))
      .run();
    return;
  }
  if (breaker.dueForProbe()) breaker.probeSucceeded();
  db.update(inferenceNodes).set({ health: probe.health }).where(eq(inferenceNodes.id, node.id)).run();
  await settleSyncs(db, node, probe);
}

/** Routes still "syncing" to this node become ready (same sha256) or error (the node's reason). */
async function settleSyncs(db: AtelierDb, node: InferenceNodeRow, probe: ProbeResult): Promise<void> {
  const syncing = db.select().from(nodeModels).where(and(eq(nodeModels.nodeId, node.id), eq(nodeModels.state, "syncing"))).all();
  for (const route of syncing) {
    const set = (state: "ready" | "syncing" | "error", detail: string) =>
      db.update(nodeModels).set({ state, detail, updatedAt: Date.now() }).where(and(eq(nodeModels.nodeId, node.id), eq(nodeModels.modelId, route.modelId))).run();
    const listed = probe.models.find((m) => m.id === route.remoteName);
    if (listed) {
      let row;
      try {
        row = getModelRow(db, route.modelId);
      } catch {
        continue;
      }
      const sha = await fileSha256(db, row.filePath).catch(() => null);
      if (sha && listed.sha256 === sha) set("ready", "downloaded to the node (sha256 checked)");
      else set("error", `the node lists "${route.remoteName}" with sha256 ${listed.sha256?.slice(0, 12) ?? "none"}, not ${sha?.slice(0, 12) ?? "?"}`);
      continue;
    }
    const sync = probe.syncs.find((s) => s.name === route.remoteName);
    if (sync?.state === "error") set("error", sync.detail ?? "the download failed");
    else if (sync?.state === "downloading") set("syncing", `downloading to the node: ${mb(sync.bytes)} of ${mb(sync.totalBytes)}`);
  }
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

export async function checkAllNodes(db: AtelierDb): Promise<void> {
  const nodes = db.select().from(inferenceNodes).where(eq(inferenceNodes.enabled, true)).all();
  await Promise.all(nodes.map((n) => checkNode(db, n).catch((err: unknown) => console.error(`[nodes] health check of ${n.name} failed:`, err))));
}

const globalForHealth = globalThis as unknown as { atelierNodeHealth?: WeakMap<AtelierDb, NodeJS.Timeout> };

/** Starts the periodic checks for this database (once; the timer does not keep the process alive). */
export function startNodeHealth(db: AtelierDb): void {
  const timers = (globalForHealth.atelierNodeHealth ??= new WeakMap());
  if (timers.has(db)) return;
  let running = false;
  const tick = () => {
    if (running) return;
    running = true;
    void checkAllNodes(db).finally(() => (running = false));
  };
  const timer = setInterval(tick, env().ATELIER_NODE_HEALTH_S * 1000);
  timer.unref();
  timers.set(db, timer);
}

export function stopNodeHealth(db: AtelierDb): void {
  const timer = globalForHealth.atelierNodeHealth?.get(db);
  if (timer) clearInterval(timer);
  globalForHealth.atelierNodeHealth?.delete(db);
}
