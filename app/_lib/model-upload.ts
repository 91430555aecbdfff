import { Sha256 } from "./sha256";
import { csrfHeaders } from "./trpc";

/*
 * The browser side of a resumable GGUF upload (server/models/upload.ts): start (or find the
 * unfinished upload of the same file), hash what the server already has, send the rest in
 * chunks at the server's offset (retrying a dropped chunk, resyncing on a 409), hash as it goes,
 * then ask the server to compare hashes, validate the GGUF and register it.
 */

export type UploadPhase = "starting" | "checking" | "uploading" | "verifying";
export type UploadProgress = { phase: UploadPhase; sent: number; total: number; resumedFrom: number };
type State = { id: string; fileName: string; size: number; received: number; chunkBytes: number };
export type UploadedModel = { id: string; name: string; kind: string };

export class UploadError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly received?: number,
  ) {
    super(message);
  }
}

const BASE = "/api/models/uploads";
const RETRIES = 4;

async function call<T>(url: string, init: RequestInit & { signal: AbortSignal }): Promise<T> {
  const res = await fetch(url, { ...init, headers: { ...csrfHeaders(), ...(init.headers ?? {}) }, credentials: "same-origin" });
  const body = (await res.json().catch(() => ({}))) as { error?: { message?: string; received?: number } } & T;
  if (!res.ok) throw new UploadError(body.error?.message ?? `The server answered ${res.status}.`, res.status, body.error?.received);
  return body;
}

/** Reads [from, to) of the file into the hash, 8 MB at a time. */
async function hashRange(file: File, hash: Sha256, from: number, to: number, signal: AbortSignal, onBytes: (n: number) => void) {
  for (let at = from; at < to; ) {
    signal.throwIfAborted();
    const end = Math.min(to, at + 8 * 1024 * 1024);
    hash.update(new Uint8Array(await file.slice(at, end).arrayBuffer()));
    at = end;
    onBytes(at);
  }
}

/** Same file, same browser → the same upload (the server resumes it). */
export const resumeKeyOf = (file: File) => `${file.name}|${file.size}|${file.lastModified}`;

export async function uploadModelFile(
  file: File,
  opts: { name?: string; baseModelId?: string; signal: AbortSignal; onProgress: (p: UploadProgress) => void },
): Promise<UploadedModel> {
  const { signal, onProgress } = opts;
  onProgress({ phase: "starting", sent: 0, total: file.size, resumedFrom: 0 });
  let state = await call<State>(BASE, {
    method: "POST",
    signal,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ fileName: file.name, size: file.size, resumeKey: resumeKeyOf(file), ...(opts.name ? { name: opts.name } : {}), ...(opts.baseModelId ? { baseModelId: opts.baseModelId } : {}) }),
  });
  const resumedFrom = state.received;
  let hash = new Sha256();
  let hashed = 0;
  const catchUp = async (to: number) => {
    // the hash covers [0, hashed); bring it to `to` (starting over when the server went back)
    if (to < hashed) {
      hash = new Sha256();
      hashed = 0;
    }
    await hashRange(file, hash, hashed, to, signal, (n) => onProgress({ phase: "checking", sent: n, total: file.size, resumedFrom }));
    hashed = to;
  };
  if (state.received > 0) await catchUp(state.received);
  let offset = state.received;
  let failures = 0;
  while (offset < file.size) {
    signal.throwIfAborted();
    const end = Math.min(file.size, offset + state.chunkBytes);
    const chunk = new Uint8Array(await file.slice(offset, end).arrayBuffer());
    try {
      state = await call<State>(`${BASE}/${encodeURIComponent(state.id)}?offset=${offset}`, {
        method: "PUT",
        signal,
        headers: { "content-type": "application/octet-stream" },
        body: chunk,
      });
      failures = 0;
    } catch (err) {
      if (signal.aborted) throw err;
      if (err instanceof UploadError && err.status === 409 && err.received !== undefined) {
        await catchUp(err.received); // the server has a different amount: continue from its end
        offset = err.received;
        continue;
      }
      if (err instanceof UploadError && err.status < 500 && err.status !== 408) throw err; // refused: retrying will not help
      if (++failures > RETRIES) throw err;
      await new Promise((r) => setTimeout(r, 500 * 2 ** failures));
      const now = await call<State>(`${BASE}/${encodeURIComponent(state.id)}`, { method: "GET", signal });
      await catchUp(now.received);
      offset = now.received;
      continue;
    }
    if (hashed === offset) {
      hash.update(chunk);
      hashed = end;
    }
    offset = state.received;
    onProgress({ phase: "uploading", sent: offset, total: file.size, resumedFrom });
  }
  await catchUp(file.size);
  onProgress({ phase: "verifying", sent: file.size, total: file.size, resumedFrom });
  return call<UploadedModel>(`${BASE}/${encodeURIComponent(state.id)}/complete`, {
    method: "POST",
    signal,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sha256: hash.digestHex() }),
  });
}

/** Cancels the upload of this file on the server (deletes what was received); quiet when there is none. */
export async function cancelModelUpload(file: File): Promise<void> {
  const signal = new AbortController().signal;
  try {
    const state = await call<State>(BASE, {
      method: "POST",
      signal,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ fileName: file.name, size: file.size, resumeKey: resumeKeyOf(file) }),
    });
    await call(`${BASE}/${encodeURIComponent(state.id)}`, { method: "DELETE", signal });
  } catch {
    /* nothing to cancel */
  }
}
