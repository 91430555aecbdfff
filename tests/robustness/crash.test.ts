import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../browser/server";
import { SERVER_ENV, signIn, trpc, type Session } from "./client";

/*
 * kill -9 at the worst moments — while an answer streams, while a document is being indexed,
 * while a training run trains — then start again on the same data: the SQLite file passes its
 * integrity check and the full-text index its own, and nothing is left marked streaming or
 * indexing, or running without a live trainer (the old trainer, orphaned by the kill, is gone).
 */

let server: RunningServer;
let admin: Session;
let dataDir: string;
let assistantId: string;

beforeAll(async () => {
  server = await startServer(SERVER_ENV);
  dataDir = server.dataDir;
  admin = await signIn(server);
  const list = await trpc(server, "assistants.list", undefined, admin, "GET");
  assistantId = (list.json!.result!.data as Array<{ id: string }>)[0]!.id;
});

afterAll(async () => {
  await server?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

function readDb<T>(fn: (db: Database.Database) => T): T {
  const db = new Database(path.join(dataDir, "atelier.db"), { readonly: true, fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    return fn(db);
  } finally {
    db.close();
  }
}

/** The checks after every restart: the database and its FTS index are sound. */
function checkIntegrity(): void {
  readDb((db) => {
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    expect(db.pragma("foreign_key_check")).toEqual([]);
  });
  // FTS5's own check compares the index with its content table; it needs a writable handle.
  const db = new Database(path.join(dataDir, "atelier.db"), { fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    expect(() => db.prepare("INSERT INTO knowledge_chunks_fts(knowledge_chunks_fts) VALUES ('integrity-check')").run()).not.toThrow();
  } finally {
    db.close();
  }
}

/** kill -9, then `next start` again on the same data; the first request runs start-up recovery. */
async function crashAndRestart(): Promise<void> {
  await server.kill9();
  server = await startServer(SERVER_ENV, 90_000, { dataDir });
  expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
  admin = await signIn(server);
}

/** Reads a streamed (JSON lines) tRPC response until `until` sees what it waits for. */
async function readUntil(res: Response, until: (line: string) => boolean, timeoutMs = 60_000): Promise<void> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the stream ended first: ${buffer.slice(-500)}`);
    buffer += decoder.decode(value, { stream: true });
    if (buffer.split("\n").some(until)) return;
  }
  throw new Error("timed out");
}

function streamed(pathName: string, input: unknown): Promise<Response> {
  return fetch(`${server.url}/api/trpc/${pathName}?batch=1`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie: admin.cookie, "x-atelier-csrf": admin.csrf, "trpc-accept": "application/jsonl" },
    body: JSON.stringify({ 0: input }),
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("kill -9 and restart", () => {
  it("while an answer streams: the partial answer is kept as interrupted", async () => {
    // Hot, unfiltered sampling: the tiny starter then rambles until the context is full instead of
    // giving its one-line answer, so the kill lands mid-answer.
    await trpc(server, "assistants.update", { id: assistantId, patch: { sampling: { temperature: 2, topP: 1, topK: 0, repeatPenalty: 1, maxTokens: 4096 } } }, admin);
    const conv = (await trpc(server, "conversations.create", { assistantId }, admin)).json!.result!.data as { id: string };
    const res = await streamed("chat.send", { kind: "send", conversationId: conv.id, content: "Tell me everything about training, in detail." });
    await readUntil(res, (l) => l.includes('"type":"token"'));
    // Killed at the first token: the answer is still streaming (the tiny model may finish within a second).
    await crashAndRestart();
    checkIntegrity();
    const rows = readDb((db) => db.prepare("SELECT role, status, content FROM messages WHERE conversation_id = ? ORDER BY position").all(conv.id) as Array<{ role: string; status: string; content: string }>);
    expect(rows.map((r) => [r.role, r.status]), JSON.stringify(rows).slice(0, 500)).toEqual([
      ["user", "complete"],
      ["assistant", "interrupted"],
    ]);
    expect(readDb((db) => db.prepare("SELECT count(*) AS n FROM messages WHERE status = 'streaming'").get() as { n: number }).n).toBe(0);
  });

  it("while a document is indexed: no document is left indexing, and the index is sound", async () => {
    const collection = (await trpc(server, "knowledge.createCollection", { name: "Crash" }, admin)).json!.result!.data as { id: string };
    const small = Buffer.from("# Tides\n\nThe harbour gate opens two hours before high tide.").toString("base64");
    await (await streamed("knowledge.upload", { collectionId: collection.id, fileName: "tides.md", data: small })).text();
    const big = Array.from({ length: 6000 }, (_, i) => `## Section ${i}\n\nMoorings are checked every April; section ${i} lists the berths ${i * 7} to ${i * 7 + 6}.`).join("\n\n");
    const res = await streamed("knowledge.upload", { collectionId: collection.id, fileName: "handbook.md", data: Buffer.from(`# Handbook\n\n${big}`).toString("base64") });
    await readUntil(res, (l) => /"phase":"(chunking|embedding|storing|indexing)"/.test(l));
    await crashAndRestart();
    checkIntegrity();
    const statuses = readDb((db) => db.prepare("SELECT file_name AS name, status FROM knowledge_documents ORDER BY file_name").all() as Array<{ name: string; status: string }>);
    expect(statuses.filter((d) => d.status === "indexing")).toEqual([]);
    expect(statuses.find((d) => d.name === "tides.md")?.status).toBe("ready");
    // Search still works on what was indexed before the crash.
    const hits = await trpc(server, "knowledge.search", { query: "harbour gate" }, admin, "GET");
    expect(JSON.stringify(hits.json)).toContain("harbour gate");
  });

  it("while a training run trains: the orphaned trainer is stopped and the run resumes or fails, never stays running", async () => {
    const text = Array.from({ length: 200 }, (_, i) => `Paragraph ${i}: the harbour gate opens two hours before high tide and closes one hour after it.`).join("\n\n");
    const form = new FormData();
    form.set("name", "crash data");
    form.append("files", new Blob([text], { type: "text/plain" }), "harbour.txt");
    const upload = await fetch(`${server.url}/api/studio/datasets`, { method: "POST", headers: { cookie: admin.cookie, "x-atelier-csrf": admin.csrf }, body: form });
    expect(upload.status).toBe(200);
    const datasetId = ((await upload.json()) as { dataset: { id: string } }).dataset.id;
    const cleaning = { dedupe: true, nearDedupe: true, scrubPii: true, minChars: 0, maxChars: 100_000, heldOutFraction: 0.1 };
    const started = await trpc(server, "studio.runs.start", {
      datasetId, baseModelId: null, goal: "scratch", method: "scratch", scratchSize: "tiny", epochs: 1, cleaning,
      name: "crash run", advanced: { seqLen: 32, batch: 2, maxSteps: 100_000, saveEvery: 10 },
    }, admin);
    const runId = (started.json!.result!.data as { runId: string }).runId;
    let pid = 0;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const row = readDb((db) => db.prepare("SELECT status, step, pid FROM studio_runs WHERE id = ?").get(runId) as { status: string; step: number; pid: number | null });
      if (row.status === "running" && row.step >= 12 && row.pid) {
        pid = row.pid;
        break;
      }
      if (["failed", "succeeded", "cancelled"].includes(row.status)) throw new Error(`the run ended first: ${row.status}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(pid).toBeGreaterThan(0);
    await crashAndRestart();
    // Start-up recovery stops the trainer the dead server left behind (SIGTERM, it checkpoints and exits).
    const until = Date.now() + 30_000;
    while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    expect(alive(pid)).toBe(false);
    checkIntegrity();
    const row = readDb((db) => db.prepare("SELECT status, pid FROM studio_runs WHERE id = ?").get(runId) as { status: string; pid: number | null });
    expect(["queued", "running", "failed"]).toContain(row.status);
    if (row.status === "running") {
      expect(row.pid).not.toBe(pid);
      expect(alive(row.pid!)).toBe(true);
    }
    // Clean up: the resumed run is cancelled and its trainer exits.
    await trpc(server, "studio.runs.cancel", { id: runId }, admin);
    const end = Date.now() + 30_000;
    let last = row.status;
    while (Date.now() < end) {
      last = readDb((db) => (db.prepare("SELECT status FROM studio_runs WHERE id = ?").get(runId) as { status: string }).status);
      if (!["queued", "running"].includes(last)) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(["cancelled", "failed"]).toContain(last);
  });
});
