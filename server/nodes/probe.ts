import "server-only";
import { requestJson, UpstreamError, type Endpoint } from "./http";
import type { NodeHealth, NodeKind } from "./schema";

/*
 * What an endpoint is and what it serves, asked over HTTP: the OpenAI model list (every kind),
 * free slots where the engine reports them (an Atelier node's /node/health, llama-server's
 * /slots), and for the identity check what each engine says about its models (an Atelier node:
 * sha256 of the file; llama-server: parameter count, vocabulary and width).
 */

export type RemoteModelInfo = {
  id: string;
  /** Atelier nodes: sha256 of the GGUF (for a LoRA: of the adapter) and of its base. */
  sha256?: string;
  baseSha256?: string;
  /** llama-server's /v1/models meta. */
  nParams?: number;
  nVocab?: number;
  nEmbd?: number;
};

/** An Atelier node's report on a model it was asked to fetch. */
export type NodeSyncState = { name: string; state: "downloading" | "ready" | "error"; detail: string | null; bytes: number; totalBytes: number };

export type ProbeResult = {
  health: NodeHealth;
  models: RemoteModelInfo[];
  /** llama-server: the adapters it loaded (id, path). */
  loraAdapters: Array<{ id: number; path: string; scale: number }> | null;
  /** Atelier nodes: artifacts being fetched. */
  syncs: NodeSyncState[];
};

const PROBE_TIMEOUT_MS = 5000;

/** Turns a probe failure into the sentence shown at registration and on the Models page. */
export function probeFailure(err: unknown, url: string): string {
  if (err instanceof UpstreamError) {
    if (err.status === 401 || err.status === 403) return `${url} refused the key (HTTP ${err.status}); check the API key or node token.`;
    if (err.status === 404) return `${url} has no /v1/models: it is not an OpenAI-compatible endpoint (check the URL; give it without /v1).`;
    if (/not JSON|no `data` list/.test(err.message)) return `${url} is not an OpenAI-compatible endpoint: /v1/models did not answer an OpenAI model list.`;
    if (err.status !== null) return `${url} answered /v1/models with ${err.message}.`;
    return err.message.startsWith("cannot reach") || err.message.includes("did not answer") ? `${err.message.replace(/\.$/, "")}.` : `${url}: ${err.message}.`;
  }
  return `${url}: ${(err as Error).message}`;
}

export async function probeEndpoint(endpoint: Endpoint, kind: NodeKind): Promise<ProbeResult> {
  const checkedAt = Date.now();
  const listed = await requestJson(endpoint, "v1/models", { timeoutMs: PROBE_TIMEOUT_MS, maxBytes: 4 << 20 });
  const data = (listed.body as { data?: unknown })?.data;
  if (!Array.isArray(data)) throw new UpstreamError("not JSON: /v1/models has no `data` list", false, null);
  const models: RemoteModelInfo[] = [];
  for (const m of data.slice(0, 1000)) {
    if (!m || typeof m !== "object" || typeof (m as { id?: unknown }).id !== "string") continue;
    const item = m as { id: string; sha256?: unknown; base_sha256?: unknown; meta?: { n_params?: unknown; n_vocab?: unknown; n_embd?: unknown } };
    models.push({
      id: item.id,
      ...(typeof item.sha256 === "string" ? { sha256: item.sha256 } : {}),
      ...(typeof item.base_sha256 === "string" ? { baseSha256: item.base_sha256 } : {}),
      ...(typeof item.meta?.n_params === "number" ? { nParams: item.meta.n_params } : {}),
      ...(typeof item.meta?.n_vocab === "number" ? { nVocab: item.meta.n_vocab } : {}),
      ...(typeof item.meta?.n_embd === "number" ? { nEmbd: item.meta.n_embd } : {}),
    });
  }
  let slots: NodeHealth["slots"] = null;
  let loraAdapters: ProbeResult["loraAdapters"] = null;
  let syncs: NodeSyncState[] = [];
  if (kind === "atelier") {
    const h = (await requestJson(endpoint, "node/health", { timeoutMs: PROBE_TIMEOUT_MS })).body as { slots?: { total?: number; busy?: number }; syncs?: NodeSyncState[] };
    if (typeof h?.slots?.total === "number") slots = { total: h.slots.total, busy: Number(h.slots.busy ?? 0) };
    if (Array.isArray(h?.syncs)) syncs = h.syncs.slice(0, 1000);
  } else if (kind === "llama-server") {
    // /slots is on by default; a server started with --no-slots answers 501, which is fine.
    const s = await requestJson(endpoint, "slots", { timeoutMs: PROBE_TIMEOUT_MS }).catch(() => null);
    if (s && Array.isArray(s.body)) slots = { total: s.body.length, busy: s.body.filter((x: { is_processing?: boolean }) => x?.is_processing).length };
    const l = await requestJson(endpoint, "lora-adapters", { timeoutMs: PROBE_TIMEOUT_MS }).catch(() => null);
    if (l && Array.isArray(l.body)) loraAdapters = l.body.filter((a: { id?: unknown }) => typeof a?.id === "number").map((a: { id: number; path?: string; scale?: number }) => ({ id: a.id, path: String(a.path ?? ""), scale: Number(a.scale ?? 0) }));
  }
  return {
    health: { ok: true, checkedAt, latencyMs: Math.round(listed.ms * 10) / 10, models: models.map((m) => m.id), slots, error: null },
    models,
    loraAdapters,
    syncs,
  };
}
