// Browser GGUF upload through the real route handlers (real files, real SQLite, the real GGUF
// reader): chunks at the server's offset, resume of the same file, the size limit, the GGUF magic
// on the first chunk, the SHA-256 compared on completion, a truncated GGUF refused, access rules.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { models } from "@/server/db/schema";
import { freshApp, signedInSession } from "../helpers/app";
import { starterModelPath } from "../helpers/model";

let app: Awaited<ReturnType<typeof freshApp>>;
let editor: Awaited<ReturnType<typeof signedInSession>>;
const STARTER = fs.readFileSync(starterModelPath());
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const MiB = 1024 * 1024;

type Who = { token: string; csrfToken: string };
async function call(method: string, url: string, opts: { body?: BodyInit; who?: Who; csrf?: boolean; json?: unknown } = {}) {
  const who = opts.who ?? app.admin;
  const headers = new Headers({ cookie: `atelier_session=${who.token}` });
  if (opts.csrf !== false) headers.set("x-atelier-csrf", who.csrfToken);
  let body = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers.set("content-type", "application/json");
  }
  const req = new Request(`http://localhost${url}`, { method, headers, body });
  const m = url.match(/^\/api\/models\/uploads(?:\/([^/?]+))?(\/complete)?/)!;
  const params = Promise.resolve({ id: m[1] ?? "" });
  let res: Response;
  if (!m[1]) res = await (await import("@/app/api/models/uploads/route")).POST(req);
  else if (m[2]) res = await (await import("@/app/api/models/uploads/[id]/complete/route")).POST(req, { params });
  else {
    const mod = await import("@/app/api/models/uploads/[id]/route");
    res = await (method === "GET" ? mod.GET(req, { params }) : method === "PUT" ? mod.PUT(req, { params }) : mod.DELETE(req, { params }));
  }
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const start = (json: Record<string, unknown>, who?: Who) => call("POST", "/api/models/uploads", { json, who });
const put = (id: string, offset: number, bytes: Uint8Array) => call("PUT", `/api/models/uploads/${id}?offset=${offset}`, { body: new Uint8Array(bytes) });

beforeAll(async () => {
  app = await freshApp({ ATELIER_MAX_MODEL_UPLOAD_MB: "8" });
  editor = await signedInSession(app.db, "editor");
});

describe("browser model upload", () => {
  it("is for admins, and every write needs the CSRF header", async () => {
    expect((await start({ fileName: "a.gguf", size: 10 }, editor)).status).toBe(403);
    expect((await call("POST", "/api/models/uploads", { json: { fileName: "a.gguf", size: 10 }, csrf: false })).status).toBe(403);
  });

  it("refuses a file over ATELIER_MAX_MODEL_UPLOAD_MB and a non-.gguf name before any byte is sent", async () => {
    const big = await start({ fileName: "big.gguf", size: 9 * MiB });
    expect(big.status).toBe(413);
    expect(big.body.error.message).toMatch(/upload limit is 8 MB \(ATELIER_MAX_MODEL_UPLOAD_MB\)/);
    expect((await start({ fileName: "notes.txt", size: 100 })).body.error.message).toMatch(/not a \.gguf file/);
  });

  it("stops at the first chunk when the file is not GGUF", async () => {
    const s = await start({ fileName: "fake.gguf", size: 1000 });
    const r = await put(s.body.id, 0, new TextEncoder().encode("PK\u0003\u0004 this is a zip"));
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/not a GGUF file/);
    expect((await call("GET", `/api/models/uploads/${s.body.id}`)).status).toBe(404); // nothing kept
  });

  it("uploads in chunks, resumes the same file where the server's copy ends, checks SHA-256 and the GGUF, registers it", async () => {
    const resumeKey = `atelier-starter.gguf|${STARTER.length}|1700000000000`;
    const s = await start({ fileName: "atelier-starter.gguf", size: STARTER.length, resumeKey, name: "Uploaded starter" });
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ received: 0, size: STARTER.length });
    const id = s.body.id as string;
    const piece = 700 * 1024;
    expect((await put(id, 0, STARTER.subarray(0, piece))).body.received).toBe(piece);
    expect((await put(id, piece, STARTER.subarray(piece, 2 * piece))).body.received).toBe(2 * piece);

    // a reloaded page asks again for the same file: the same upload, from where the server is
    const again = await start({ fileName: "atelier-starter.gguf", size: STARTER.length, resumeKey, name: "Uploaded starter" });
    expect(again.body).toMatchObject({ id, received: 2 * piece });
    // a chunk at the wrong offset is refused with the offset to continue from
    const wrong = await put(id, piece, STARTER.subarray(piece, 2 * piece));
    expect(wrong.status).toBe(409);
    expect(wrong.body.error.received).toBe(2 * piece);
    // finishing early is refused
    expect((await call("POST", `/api/models/uploads/${id}/complete`, { json: { sha256: sha(STARTER) } })).status).toBe(409);

    for (let at = 2 * piece; at < STARTER.length; at += piece) expect((await put(id, at, STARTER.subarray(at, at + piece))).status).toBe(200);
    const done = await call("POST", `/api/models/uploads/${id}/complete`, { json: { sha256: sha(STARTER) } });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({ name: "Uploaded starter", kind: "base", status: "ready", architecture: "llama", sizeBytes: STARTER.length });
    const row = app.db.select().from(models).where(eq(models.id, done.body.id)).get()!;
    expect(row.filePath).toBe(path.join(app.dataDir, "models", "uploads", "atelier-starter.gguf"));
    expect(sha(fs.readFileSync(row.filePath))).toBe(sha(STARTER));
    expect(row.meta).toMatchObject({ sha256: sha(STARTER) });
    expect(row.source).toBe("upload:atelier-starter.gguf");
    expect((await app.caller().models.list()).some((m) => m.id === row.id)).toBe(true);
    expect(fs.existsSync(path.join(app.dataDir, "uploads", "models", id))).toBe(false);
  });

  it("a damaged transfer (SHA-256 differs) and a truncated GGUF are refused; nothing is registered", async () => {
    const before = app.db.select().from(models).all().length;
    const s = await start({ fileName: "damaged.gguf", size: STARTER.length });
    await put(s.body.id, 0, STARTER.subarray(0, 4 * MiB > STARTER.length ? STARTER.length : 4 * MiB));
    const flipped = Buffer.from(STARTER);
    flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 0xff;
    const bad = await call("POST", `/api/models/uploads/${s.body.id}/complete`, { json: { sha256: sha(flipped) } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/arrived damaged: its SHA-256 on the server is [0-9a-f]{64}, the browser's is/);

    const half = STARTER.subarray(0, Math.floor(STARTER.length / 2));
    const t = await start({ fileName: "truncated.gguf", size: half.length });
    await put(t.body.id, 0, half);
    const trunc = await call("POST", `/api/models/uploads/${t.body.id}/complete`, { json: { sha256: sha(half) } });
    expect(trunc.status).toBe(400);
    expect(trunc.body.error.message).toMatch(/truncated\.gguf is not a usable GGUF: .*truncated/);
    expect(trunc.body.error.message).not.toContain(app.dataDir); // names the file, not the server's paths
    expect(app.db.select().from(models).all().length).toBe(before);
  });

  it("another admin cannot see or touch my upload; cancel deletes it", async () => {
    const s = await start({ fileName: "mine.gguf", size: 100 });
    const other = await signedInSession(app.db, "admin");
    expect((await call("GET", `/api/models/uploads/${s.body.id}`, { who: other })).status).toBe(404);
    expect((await call("DELETE", `/api/models/uploads/${s.body.id}`)).status).toBe(200);
    expect((await call("GET", `/api/models/uploads/${s.body.id}`)).status).toBe(404);
  });
});
