import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/*
 * The worker's side of the worker API (server/studio/remote/http.ts): JSON calls, downloads that
 * continue where they broke (Range) and are sha256-checked (a mismatch is discarded and fetched
 * again), and uploads announced with their size and sha256.
 */

export type ArtifactRef = { name: string; sha256: string; bytes: number };
export type ClaimedRun = {
  runId: string;
  lease: string;
  name: string;
  method: string;
  config: Record<string, unknown>;
  artifacts: ArtifactRef[];
  checkpoint: { step: number; files: ArtifactRef[] } | null;
  basePath: string | null;
};

/** The server refused: `status` says how (401 wrong token, 409 lease lost, ...). */
export class ServerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class WorkerClient {
  constructor(
    private readonly server: string,
    private readonly token: string,
  ) {}

  private url(p: string) {
    return `${this.server.replace(/\/+$/, "")}/api/worker/${p}`;
  }

  private headers(lease?: string, extra: Record<string, string> = {}) {
    return { authorization: `Bearer ${this.token}`, ...(lease ? { "x-atelier-lease": lease } : {}), ...extra };
  }

  private async check(res: Response): Promise<Response> {
    if (res.ok) return res;
    const text = await res.text().catch(() => "");
    let message = text.slice(0, 500);
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
    } catch {
      /* not JSON */
    }
    throw new ServerError(res.status, `HTTP ${res.status}: ${message}`);
  }

  async claim(worker: string): Promise<ClaimedRun | null> {
    const res = await this.check(await fetch(this.url("claim"), { method: "POST", headers: this.headers(undefined, { "content-type": "application/json" }), body: JSON.stringify({ worker }) }));
    if (res.status === 204) return null;
    return ((await res.json()) as { run: ClaimedRun }).run;
  }

  async post(run: ClaimedRun, action: string, body: unknown): Promise<unknown> {
    const res = await this.check(
      await fetch(this.url(`runs/${run.runId}/${action}`), { method: "POST", headers: this.headers(run.lease, { "content-type": "application/json" }), body: JSON.stringify(body) }),
    );
    return res.json();
  }

  /** Progress lines (NDJSON); the answer says whether the run was cancelled. */
  async events(run: ClaimedRun, lines: unknown[]): Promise<{ cancel: boolean }> {
    const res = await this.check(
      await fetch(this.url(`runs/${run.runId}/events`), {
        method: "POST",
        headers: this.headers(run.lease, { "content-type": "application/x-ndjson" }),
        body: lines.map((l) => JSON.stringify(l)).join("\n"),
      }),
    );
    return (await res.json()) as { cancel: boolean };
  }

  /** Downloads a run file to `dest`, continuing a broken download, checking size and sha256. */
  async download(run: ClaimedRun, remoteName: string, ref: ArtifactRef, dest: string, log: (line: string) => void): Promise<void> {
    const part = `${dest}.part`;
    let lastError = "";
    for (let attempt = 1; attempt <= 6; attempt++) {
      let have = await fs.stat(part).then((s) => s.size, () => 0);
      if (have > ref.bytes) {
        await fs.rm(part, { force: true });
        have = 0;
      }
      if (have < ref.bytes) {
        try {
          const res = await this.check(await fetch(this.url(`runs/${run.runId}/files/${remoteName}`), { headers: this.headers(run.lease, have > 0 ? { range: `bytes=${have}-` } : {}) }));
          const append = res.status === 206;
          await pipeline(Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>), createWriteStream(part, { flags: append ? "a" : "w" }));
        } catch (err) {
          if (err instanceof ServerError && err.status < 500) throw err;
          lastError = (err as Error).message;
          log(`download of ${remoteName} broke (${lastError}); continuing`);
          continue;
        }
      }
      const sha = await sha256File(part);
      if (sha === ref.sha256) {
        await fs.rename(part, dest);
        return;
      }
      lastError = `sha256 ${sha.slice(0, 12)} is not the announced ${ref.sha256.slice(0, 12)}`;
      log(`download of ${remoteName}: ${lastError}; discarded, downloading again`);
      await fs.rm(part, { force: true });
    }
    throw new Error(`could not download ${remoteName}: ${lastError}`);
  }

  async upload(run: ClaimedRun, kind: "ckpt" | "output", name: string, file: string): Promise<ArtifactRef> {
    const sha256 = await sha256File(file);
    const bytes = (await fs.stat(file)).size;
    await this.check(
      await fetch(this.url(`runs/${run.runId}/upload/${kind}/${name}?sha256=${sha256}&bytes=${bytes}`), {
        method: "PUT",
        headers: this.headers(run.lease, { "content-type": "application/octet-stream", "content-length": String(bytes) }),
        body: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
        duplex: "half",
      } as RequestInit),
    );
    return { name, sha256, bytes };
  }
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(file, { highWaterMark: 1 << 20 })
      .on("data", (c) => h.update(c))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}
