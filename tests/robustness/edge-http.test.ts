import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../browser/server";
import { healthProbe, SERVER_ENV, signIn, trpc, type Session } from "./client";

/*
 * The public edge over real HTTP, on `next start`:
 *  - one client address: without trusted proxies a forged X-Forwarded-For picks no new bucket
 *    for sign-in throttling, the widget or /v1; behind a trusted proxy the right-most untrusted
 *    hop is the client;
 *  - the worst request the limits allow (the longest history) does not stall anyone else: a
 *    health probe running beside it is always answered within 250 ms.
 */

let server: RunningServer;
let admin: Session;
let assistantId: string;
let publicId: string;
let apiKey: string;

beforeAll(async () => {
  server = await startServer(SERVER_ENV);
  admin = await signIn(server);
  assistantId = ((await trpc(server, "assistants.list", undefined, admin, "GET")).json!.result!.data as Array<{ id: string }>)[0]!.id;
  await trpc(server, "deploy.open", { assistantId }, admin);
  publicId = ((await trpc(server, "deploy.update", { assistantId, patch: { enabled: true, allowedOrigins: ["https://shop.example"], ipPerMinuteLimit: 3 } }, admin)).json!.result!.data as { publicId: string }).publicId;
  apiKey = ((await trpc(server, "deploy.createKey", { assistantId, name: "edge" }, admin)).json!.result!.data as { key: string }).key;
});

afterAll(async () => {
  await server?.stop();
  if (server) fs.rmSync(server.dataDir, { recursive: true, force: true });
});

const login = (s: RunningServer, email: string, password: string, xff?: string) =>
  fetch(`${s.url}/api/trpc/auth.login`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(xff ? { "x-forwarded-for": xff } : {}) },
    body: JSON.stringify({ email, password }),
  }).then(async (r) => (await r.arrayBuffer(), r.status));

describe("one client address (no trusted proxy)", () => {
  it("sign-in: a new X-Forwarded-For on every guess does not escape the per-address budget", async () => {
    // 25 guesses at once for different accounts, each claiming another address: the socket
    // (127.0.0.1) is the one client, and its budget of 20 evaluated failures holds.
    const statuses = await Promise.all(Array.from({ length: 25 }, (_, i) => login(server, `nobody${i}@example.test`, "wrong password", `198.51.100.${i + 1}`)));
    expect(statuses.filter((s) => s === 401)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
  });

  it("the widget's per-address limit holds whatever X-Forwarded-For says", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${server.url}/api/widget/${publicId}/history`, {
        method: "POST",
        headers: { origin: "https://shop.example", "content-type": "application/json", "x-forwarded-for": `203.0.113.${i + 1}` },
        body: JSON.stringify({ visitorId: "visitor-xff-1", conversationId: "no-such-conversation" }),
      });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses.map((s) => (s === 429 ? 429 : "answered"))).toEqual(["answered", "answered", "answered", 429, 429]);
  });

  it("/v1 counts by the socket address too", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json", "x-forwarded-for": `192.0.2.${i + 1}` },
        body: JSON.stringify({ model: publicId, messages: [{ role: "user", content: "hi" }], max_tokens: 1 }),
      });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe("routing on next start", () => {
  it("unknown /v1 routes and wrong methods answer OpenAI-shaped JSON; malformed paths and POSTs to static files answer 400/405, never 500", async () => {
    const cases: Array<[string, string, number]> = [
      ["GET", "/v1/chat/completions", 405],
      ["POST", "/v1/models", 405],
      ["POST", "/v1/embeddings", 404],
      ["GET", "/v1/a/b/c", 404],
    ];
    for (const [method, p, status] of cases) {
      const res = await fetch(`${server.url}${p}`, { method, headers: { authorization: `Bearer ${apiKey}` } });
      expect(res.status, `${method} ${p}`).toBe(status);
      expect(res.headers.get("content-type"), `${method} ${p}`).toMatch(/^application\/json/);
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
    }
    for (const [method, p, status] of [["GET", "/v1/%", 400], ["GET", "/w/%E0%A4%A", 400], ["POST", "/widget.js", 405], ["DELETE", "/icon.svg", 405]] as const) {
      const res = await fetch(`${server.url}${p}`, { method });
      expect(res.status, `${method} ${p}`).toBe(status);
      expect(((await res.json()) as { error: { message: string } }).error.message.length).toBeGreaterThan(10);
    }
  });
});

describe("behind a trusted proxy", () => {
  let proxied: RunningServer;
  beforeAll(async () => {
    proxied = await startServer({ ...SERVER_ENV, ATELIER_TRUSTED_PROXIES: "127.0.0.1, 10.0.0.0/8" });
  });
  afterAll(async () => {
    await proxied?.stop();
    if (proxied) fs.rmSync(proxied.dataDir, { recursive: true, force: true });
  });

  it("the right-most untrusted X-Forwarded-For hop is the client; what a client prepends is not", async () => {
    const email = "owner@example.test";
    // Five wrong guesses for one account from client 198.51.100.20 (through proxies 10.1.1.1 and the socket's 127.0.0.1).
    const five = await Promise.all(Array.from({ length: 5 }, (_, i) => login(proxied, email, "wrong", `${i}.${i}.${i}.${i}, 198.51.100.20, 10.1.1.1`)));
    expect(five).toEqual([401, 401, 401, 401, 401]);
    // The same client, whatever it prepends: locked on this account.
    expect(await login(proxied, email, "wrong", "9.9.9.9, 198.51.100.20, 10.1.1.1")).toBe(429);
    // Another client behind the same proxy: its own budget.
    expect(await login(proxied, email, "wrong", "198.51.100.21, 10.1.1.1")).toBe(401);
  });
});

describe("the worst request the limits allow", () => {
  it("a maximal /v1 history and a long console conversation stall no one: the health probe answers within 250 ms throughout", async () => {
    await trpc(server, "deploy.update", { assistantId, patch: { ipPerMinuteLimit: 0 } }, admin);
    // The model is loaded first: loading one is a start-up cost (node-llama-cpp resolves its chat
    // template on the event loop), not what this test measures.
    await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: publicId, messages: [{ role: "user", content: "hi" }], max_tokens: 1 }),
    }).then((r) => r.arrayBuffer());
    // Console: a stored conversation of 60 turns of 32,000 characters each (written to the database directly).
    const conv = (await trpc(server, "conversations.create", { assistantId }, admin)).json!.result!.data as { id: string };
    const db = new Database(path.join(server.dataDir, "atelier.db"), { fileMustExist: true });
    try {
      db.pragma("busy_timeout = 5000");
      const insert = db.prepare("INSERT INTO messages (id, conversation_id, position, role, content, status) VALUES (?, ?, ?, ?, ?, 'complete')");
      db.transaction(() => {
        for (let i = 0; i < 60; i++) insert.run(`long-${i}`, conv.id, i, i % 2 === 0 ? "user" : "assistant", `turn ${i} ${"{ x: [1, 2, 3] } ".repeat(1882)}`.slice(0, 32_000));
      })();
    } finally {
      db.close();
    }
    // /v1: as many messages and characters as one request may carry (100 messages, 256,000 characters).
    const messages = Array.from({ length: 99 }, (_, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content: `m${i} ${"lorem ipsum {[(<>)]} ".repeat(125)}`.slice(0, 2_580) }));
    messages.push({ role: "user", content: "What is Atelier?" });

    const probe = healthProbe(server, 20);
    const [api, consoleTurn] = await Promise.all([
      fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ model: publicId, messages, max_tokens: 16 }),
      }).then(async (r) => ({ status: r.status, body: await r.text() })),
      fetch(`${server.url}/api/trpc/chat.send?batch=1`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie: admin.cookie, "x-atelier-csrf": admin.csrf, "trpc-accept": "application/jsonl" },
        body: JSON.stringify({ 0: { kind: "send", conversationId: conv.id, content: "And what about training?" } }),
      }).then(async (r) => ({ status: r.status, body: await r.text() })),
    ]);
    await new Promise((r) => setTimeout(r, 300));
    await probe.stop();
    const worst = Math.max(...probe.results.map((p) => p.ms));
    console.log(`[stall] health probe during the worst-case requests: worst ${Math.round(worst)} ms (${probe.results.map((p) => Math.round(p.ms)).join(" ")}); load average ${os.loadavg()[0]!.toFixed(1)}`);
    expect(api.status, api.body.slice(0, 300)).toBe(200);
    expect(consoleTurn.status).toBe(200);
    expect(consoleTurn.body).toContain('"type":"done"');
    expect(probe.results.length).toBeGreaterThan(5);
    expect(probe.results.filter((p) => p.status !== 200)).toEqual([]);
    expect(worst).toBeLessThan(250);
  });
});
