import "server-only";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import type { AtelierDb } from "../../db/client";
import { env } from "../../env";
import { AtelierError, errorResponse } from "../../errors";
import { checkpointDirOf, outputPathOf } from "../runner";
import { authenticateWorker, claimRun, commitCheckpoint, finishRun, leasedRun, recordProgress, uploadDir } from "./queue";

/*
 * The worker API (app/api/worker/[...path]): every call carries the worker token; calls about a
 * run also carry its lease. Bodies are bounded before they are read: JSON to 1 MB, progress to
 * 4 MB a post, uploads to ATELIER_WORKER_MAX_UPLOAD_MB and the size the worker announced.
 *   POST claim                          {worker}          → { run } | 204
 *   GET  runs/<id>/files/<name>         (Range)           → train.atds, eval.atds, base.gguf, ckpt/<file>
 *   POST runs/<id>/events               NDJSON lines      → { cancel }
 *   PUT  runs/<id>/upload/<ckpt|output>/<name>?sha256&bytes
 *   POST runs/<id>/checkpoint           {step, files}
 *   POST runs/<id>/finish               {status, steps, ...}
 */

const JSON_LIMIT = 1 << 20;
const EVENTS_LIMIT = 4 << 20;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/;

async function readLimited(req: Request, limit: number): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? 0);
  if (declared > limit) throw new AtelierError("too_large:worker", `The body is ${declared} bytes; the limit is ${limit}.`);
  const reader = req.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let next = await reader?.read(); next && !next.done; next = await reader!.read()) {
    size += next.value.length;
    if (size > limit) {
      await reader!.cancel();
      throw new AtelierError("too_large:worker", `The body is over the ${limit}-byte limit.`);
    }
    chunks.push(next.value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

async function readJson<T>(req: Request, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readLimited(req, JSON_LIMIT));
  } catch (err) {
    if (err instanceof AtelierError) throw err;
    throw new AtelierError("bad_request:worker", "The body is not valid JSON.");
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw new AtelierError("bad_request:worker", `Invalid request: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return r.data;
}

const artifactRef = z.object({ name: z.string().regex(NAME), sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().min(0) });
const finishBody = z.object({
  status: z.enum(["done", "stopped", "failed"]),
  steps: z.number().int().min(0),
  trainLoss: z.number().nullable(),
  evalLoss: z.number().nullable(),
  evalPpl: z.number().nullable(),
  pplAfter: z.number().nullable(),
  seconds: z.number().min(0),
  error: z.string().max(4000).optional(),
});

function fileResponse(req: Request, file: string, size: number): Response {
  const range = /^bytes=(\d+)-$/.exec(req.headers.get("range") ?? "");
  const headers = { "content-type": "application/octet-stream", "accept-ranges": "bytes", "cache-control": "no-store" };
  const start = range ? Number(range[1]) : 0;
  if (start > size) return new Response(null, { status: 416, headers: { ...headers, "content-range": `bytes */${size}` } });
  const body = Readable.toWeb(createReadStream(file, { start })) as ReadableStream<Uint8Array>;
  return new Response(body, {
    status: range ? 206 : 200,
    headers: { ...headers, "content-length": String(size - start), ...(range ? { "content-range": `bytes ${start}-${size - 1}/${size}` } : {}) },
  });
}

/** Streams an upload to disk, checking its size and sha256 against what the worker announced; a mismatch is discarded. */
async function receiveUpload(req: Request, dest: string, sha256: string, bytes: number): Promise<void> {
  const max = env().ATELIER_WORKER_MAX_UPLOAD_MB * 1024 * 1024;
  if (bytes > max) throw new AtelierError("too_large:worker", `The file is ${bytes} bytes; uploads are limited to ${env().ATELIER_WORKER_MAX_UPLOAD_MB} MB (ATELIER_WORKER_MAX_UPLOAD_MB).`);
  if (!req.body) throw new AtelierError("bad_request:worker", "The upload has no body.");
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.part-${process.pid}`;
  const hash = createHash("sha256");
  let size = 0;
  try {
    await pipeline(
      Readable.fromWeb(req.body as import("node:stream/web").ReadableStream<Uint8Array>),
      async function* (source) {
        for await (const chunk of source) {
          size += (chunk as Buffer).length;
          if (size > bytes) throw new AtelierError("bad_request:worker", `The upload is larger than the announced ${bytes} bytes.`);
          hash.update(chunk as Buffer);
          yield chunk;
        }
      },
      createWriteStream(tmp),
    );
    if (size !== bytes) throw new AtelierError("bad_request:worker", `The upload has ${size} bytes, not the announced ${bytes}; send it again.`);
    const got = hash.digest("hex");
    if (got !== sha256) throw new AtelierError("bad_request:worker", `The upload's sha256 is ${got.slice(0, 12)}, not the announced ${sha256.slice(0, 12)}; it was discarded, send it again.`);
    await fs.rename(tmp, dest);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err instanceof AtelierError ? err : new AtelierError("bad_request:worker", `The upload broke off: ${(err as Error).message}`);
  }
}

export async function handleWorker(req: Request, db: AtelierDb, parts: string[]): Promise<Response> {
  try {
    authenticateWorker(req);
    const [head, runId, action, ...rest] = parts;
    if (req.method === "POST" && head === "claim" && parts.length === 1) {
      const body = await readJson(req, z.object({ worker: z.string().trim().min(1).max(100) }));
      const run = await claimRun(db, body.worker);
      return run ? Response.json({ run }) : new Response(null, { status: 204 });
    }
    if (head !== "runs" || !runId) throw new AtelierError("not_found:worker", `${req.method} /api/worker/${parts.join("/")} does not exist.`);
    const { run, remote } = leasedRun(db, runId, req);

    if (req.method === "GET" && action === "files") {
      const name = rest.join("/");
      let file: string | null = null;
      const artifact = remote.artifacts?.find((a) => a.name === name);
      if (artifact) {
        file = name === "base.gguf" ? ((remote.config as { base?: string } | null)?.base ?? null) : path.join(run.workDir, name);
      } else if (name.startsWith("ckpt/") && remote.checkpointFiles?.some((f) => `ckpt/${f.name}` === name)) {
        file = path.join(checkpointDirOf(run), name.slice(5));
      }
      if (!file) throw new AtelierError("not_found:worker", `This run has no file ${name}.`);
      const size = (await fs.stat(file)).size;
      return fileResponse(req, file, size);
    }
    if (req.method === "POST" && action === "events") {
      const text = await readLimited(req, EVENTS_LIMIT);
      const lines = text.split("\n").filter((l) => l.trim());
      const parsed = lines.map((l, i) => {
        try {
          return JSON.parse(l) as unknown;
        } catch {
          throw new AtelierError("bad_request:worker", `Line ${i + 1} of the progress post is not JSON.`);
        }
      });
      return Response.json(recordProgress(db, run, parsed));
    }
    if (req.method === "PUT" && action === "upload" && (rest[0] === "ckpt" || rest[0] === "output") && rest.length === 2 && NAME.test(rest[1]!)) {
      const url = new URL(req.url);
      const sha256 = url.searchParams.get("sha256") ?? "";
      const bytes = Number(url.searchParams.get("bytes"));
      if (!/^[0-9a-f]{64}$/.test(sha256) || !Number.isSafeInteger(bytes) || bytes < 0) throw new AtelierError("bad_request:worker", "Give ?sha256=<64 hex>&bytes=<size> with an upload.");
      const dest = rest[0] === "output" ? outputPathOf(run) : path.join(uploadDir(run), `ckpt-${rest[1]}`);
      await receiveUpload(req, dest, sha256, bytes);
      return Response.json({ ok: true });
    }
    if (req.method === "POST" && action === "checkpoint") {
      const body = await readJson(req, z.object({ step: z.number().int().min(0), files: z.array(artifactRef).min(1).max(16) }));
      await commitCheckpoint(db, run, body.step, body.files);
      return Response.json({ ok: true });
    }
    if (req.method === "POST" && action === "finish") {
      const body = await readJson(req, finishBody);
      return Response.json(await finishRun(db, run, remote, body));
    }
    throw new AtelierError("not_found:worker", `${req.method} /api/worker/${parts.join("/")} does not exist.`);
  } catch (err) {
    return errorResponse(err, "[worker]");
  }
}
