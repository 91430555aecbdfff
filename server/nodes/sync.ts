import "server-only";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import { Readable } from "node:stream";
import { eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import type { ModelRow } from "../db/schema";
import { AtelierError } from "../errors";
import { getModelRow } from "../models";
import { requestJson } from "./http";
import { inferenceNodes, type InferenceNodeRow } from "./schema";

/*
 * Model versions reach Atelier nodes by download: this Atelier tells the node what to fetch (a
 * URL signed with the node's own token, valid for a day, plus sha256 and size); the node fetches
 * it with Range requests (a broken download continues where it stopped), checks the sha256
 * (a mismatch is discarded and fetched again) and then serves it under the given name.
 */

const URL_TTL_S = 24 * 3600;

export type ArtifactRole = "model" | "base";

function signature(secret: string, modelId: string, role: ArtifactRole, nodeId: string, exp: number): string {
  return createHmac("sha256", secret).update(`${modelId}\n${role}\n${nodeId}\n${exp}`).digest("base64url");
}

export function signedArtifactUrl(publicUrl: string, node: InferenceNodeRow, modelId: string, role: ArtifactRole): string {
  const exp = Math.floor(Date.now() / 1000) + URL_TTL_S;
  const sig = signature(node.apiKey ?? "", modelId, role, node.id, exp);
  return `${publicUrl.replace(/\/+$/, "")}/api/nodes/artifacts/${encodeURIComponent(modelId)}/${role}?node=${encodeURIComponent(node.id)}&exp=${exp}&sig=${sig}`;
}

export async function pushToAtelierNode(
  db: AtelierDb,
  node: InferenceNodeRow,
  row: ModelRow,
  base: ModelRow | null,
  remoteName: string,
  publicUrl: string,
  hashes: { sha: string; baseSha?: string },
): Promise<void> {
  const file = async (r: ModelRow, role: ArtifactRole, sha256: string) => ({ url: signedArtifactUrl(publicUrl, node, row.id, role), sha256, bytes: (await fs.stat(r.filePath)).size });
  const body = {
    name: remoteName,
    kind: row.kind === "lora" ? "lora" : "model",
    file: await file(row, "model", hashes.sha),
    ...(base && hashes.baseSha ? { base: await file(base, "base", hashes.baseSha) } : {}),
  };
  try {
    await requestJson({ url: node.url, apiKey: node.apiKey }, "node/models", { json: body, timeoutMs: 10_000 });
  } catch (err) {
    throw new AtelierError("upstream:node", `${node.name} did not accept the download of ${row.name}: ${(err as Error).message}`, { reason: "sync_refused" });
  }
}

/**
 * GET /api/nodes/artifacts/<modelId>/<model|base>?node&exp&sig: the file, with Range support.
 * Only a URL this Atelier signed with that node's token, unexpired, is served.
 */
export async function serveArtifact(db: AtelierDb, req: Request, modelId: string, role: string): Promise<Response> {
  const url = new URL(req.url);
  const nodeId = url.searchParams.get("node") ?? "";
  const exp = Number(url.searchParams.get("exp"));
  const sig = url.searchParams.get("sig") ?? "";
  const node = db.select().from(inferenceNodes).where(eq(inferenceNodes.id, nodeId)).get();
  if (!node || !node.apiKey || (role !== "model" && role !== "base") || !Number.isInteger(exp)) throw new AtelierError("unauthorized:node", "Not a valid artifact link.");
  const expected = Buffer.from(signature(node.apiKey, modelId, role, node.id, exp));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new AtelierError("unauthorized:node", "Not a valid artifact link.");
  if (exp < Date.now() / 1000) throw new AtelierError("unauthorized:node", "This artifact link has expired; assign the model again.");
  const row = getModelRow(db, modelId);
  const target = role === "base" ? (row.baseModelId ? getModelRow(db, row.baseModelId) : null) : row;
  if (!target) throw new AtelierError("not_found:node", `${row.name} has no base model.`);
  const size = (await fs.stat(target.filePath)).size;
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.get("range") ?? "");
  const headers: Record<string, string> = { "content-type": "application/octet-stream", "accept-ranges": "bytes", "cache-control": "no-store" };
  if (range) {
    const start = Number(range[1]);
    const end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    if (start >= size || start > end) return new Response(null, { status: 416, headers: { ...headers, "content-range": `bytes */${size}` } });
    const body = Readable.toWeb(createReadStream(target.filePath, { start, end })) as ReadableStream<Uint8Array>;
    return new Response(body, { status: 206, headers: { ...headers, "content-length": String(end - start + 1), "content-range": `bytes ${start}-${end}/${size}` } });
  }
  const body = Readable.toWeb(createReadStream(target.filePath)) as ReadableStream<Uint8Array>;
  return new Response(body, { headers: { ...headers, "content-length": String(size) } });
}
