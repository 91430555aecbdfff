import "server-only";
import { env } from "@/server/env";
import { AtelierError } from "@/server/errors";
import { AsyncQueue } from "@/server/llm/async-queue";
import { formatBytes } from "../documents/decode";
import type { IndexProgress } from "./indexing";

/*
 * What the console's upload and reindex procedures share: the per-file size limit, decoding
 * the base64 the browser sends, and turning an indexing run's progress callbacks into a stream.
 */

/** Largest accepted file in bytes (ATELIER_KNOWLEDGE_MAX_FILE_MB). */
export function maxUploadBytes(): number {
  return env().ATELIER_KNOWLEDGE_MAX_FILE_MB * 1024 * 1024;
}

function tooLarge(fileName: string, bytes: number, limit: number): AtelierError {
  return new AtelierError(
      "too_large:knowledge",
    `"${fileName}" is ${formatBytes(bytes)}; the limit is ${formatBytes(limit)} per file (ATELIER_KNOWLEDGE_MAX_FILE_MB).`,
  );
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The uploaded bytes, refused before decoding when over the limit, or when not base64. */
export function decodeUpload(fileName: string, base64: string): Uint8Array {
  const limit = maxUploadBytes();
  const approx = Math.floor((base64.length * 3) / 4);
  if (approx - 2 > limit) throw tooLarge(fileName, approx, limit);
  if (base64.length % 4 !== 0 || !BASE64.test(base64)) throw new AtelierError("bad_request:knowledge", `"${fileName}" was not sent as valid base64.`);
  const bytes = new Uint8Array(Buffer.from(base64, "base64"));
  if (bytes.length > limit) throw tooLarge(fileName, bytes.length, limit);
  return bytes;
}

export type IndexEvent<T> = { type: "progress"; progress: IndexProgress & { step: number; steps: number } } | { type: "done"; result: T };

/**
 * Runs an indexing job and streams its progress. The job is not tied to the request: if the
 * client goes away it finishes in the background (documents show status "indexing" meanwhile).
 * `step`/`steps` count documents when a job indexes several.
 */
export async function* streamIndexing<T>(
  run: (onProgress: (p: IndexProgress, step?: number, steps?: number) => void) => Promise<T>,
): AsyncGenerator<IndexEvent<T>> {
  const queue = new AsyncQueue<IndexEvent<T>>();
  let last = 0;
  run((progress, step = 1, steps = 1) => {
    // Embedding reports per batch; at most ~10 events a second reach the client, phase changes always.
    const now = Date.now();
    if (progress.phase === "embedding" && progress.done > 0 && progress.done < progress.total && now - last < 100) return;
    last = now;
    queue.push({ type: "progress", progress: { ...progress, step, steps } });
  })
    .then((result) => {
      queue.push({ type: "done", result });
      queue.close();
    })
    .catch((err: unknown) => queue.fail(err));
  yield* queue;
}
