import "server-only";
import dns from "node:dns/promises";
import path from "node:path";
import { eq } from "drizzle-orm";
import { createModelDownloader } from "node-llama-cpp";
import type { AtelierDb } from "../db/client";
import { models } from "../db/schema";
import { env } from "../env";
import { AtelierError } from "../errors";
import { newId } from "../ids";
import { inspectGguf } from "../llm/inspect";
import { factsToColumns, toModelView, type ModelView } from "./registry";

export type DownloadEvent =
  | { type: "progress"; downloadedBytes: number; totalBytes: number | null }
  | { type: "done"; model: ModelView };

const HF_URI = /^hf:[\w.-]+\/[\w.-]+(?:\/[^\s]+\.gguf|:[\w.-]+)?$/;

export function parseHfUri(uri: string): string {
  const trimmed = uri.trim();
  if (!HF_URI.test(trimmed)) {
    throw new AtelierError("bad_request:model", `"${uri}" is not a Hugging Face model URI. Use hf:owner/repo/file.gguf (or hf:owner/repo:Q4_K_M).`);
  }
  return trimmed;
}

/** Fails fast and clearly when the hub cannot be reached, instead of letting a download hang. */
export async function assertHubReachable(host = "huggingface.co"): Promise<void> {
  const timeoutMs = env().ATELIER_NETWORK_TIMEOUT_S * 1000;
  const unreachable = (why: string) =>
    new AtelierError(
      "precondition:model",
      `The network is unreachable: cannot reach ${host} (${why}). Copy the GGUF file onto this machine and add it as a local model instead.`,
    );
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      dns.lookup(host),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs / 1000} s`)), timeoutMs))),
    ]);
  } catch (err) {
    throw unreachable((err as Error).message);
  } finally {
    clearTimeout(timer);
  }
  const controller = AbortSignal.timeout(timeoutMs);
  try {
    await fetch(`https://${host}/`, { method: "HEAD", signal: controller });
  } catch (err) {
    throw unreachable((err as Error).message);
  }
}

export async function* downloadModel(
  db: AtelierDb,
  input: { uri: string; name?: string },
  signal?: AbortSignal,
): AsyncGenerator<DownloadEvent> {
  const uri = parseHfUri(input.uri);
  await assertHubReachable();
  const dirPath = path.join(env().ATELIER_DATA_DIR, "models");
  const id = newId();
  db.insert(models)
    .values({ id, name: input.name?.trim() || uri.slice(3), kind: "base", source: uri, filePath: "", status: "downloading" })
    .run();
  let progress: { downloaded: number; total: number } = { downloaded: 0, total: 0 };
  try {
    const downloader = await createModelDownloader({
      modelUri: uri,
      dirPath,
      skipExisting: true,
      onProgress: ({ downloadedSize, totalSize }) => (progress = { downloaded: downloadedSize, total: totalSize }),
    });
    const job = downloader.download({ signal });
    let finished = false;
    void job.finally(() => (finished = true)).catch(() => undefined);
    while (!finished) {
      yield { type: "progress", downloadedBytes: progress.downloaded, totalBytes: progress.total || null };
      await Promise.race([job.catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
    }
    const filePath = await job;
    const facts = await inspectGguf(filePath);
    const row = db
      .update(models)
      .set({ status: "ready", filePath, ...factsToColumns(facts), meta: { fitsInMemory: facts.fitsInMemory } })
      .where(eq(models.id, id))
      .returning()
      .get();
    yield { type: "done", model: toModelView(row) };
  } catch (err) {
    const message = `Download of ${uri} failed: ${(err as Error).message}`;
    db.update(models).set({ status: "error", error: message }).where(eq(models.id, id)).run();
    throw new AtelierError("bad_request:model", message, { cause: err });
  }
}
