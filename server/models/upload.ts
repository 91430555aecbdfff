import "server-only";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { AtelierDb } from "../db/client";
import { models } from "../db/schema";
import { env } from "../env";
import { AtelierError } from "../errors";
import { newId } from "../ids";
import { EngineError } from "../llm/errors";
import { inspectGguf } from "../llm/inspect";
import { factsToColumns, getModelRow, toModelView, type ModelView } from "./registry";

/*
 * GGUF upload from the browser, in chunks, resumable. The browser starts an upload (name, size;
 * the size is checked against ATELIER_MAX_MODEL_UPLOAD_MB and the free disk before a byte is
 * sent), then sends the file in order, each chunk at the offset the server has reached (a chunk
 * at another offset is refused with the offset to continue from, so a dropped connection or a
 * reloaded page resumes where the server's copy ends). The first chunk must start with the GGUF
 * magic, so a wrong file stops at once. On completion the server hashes its copy (SHA-256) and
 * compares it with the browser's hash of the file, reads the GGUF header and tensor table, and
 * only then moves the file under <data>/models/uploads/ and registers it; any failure deletes the
 * partial file and registers nothing. Partial uploads are kept in <data>/uploads/models/<id>/
 * (a meta.json and data.part) until completed, cancelled, or left untouched for a day.
 */

export const UPLOAD_CHUNK_BYTES = 8 * 1024 * 1024;
const STALE_AFTER_MS = 24 * 3600 * 1000;
const MB = 1024 * 1024;
const GGUF_MAGIC = Buffer.from("GGUF", "ascii");

export const uploadStartInput = z.object({
  fileName: z.string().trim().min(1, "The file needs a name.").max(255),
  size: z.number().int().min(1, "The file is empty."),
  /** Shown in the model list; default: the name in the GGUF, else the file name. */
  name: z.string().trim().max(200).optional(),
  /** For a LoRA adapter: the base model it was trained on. */
  baseModelId: z.string().min(1).max(100).optional(),
  /** The browser's handle on this file (name, size, last modified): the same file resumes the same upload. */
  resumeKey: z.string().max(600).optional(),
});
export type UploadStart = z.infer<typeof uploadStartInput>;
export const uploadCompleteInput = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, "sha256 must be 64 lowercase hex digits.") });

type UploadMeta = UploadStart & { id: string; userId: string; createdAt: number; updatedAt: number };
export type UploadState = { id: string; fileName: string; size: number; received: number; chunkBytes: number };

const root = () => path.join(env().ATELIER_DATA_DIR, "uploads", "models");
const dirOf = (id: string) => path.join(root(), id);
const partOf = (id: string) => path.join(dirOf(id), "data.part");
const metaOf = (id: string) => path.join(dirOf(id), "meta.json");

export const maxModelUploadBytes = () => env().ATELIER_MAX_MODEL_UPLOAD_MB * MB;

/** One operation at a time per upload (two tabs sending the same chunk must not both append). */
const locks = new Map<string, Promise<unknown>>();
function locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(id) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => undefined);
  locks.set(id, tail);
  void tail.then(() => locks.get(id) === tail && locks.delete(id));
  return next;
}

const notFound = (id: string) => new AtelierError("not_found:model", `Upload ${id.slice(0, 40)} does not exist (it was finished, cancelled or expired); start again.`);

async function readMeta(id: string, userId: string): Promise<UploadMeta> {
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(id)) throw notFound(id);
  let meta: UploadMeta;
  try {
    meta = JSON.parse(await fs.readFile(metaOf(id), "utf8")) as UploadMeta;
  } catch {
    throw notFound(id);
  }
  if (meta.userId !== userId) throw notFound(id); // someone else's upload reads as missing
  return meta;
}

async function received(id: string): Promise<number> {
  try {
    return (await fs.stat(partOf(id))).size;
  } catch {
    return 0;
  }
}

const stateOf = async (m: UploadMeta): Promise<UploadState> => ({ id: m.id, fileName: m.fileName, size: m.size, received: await received(m.id), chunkBytes: UPLOAD_CHUNK_BYTES });

/** Removes partial uploads nobody has touched for a day. */
async function sweepStale(now: number): Promise<void> {
  let ids: string[];
  try {
    ids = await fs.readdir(root());
  } catch {
    return;
  }
  for (const id of ids) {
    try {
      const m = JSON.parse(await fs.readFile(metaOf(id), "utf8")) as UploadMeta;
      if (now - m.updatedAt > STALE_AFTER_MS) await fs.rm(dirOf(id), { recursive: true, force: true });
    } catch {
      /* a half-created folder: leave it to the next sweep */
    }
  }
}

/** Starts an upload, or returns the unfinished one of the same file by the same user (resume). */
export async function startModelUpload(db: AtelierDb, userId: string, input: UploadStart): Promise<UploadState> {
  const limit = maxModelUploadBytes();
  if (input.size > limit) {
    throw new AtelierError(
      "too_large:model",
      `${input.fileName} is ${(input.size / MB).toFixed(0)} MB; the upload limit is ${env().ATELIER_MAX_MODEL_UPLOAD_MB} MB (ATELIER_MAX_MODEL_UPLOAD_MB). For larger files, copy the file to the server and add it by path.`,
    );
  }
  if (!input.fileName.toLowerCase().endsWith(".gguf")) throw new AtelierError("bad_request:model", `${input.fileName} is not a .gguf file; Atelier serves GGUF models.`);
  if (input.baseModelId) getModelRow(db, input.baseModelId);
  const now = Date.now();
  await sweepStale(now);
  await fs.mkdir(root(), { recursive: true });
  if (input.resumeKey) {
    for (const id of await fs.readdir(root())) {
      try {
        const m = JSON.parse(await fs.readFile(metaOf(id), "utf8")) as UploadMeta;
        if (m.userId === userId && m.resumeKey === input.resumeKey && m.size === input.size) {
          // the latest choices of name and base model apply to the file being resumed
          const updated: UploadMeta = { ...m, name: input.name, baseModelId: input.baseModelId, updatedAt: now };
          await fs.writeFile(metaOf(id), JSON.stringify(updated));
          return stateOf(updated);
        }
      } catch {
        /* ignore */
      }
    }
  }
  const free = await freeBytes(root());
  if (free !== null && free < input.size + 512 * MB) {
    throw new AtelierError("precondition:model", `Not enough disk space for ${input.fileName}: it needs ${(input.size / MB).toFixed(0)} MB and ${(free / MB).toFixed(0)} MB is free in ${env().ATELIER_DATA_DIR}.`);
  }
  const id = randomBytes(12).toString("base64url");
  const meta: UploadMeta = { ...input, id, userId, createdAt: now, updatedAt: now };
  await fs.mkdir(dirOf(id), { recursive: true });
  await fs.writeFile(metaOf(id), JSON.stringify(meta));
  await fs.writeFile(partOf(id), "");
  return stateOf(meta);
}

async function freeBytes(dir: string): Promise<number | null> {
  try {
    const s = await fs.statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

export async function modelUploadState(userId: string, id: string): Promise<UploadState> {
  return stateOf(await readMeta(id, userId));
}

/** Appends one chunk at `offset` (which must be where the server's copy ends). */
export function appendModelChunk(userId: string, id: string, offset: number, chunk: Uint8Array): Promise<UploadState> {
  return locked(id, async () => {
    const meta = await readMeta(id, userId);
    const have = await received(id);
    if (!Number.isInteger(offset) || offset !== have) {
      throw new AtelierError("conflict:model", `The server has ${have} bytes of this upload; continue from there.`, { details: { received: have } });
    }
    if (chunk.length === 0) throw new AtelierError("bad_request:model", "Empty chunk.");
    if (chunk.length > UPLOAD_CHUNK_BYTES) throw new AtelierError("too_large:model", `A chunk may be at most ${UPLOAD_CHUNK_BYTES / MB} MB.`);
    if (have + chunk.length > meta.size) throw new AtelierError("bad_request:model", `This chunk would make the file ${have + chunk.length} bytes; it was announced as ${meta.size}.`);
    if (have === 0 && (chunk.length < 4 || !Buffer.from(chunk.subarray(0, 4)).equals(GGUF_MAGIC))) {
      await fs.rm(dirOf(id), { recursive: true, force: true });
      throw new AtelierError("bad_request:model", `${meta.fileName} is not a GGUF file (it does not start with the "GGUF" magic bytes); nothing was kept.`);
    }
    await fs.appendFile(partOf(id), chunk);
    await fs.writeFile(metaOf(id), JSON.stringify({ ...meta, updatedAt: Date.now() }));
    return stateOf(meta);
  });
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * MB })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function uniquePath(dir: string, fileName: string): Promise<string> {
  const base = path.basename(fileName).replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^\.+/, "") || "model.gguf";
  const stem = base.replace(/\.gguf$/i, "");
  for (let i = 0; ; i++) {
    const candidate = path.join(dir, i === 0 ? `${stem}.gguf` : `${stem}-${i + 1}.gguf`);
    try {
      await fs.access(candidate);
    } catch {
      return candidate;
    }
  }
}

/**
 * Finishes an upload: all bytes there, the SHA-256 equal to the browser's, the GGUF readable and
 * complete; then the file is moved under <data>/models/uploads/ and registered. Any failure
 * deletes the upload and registers nothing.
 */
export function completeModelUpload(db: AtelierDb, userId: string, id: string, input: z.infer<typeof uploadCompleteInput>): Promise<ModelView> {
  return locked(id, async () => {
    const meta = await readMeta(id, userId);
    const have = await received(id);
    if (have !== meta.size) throw new AtelierError("conflict:model", `The server has ${have} of ${meta.size} bytes; send the rest first.`, { details: { received: have } });
    const fail = async (message: string, cause?: unknown): Promise<never> => {
      await fs.rm(dirOf(id), { recursive: true, force: true });
      throw new AtelierError("bad_request:model", `${message} Nothing was registered; upload the file again.`, cause ? { cause } : undefined);
    };
    const digest = await sha256Of(partOf(id));
    if (digest !== input.sha256) await fail(`${meta.fileName} arrived damaged: its SHA-256 on the server is ${digest}, the browser's is ${input.sha256}.`);
    let facts;
    try {
      facts = await inspectGguf(partOf(id));
    } catch (err) {
      const reason = err instanceof EngineError ? err.message.replace(partOf(id), meta.fileName) : (err as Error).message;
      return fail(`${meta.fileName} is not a usable GGUF: ${reason}`, err);
    }
    if (facts.isAdapter && !meta.baseModelId) await fail(`${meta.fileName} is a LoRA adapter; choose the base model it was trained on.`);
    const dir = path.join(env().ATELIER_DATA_DIR, "models", "uploads");
    await fs.mkdir(dir, { recursive: true });
    const filePath = await uniquePath(dir, meta.fileName);
    await fs.rename(partOf(id), filePath);
    await fs.rm(dirOf(id), { recursive: true, force: true });
    const row = db
      .insert(models)
      .values({
        id: newId(),
        name: meta.name?.trim() || facts.name || path.basename(meta.fileName, ".gguf"),
        kind: facts.isAdapter ? "lora" : "base",
        source: `upload:${meta.fileName}`,
        filePath,
        status: "ready",
        baseModelId: meta.baseModelId ?? null,
        ...factsToColumns(facts),
        meta: { fitsInMemory: facts.fitsInMemory, sha256: digest, uploadedBy: userId },
      })
      .returning()
      .get();
    return toModelView(row);
  });
}

/** Cancels an upload and deletes what was received. */
export function cancelModelUpload(userId: string, id: string): Promise<{ id: string }> {
  return locked(id, async () => {
    await readMeta(id, userId);
    await fs.rm(dirOf(id), { recursive: true, force: true });
    return { id };
  });
}
