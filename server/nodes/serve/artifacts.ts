import "server-only";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import { errorText, openRequest, readBody } from "../http";

/*
 * Downloads a model file to an Atelier node: Range requests continue a broken download where it
 * stopped (the partial file is kept as <dest>.part), and the finished file must have the sha256
 * the server announced — one that differs is discarded and fetched again from the start.
 */

export type ArtifactFile = { url: string; sha256: string; bytes: number };

const MAX_ATTEMPTS = 6;

export async function sha256OfFile(filePath: string): Promise<string> {
  const h = createHash("sha256");
  await pipeline(createReadStream(filePath, { highWaterMark: 1 << 20 }), async function* (source) {
    for await (const chunk of source) h.update(chunk as Buffer);
  });
  return h.digest("hex");
}

export async function downloadArtifact(file: ArtifactFile, dest: string, onProgress: (bytes: number) => void, log: (line: string) => void = () => {}): Promise<void> {
  if (!/^[0-9a-f]{64}$/.test(file.sha256)) throw new Error("the announced sha256 is not 64 hex digits");
  if (!Number.isSafeInteger(file.bytes) || file.bytes < 0) throw new Error("the announced size is not a byte count");
  const part = `${dest}.part`;
  let lastError = "";
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    let have = await fs.stat(part).then((s) => s.size, () => 0);
    if (have > file.bytes) {
      await fs.rm(part, { force: true });
      have = 0;
    }
    if (have < file.bytes) {
      try {
        await fetchRange(file, part, have, onProgress);
      } catch (err) {
        lastError = (err as Error).message;
        log(`download of ${dest} stopped at ${await fs.stat(part).then((s) => s.size, () => 0)} of ${file.bytes} bytes (${lastError}); continuing`);
        await new Promise((r) => setTimeout(r, Math.min(200 * attempt, 2000)));
        continue;
      }
    }
    const size = await fs.stat(part).then((s) => s.size, () => 0);
    if (size !== file.bytes) {
      lastError = `got ${size} bytes, expected ${file.bytes}`;
      log(`download of ${dest} stopped at ${size} of ${file.bytes} bytes; continuing`);
      continue;
    }
    const sha = await sha256OfFile(part);
    if (sha === file.sha256) {
      await fs.rename(part, dest);
      return;
    }
    lastError = `sha256 ${sha.slice(0, 12)} differs from the announced ${file.sha256.slice(0, 12)}`;
    log(`download of ${dest}: ${lastError}; discarded, downloading again`);
    await fs.rm(part, { force: true });
  }
  throw new Error(`could not download ${file.url.replace(/\?.*$/, "")}: ${lastError}`);
}

async function fetchRange(file: ArtifactFile, part: string, from: number, onProgress: (bytes: number) => void): Promise<void> {
  const res = await openRequest({ url: file.url, apiKey: null }, file.url, { headers: from > 0 ? { range: `bytes=${from}-` } : {}, timeoutMs: 30_000 });
  const status = res.statusCode ?? 0;
  if (status !== 200 && status !== 206) {
    const text = await readBody(res, 64 * 1024).then((b) => b.toString("utf8"), () => "");
    throw new Error(`HTTP ${status}${text ? `: ${errorText(text)}` : ""}`);
  }
  // A server that ignores Range sends the whole file: start over.
  const start = status === 206 ? from : 0;
  let received = start;
  const limit = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      if (received > file.bytes) return cb(new Error(`the server sent more than the announced ${file.bytes} bytes`));
      onProgress(received);
      cb(null, chunk);
    },
  });
  res.setTimeout(30_000, () => res.destroy(new Error("the download stalled")));
  await pipeline(res, limit, createWriteStream(part, { flags: start > 0 ? "a" : "w" }));
}
