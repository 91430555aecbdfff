import "server-only";
import path from "node:path";
import { and, eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { models, type ModelRow } from "../db/schema";
import { AtelierError, notFound } from "../errors";
import { newId } from "../ids";
import { env } from "../env";
import { exportPeftAdapter } from "../forge";
import { getModelRow } from "../models";
import { fileSha256 } from "./hash";
import { requestJson } from "./http";
import { probeEndpoint, probeFailure, type ProbeResult, type RemoteModelInfo } from "./probe";
import { breakerView, forgetNode } from "./router";
import { inferenceNodes, modelServing, nodeModels, NODE_KINDS, type InferenceNodeRow, type NodeHealth, type NodeKind, type NodeModelState } from "./schema";
import { pushToAtelierNode } from "./sync";

/*
 * The registry of inference nodes: registration (probed first: an unreachable, wrong-key or
 * non-OpenAI endpoint is refused with the reason), which model version each node serves under
 * which name (checked to be the same model: an Atelier node reports sha256, llama-server its
 * parameter count), and whether the local engine serves a version too.
 */

export type NodeView = {
  id: string;
  name: string;
  url: string;
  kind: NodeKind;
  hasKey: boolean;
  enabled: boolean;
  health: NodeHealth | null;
  circuit: ReturnType<typeof breakerView>;
  routes: Array<{ modelId: string; modelName: string; remoteName: string; state: NodeModelState; detail: string | null }>;
};

export const NODE_KIND_LABELS: Record<NodeKind, string> = {
  atelier: "Atelier node",
  "llama-server": "llama-server",
  vllm: "vLLM",
  ollama: "Ollama",
  openai: "Other OpenAI-compatible",
};

/** http(s)://host[:port][/prefix] without a trailing slash or /v1. */
export function normalizeNodeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new AtelierError("bad_request:node", `"${raw}" is not a URL; give e.g. http://10.0.0.5:8080.`, { param: "url" });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new AtelierError("bad_request:node", `A node URL must start with http:// or https:// (got ${url.protocol}).`, { param: "url" });
  if (url.username || url.password) throw new AtelierError("bad_request:node", "Put the key in the API key field, not in the URL.", { param: "url" });
  const pathname = url.pathname.replace(/\/+$/, "").replace(/\/v1$/, "");
  return `${url.protocol}//${url.host}${pathname}`;
}

async function probeOrRefuse(url: string, apiKey: string | null, kind: NodeKind): Promise<ProbeResult> {
  try {
    return await probeEndpoint({ url, apiKey }, kind);
  } catch (err) {
    throw new AtelierError("bad_request:node", probeFailure(err, url), { reason: "node_unusable" });
  }
}

export async function registerNode(db: AtelierDb, input: { name: string; url: string; kind: NodeKind; apiKey?: string | null }): Promise<NodeView> {
  if (!NODE_KINDS.includes(input.kind)) throw new AtelierError("bad_request:node", `Unknown kind ${input.kind}.`, { param: "kind" });
  const url = normalizeNodeUrl(input.url);
  const apiKey = input.apiKey?.trim() || null;
  if (input.kind === "atelier" && !apiKey) throw new AtelierError("bad_request:node", "An Atelier node needs its node token (printed by `npx atelier node` at start).", { param: "apiKey" });
  if (db.select({ id: inferenceNodes.id }).from(inferenceNodes).where(eq(inferenceNodes.url, url)).get()) {
    throw new AtelierError("conflict:node", `${url} is already registered.`, { param: "url" });
  }
  const probe = await probeOrRefuse(url, apiKey, input.kind);
  const id = newId();
  db.insert(inferenceNodes)
    .values({ id, name: input.name.trim() || new URL(url).host, url, kind: input.kind, apiKey, health: probe.health })
    .run();
  return nodeView(db, getNodeRow(db, id));
}

export function getNodeRow(db: AtelierDb, id: string): InferenceNodeRow {
  const row = db.select().from(inferenceNodes).where(eq(inferenceNodes.id, id)).get();
  if (!row) throw notFound("node", "Inference node", id);
  return row;
}

export function updateNode(db: AtelierDb, id: string, patch: { name?: string; enabled?: boolean }): NodeView {
  getNodeRow(db, id);
  db.update(inferenceNodes)
    .set({ ...(patch.name?.trim() ? { name: patch.name.trim() } : {}), ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}) })
    .where(eq(inferenceNodes.id, id))
    .run();
  return nodeView(db, getNodeRow(db, id));
}

export function removeNode(db: AtelierDb, id: string): void {
  getNodeRow(db, id);
  db.delete(inferenceNodes).where(eq(inferenceNodes.id, id)).run();
  forgetNode(id);
}

function nodeView(db: AtelierDb, node: InferenceNodeRow): NodeView {
  const routes = db
    .select({ modelId: nodeModels.modelId, modelName: models.name, remoteName: nodeModels.remoteName, state: nodeModels.state, detail: nodeModels.detail })
    .from(nodeModels)
    .innerJoin(models, eq(models.id, nodeModels.modelId))
    .where(eq(nodeModels.nodeId, node.id))
    .all();
  return { id: node.id, name: node.name, url: node.url, kind: node.kind, hasKey: !!node.apiKey, enabled: node.enabled, health: node.health, circuit: breakerView(node.id), routes };
}

export function listNodes(db: AtelierDb): NodeView[] {
  return db.select().from(inferenceNodes).orderBy(inferenceNodes.createdAt).all().map((n) => nodeView(db, n));
}

/** Per model version: served locally or not (absent row: yes). */
export function localServing(db: AtelierDb): Record<string, boolean> {
  return Object.fromEntries(db.select().from(modelServing).all().map((r) => [r.modelId, r.local]));
}

export function setLocalServing(db: AtelierDb, modelId: string, local: boolean): void {
  getModelRow(db, modelId);
  db.insert(modelServing).values({ modelId, local }).onConflictDoUpdate({ target: modelServing.modelId, set: { local } }).run();
}

/** What each kind of engine can take of a model version, said before it is routed there or activated. */
export function engineLimits(kind: NodeKind, row: Pick<ModelRow, "kind">): { ok: boolean; how: string } {
  const lora = row.kind === "lora";
  switch (kind) {
    case "atelier":
      return { ok: true, how: lora ? "downloads the adapter (and its base if missing), sha256-checked, and serves it" : "downloads the GGUF (sha256-checked) unless it already serves the same file" };
    case "llama-server":
      return lora
        ? { ok: true, how: "serves it only if it was started with this adapter (--lora FILE); Atelier then selects it per request. Otherwise serve the merged GGUF (npx atelier forge export)" }
        : { ok: true, how: "serves the GGUF it was started with (-m FILE); Atelier checks it is the same model (parameter count)" };
    case "vllm":
      return lora
        ? { ok: true, how: "loads it as a PEFT adapter (POST /v1/load_lora_adapter; vLLM needs --enable-lora and the exported adapter on its disk: npx atelier forge export --format hf)" }
        : { ok: false, how: "serves Hugging Face checkpoints, not GGUF: export with npx atelier forge export --format hf and start vLLM on it, then register that name" };
    case "ollama":
      return lora
        ? { ok: false, how: "cannot load adapters at run time: create an Ollama model from a Modelfile (FROM base, ADAPTER file) and register its name" }
        : { ok: true, how: "serves models created with `ollama create`; Atelier cannot verify it is the same file" };
    case "openai":
      return { ok: true, how: "serves whatever it serves under that name; Atelier cannot verify it is the same model" };
  }
}

type Verdict = { state: NodeModelState; detail: string; extra?: Record<string, unknown> };

/**
 * Is the model the node serves as `remoteName` the version `row`? Refuses a node that serves a
 * different model under that name; for an Atelier node that lacks it, starts the download.
 */
async function verifyServes(db: AtelierDb, node: InferenceNodeRow, probe: ProbeResult, row: ModelRow, remoteName: string, publicUrl: string | null): Promise<Verdict> {
  const remote = probe.models.find((m) => m.id === remoteName);
  const refuse = (why: string) => {
    throw new AtelierError("conflict:node", `${node.name} serves a different model as "${remoteName}": ${why}. Give the name it serves ${row.name} under.`, { reason: "model_mismatch" });
  };
  const base = row.kind === "lora" && row.baseModelId ? getModelRow(db, row.baseModelId) : null;
  if (node.kind === "atelier") {
    const sha = await fileSha256(db, row.filePath);
    const baseSha = base ? await fileSha256(db, base.filePath) : undefined;
    if (remote) {
      if (remote.sha256 !== sha) refuse(`its file has sha256 ${short(remote.sha256)}, ${row.name} has ${short(sha)}`);
      if (baseSha && remote.baseSha256 !== baseSha) refuse(`its base has sha256 ${short(remote.baseSha256)}, ${row.name}'s base has ${short(baseSha)}`);
      return { state: "ready", detail: "same file (sha256 checked)" };
    }
    if (!publicUrl) throw new AtelierError("precondition:node", "Set ATELIER_PUBLIC_URL (the address nodes reach this Atelier at) so the node can download the model.", { reason: "no_public_url" });
    await pushToAtelierNode(db, node, row, base, remoteName, publicUrl, { sha, baseSha });
    return { state: "syncing", detail: "downloading to the node (sha256-checked)" };
  }
  if (!remote && node.kind === "vllm" && row.kind === "lora" && base) return loadIntoVllm(node, row, base, remoteName);
  if (!remote && node.kind !== "llama-server") {
    throw new AtelierError("bad_request:node", `${node.name} does not serve a model named "${remoteName}" (it serves: ${probe.models.map((m) => m.id).join(", ") || "nothing"}).`, { param: "remoteName" });
  }
  if (node.kind === "llama-server") return verifyLlamaServer(node, probe, row, base, remoteName, remote, refuse);
  if (row.kind === "lora" && node.kind === "ollama") throw new AtelierError("bad_request:node", `Ollama ${engineLimits("ollama", row).how}.`);
  return { state: "ready", detail: `${NODE_KIND_LABELS[node.kind]} reports no hash: served by name` };
}

function verifyLlamaServer(
  node: InferenceNodeRow,
  probe: ProbeResult,
  row: ModelRow,
  base: ModelRow | null,
  remoteName: string,
  remote: RemoteModelInfo | undefined,
  refuse: (why: string) => never,
): Verdict {
  // llama-server lists one model (its -m file, or its --alias); any name reaches it, so the check is the model's shape.
  const served = remote ?? probe.models[0];
  if (!served) throw new AtelierError("bad_request:node", `${node.name} lists no model.`);
  const expected = base ?? row;
  if (served.nParams !== undefined && expected.parameters !== null && served.nParams !== expected.parameters) {
    refuse(`it has ${served.nParams.toLocaleString("en")} parameters, ${expected.name} has ${expected.parameters.toLocaleString("en")}`);
  }
  const adapters = probe.loraAdapters ?? [];
  const off = adapters.map((a) => ({ id: a.id, scale: 0 }));
  if (row.kind !== "lora") {
    // Adapters loaded at start apply to every request unless the request sets their scales: turn them off.
    return { state: "ready", detail: `same parameter count (${served.nParams ?? "?"})`, extra: { model: served.id, ...(adapters.length ? { lora: off } : {}) } };
  }
  const file = path.basename(row.filePath);
  const match = adapters.find((a) => a.path === row.filePath) ?? adapters.find((a) => path.basename(a.path) === file);
  if (!match) {
    throw new AtelierError(
      "precondition:node",
      `${node.name} has no LoRA adapter ${file} loaded (it has: ${adapters.map((a) => path.basename(a.path)).join(", ") || "none"}). Restart llama-server with --lora ${file}, or export a merged GGUF (npx atelier forge export) and serve that.`,
      { reason: "adapter_missing" },
    );
  }
  return {
    state: "ready",
    detail: `LoRA adapter ${match.id} of llama-server (matched by file name; parameter count of the base checked)`,
    extra: { model: served.id, lora: adapters.map((a) => ({ id: a.id, scale: a.id === match.id ? 1 : 0 })) },
  };
}

const short = (sha: string | undefined) => (sha ? sha.slice(0, 12) : "none");

/** Serves `modelId` from a node under `remoteName` (what the node calls it). */
export async function assignModel(db: AtelierDb, input: { nodeId: string; modelId: string; remoteName: string }, publicUrl: string | null): Promise<NodeView> {
  const node = getNodeRow(db, input.nodeId);
  const row = getModelRow(db, input.modelId);
  if (row.status !== "ready") throw new AtelierError("precondition:node", `${row.name} is not ready (${row.status}).`);
  const remoteName = input.remoteName.trim();
  if (!remoteName || remoteName.length > 256) throw new AtelierError("bad_request:node", "Give the name the node serves the model under (1–256 characters).", { param: "remoteName" });
  const limits = engineLimits(node.kind, row);
  if (!limits.ok) throw new AtelierError("bad_request:node", `${NODE_KIND_LABELS[node.kind]} ${limits.how}.`);
  let probe: ProbeResult;
  try {
    probe = await probeEndpoint({ url: node.url, apiKey: node.apiKey }, node.kind);
  } catch (err) {
    throw new AtelierError("bad_request:node", probeFailure(err, node.url), { reason: "node_unusable" });
  }
  const verdict = await verifyServes(db, node, probe, row, remoteName, publicUrl);
  const values = { nodeId: node.id, modelId: row.id, remoteName, state: verdict.state, detail: verdict.detail, extra: verdict.extra ?? null, updatedAt: Date.now() };
  db.insert(nodeModels).values(values).onConflictDoUpdate({ target: [nodeModels.nodeId, nodeModels.modelId], set: values }).run();
  db.update(inferenceNodes).set({ health: probe.health }).where(eq(inferenceNodes.id, node.id)).run();
  return nodeView(db, getNodeRow(db, node.id));
}

export function unassignModel(db: AtelierDb, nodeId: string, modelId: string): void {
  db.delete(nodeModels).where(and(eq(nodeModels.nodeId, nodeId), eq(nodeModels.modelId, modelId))).run();
}

/**
 * vLLM takes LoRAs at run time as PEFT adapters from its own disk: Atelier exports the adapter
 * (forge's HF export) under <data>/exports/<model id>/peft and asks vLLM to load that path, which
 * works when vLLM sees the same filesystem (same machine, or a shared mount at the same path).
 */
async function loadIntoVllm(node: InferenceNodeRow, row: ModelRow, base: ModelRow, remoteName: string): Promise<Verdict> {
  const dir = path.join(env().ATELIER_DATA_DIR, "exports", row.id, "peft");
  await exportPeftAdapter({ base: base.filePath, lora: row.filePath, out: dir, baseName: base.name });
  try {
    await requestJson({ url: node.url, apiKey: node.apiKey }, "v1/load_lora_adapter", { json: { lora_name: remoteName, lora_path: dir }, timeoutMs: 60_000 });
  } catch (err) {
    throw new AtelierError(
      "upstream:node",
      `${node.name} did not load the adapter: ${(err as Error).message}. vLLM needs --enable-lora (and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True) and must see ${dir} on its disk.`,
      { reason: "adapter_load_failed" },
    );
  }
  return { state: "ready", detail: `loaded into vLLM as a PEFT adapter from ${dir}` };
}
