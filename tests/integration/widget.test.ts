import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conversations, messages } from "@/server/db/schema";
import { auditLog } from "@/server/db/auth-tables";
import { PEER_HEADER, peerStamp } from "@/server/edge/peer";
import { usageCounters } from "@/server/edge/schema";
import { freshApp } from "../helpers/app";
import { deployDefault, readNdjson, signToken, type App } from "../widget/helpers";
import { loopbackServer } from "../widget/loopback";

const SITE = "https://shop.example";
const SELF = "http://atelier.test";
let app: App;
let publicId: string;
let assistantId: string;
let secret: string;

type ReqOpts = { method?: string; origin?: string | null; body?: unknown; ip?: string; headers?: Record<string, string> };

/** A real Request through the real route handler, as a browser on `origin` would send it. */
async function call(action: string, opts: ReqOpts = {}, id = publicId): Promise<Response> {
  const route = await import("@/app/api/widget/[publicId]/[action]/route");
  // A client at `ip`, as the server stamps the socket's peer (instrumentation.ts).
  const headers: Record<string, string> = { [PEER_HEADER]: peerStamp(opts.ip ?? "203.0.113.7"), ...opts.headers };
  const origin = opts.origin === undefined ? SITE : opts.origin;
  if (origin) headers.origin = origin;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const method = opts.method ?? (opts.body === undefined ? "GET" : "POST");
  const req = new Request(`${SELF}/api/widget/${id}/${action}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  return route[method as "GET"](req, { params: Promise.resolve({ publicId: id, action }) });
}

const chat = (visitorId: string, content: string, extra: Record<string, unknown> = {}, opts: ReqOpts = {}) =>
  call("chat", { ...opts, body: { visitorId, content, ...extra } });

const update = (patch: Record<string, unknown>) => app.caller().deploy.update({ assistantId, patch });

beforeAll(async () => {
  app = await freshApp();
  ({ publicId, assistantId, secret } = await deployDefault(app, [SITE]));
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe("who may call", () => {
  it("serves config to an allowed origin, with CORS for that origin only", async () => {
    const res = await call("config");
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(SITE);
    const cfg = (await res.json()) as { title: string; position: string };
    expect(cfg.title).toBe("Atelier Guide");
    expect(JSON.stringify(cfg)).not.toContain(assistantId);
  });

  it("refuses a request without Origin, and one from a site not on the list", async () => {
    const none = await call("config", { origin: null });
    expect(none.status).toBe(403);
    expect(((await none.json()) as { error: string }).error).toMatch(/Origin/);
    const other = await call("config", { origin: "https://evil.example" });
    expect(other.status).toBe(403);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    // Same host, other port or scheme: a different origin.
    expect((await call("config", { origin: "http://shop.example" })).status).toBe(403);
    expect((await call("config", { origin: "https://shop.example:8443" })).status).toBe(403);
  });

  it("accepts the iframe page (same origin) only when it names an allowed embedding site", async () => {
    expect((await call("config", { origin: SELF, headers: { "x-atelier-embed-origin": SITE } })).status).toBe(200);
    expect((await call("config", { origin: SELF, headers: { "x-atelier-embed-origin": "https://evil.example" } })).status).toBe(403);
    expect((await call("config", { origin: SELF })).status).toBe(403);
  });

  it("an empty allowlist turns the widget off unless 'any origin' is chosen", async () => {
    await update({ allowedOrigins: [] });
    expect((await call("config")).status).toBe(403);
    await update({ anyOrigin: true });
    expect((await call("config", { origin: "https://anyone.example" })).status).toBe(200);
    await update({ anyOrigin: false, allowedOrigins: [SITE] });
  });

  it("unknown ids, internal ids and disabled deployments are all 404", async () => {
    expect((await call("config", {}, "asst_AAAAAAAAAAAAAAAA")).status).toBe(404);
    expect((await call("config", {}, assistantId)).status).toBe(404);
    await update({ enabled: false });
    const off = await call("config");
    expect(off.status).toBe(404);
    expect((await chat("visitor-off-1", "hi")).status).toBe(404);
    await update({ enabled: true });
  });

  it("the iframe page's CSP lets only the allowlist frame it", async () => {
    const route = await import("@/app/w/[publicId]/route");
    const res = await route.GET(new Request(`${SELF}/w/${publicId}`), { params: Promise.resolve({ publicId }) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain(`frame-ancestors ${SITE}`);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const missing = await route.GET(new Request(`${SELF}/w/nope`), { params: Promise.resolve({ publicId: "nope" }) });
    expect(missing.status).toBe(404);
  });

  it("origins are validated when saved", async () => {
    await expect(update({ allowedOrigins: ["https://shop.example/path"] })).rejects.toThrow(/origin/);
    await expect(update({ allowedOrigins: ["*.example.com"] })).rejects.toThrow();
    const d = await update({ allowedOrigins: ["HTTPS://Shop.Example:443", SITE] });
    expect(d.allowedOrigins).toEqual([SITE]);
    const viewer = await app.callerAs("viewer");
    await expect(viewer.deploy.update({ assistantId, patch: { enabled: false } })).rejects.toThrow(/editor/);
    const audit = app.db.select().from(auditLog).where(eq(auditLog.action, "deployment.update")).all();
    expect(audit.length).toBeGreaterThan(0);
  });
});

describe("chatting", () => {
  it("streams an answer as NDJSON and keeps the conversation for the visitor", async () => {
    const res = await chat("visitor-aaaa-1", "What is Atelier?");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    const events = await readNdjson(res);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("conversation");
    expect(types).toContain("token");
    expect(types.at(-1)).toBe("done");
    const conversationId = events[0]!.conversationId as string;
    const row = app.db.select().from(conversations).where(eq(conversations.id, conversationId)).get()!;
    expect(row).toMatchObject({ channel: "widget", origin: SITE, visitorId: "visitor-aaaa-1", visitorVerified: false });

    // History comes back for the same visitor, never for another one.
    const history = await call("history", { body: { visitorId: "visitor-aaaa-1", conversationId } });
    const h = (await history.json()) as { messages: { id: string; role: string }[] };
    expect(h.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect((await call("history", { body: { visitorId: "visitor-bbbb-2", conversationId } })).status).toBe(404);
    expect((await chat("visitor-bbbb-2", "hi", { conversationId })).status).toBe(404);

    // Thumbs up on the answer lands in messages.feedback.
    const answer = h.messages[1]!;
    const fb = await call("feedback", { body: { visitorId: "visitor-aaaa-1", conversationId, messageId: answer.id, value: 1 } });
    expect(fb.status).toBe(200);
    expect(app.db.select().from(messages).where(eq(messages.id, answer.id)).get()!.feedback).toBe(1);
    const stranger = await call("feedback", { body: { visitorId: "visitor-bbbb-2", conversationId, messageId: answer.id, value: -1 } });
    expect(stranger.status).toBe(404);

    // A follow-up continues the same conversation.
    const more = await readNdjson(await chat("visitor-aaaa-1", "And then?", { conversationId }));
    expect(more[0]!.conversationId).toBe(conversationId);

    // The owner sees it, and can export it.
    const list = await app.caller().deploy.conversations({ assistantId });
    expect(list.find((c) => c.id === conversationId)).toMatchObject({ origin: SITE, visitorId: "visitor-aaaa-1", thumbsUp: 1, messageCount: 4 });
    const csv = await app.caller().deploy.export({ assistantId, format: "csv" });
    expect(csv.content.split("\r\n")[0]).toContain("conversationId");
    expect(csv.content).toContain('"What is Atelier?"');
    const jsonl = await app.caller().deploy.export({ assistantId, format: "jsonl" });
    const lines = jsonl.content.trim().split("\n").map((l) => JSON.parse(l) as { conversationId: string; feedback: number | null });
    expect(lines.filter((l) => l.conversationId === conversationId)).toHaveLength(4);
  });

  it("rejects empty and oversized messages with clear errors", async () => {
    const empty = await chat("visitor-cccc-3", "   ");
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: string }).error).toMatch(/type a message/);
    const big = await chat("visitor-cccc-3", "x".repeat(2001));
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: string }).error).toMatch(/too long/);
    expect((await chat("bad id!", "hello")).status).toBe(400);
    const notJson = await call("chat", { body: undefined, method: "POST" });
    expect(notJson.status).toBe(400);
  });

  it("verifies signed identities: valid, forged and expired", async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const ok = await chat("visitor-dddd-4", "Hello", { identity: signToken(secret, "user.42", exp) });
    expect(ok.status).toBe(200);
    const events = await readNdjson(ok);
    const row = app.db.select().from(conversations).where(eq(conversations.id, events[0]!.conversationId as string)).get()!;
    expect(row).toMatchObject({ visitorId: "user.42", visitorVerified: true });
    // The verified conversation needs the identity: the anonymous id alone cannot read it.
    expect((await call("history", { body: { visitorId: "visitor-dddd-4", conversationId: row.id } })).status).toBe(404);

    const forged = await chat("visitor-dddd-4", "Hello", { identity: signToken("whsec_wrong", "user.42", exp) });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: string }).error).toMatch(/signature/);
    const tampered = signToken(secret, "user.42", exp).replace("user.42", "user.43");
    expect((await chat("visitor-dddd-4", "Hello", { identity: tampered })).status).toBe(401);
    const expired = await chat("visitor-dddd-4", "Hello", { identity: signToken(secret, "user.42", Math.floor(Date.now() / 1000) - 5) });
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { error: string }).error).toMatch(/expired/);
    expect((await chat("visitor-dddd-4", "Hello", { identity: "garbage" })).status).toBe(401);

    // Rotating the secret invalidates tokens signed with the old one.
    const rotated = await app.caller().deploy.rotateSecret({ assistantId });
    expect((await chat("visitor-dddd-4", "Hello", { identity: signToken(secret, "user.42", exp) })).status).toBe(401);
    secret = rotated.identitySecret;
  });

  it("rate-limits each IP per minute, with a friendly 429: POSTs count, GETs are refused once over but never counted", async () => {
    await update({ ipPerMinuteLimit: 3 });
    const ip = "198.51.100.9";
    const post = () => call("history", { ip, body: { visitorId: "visitor-rate-1", conversationId: "no-such-conversation" } });
    for (let i = 0; i < 5; i++) expect((await call("config", { ip })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await post()).status).not.toBe(429);
    const limited = await post();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await limited.json()) as { error: string }).error).toMatch(/too quickly/);
    expect((await call("config", { ip })).status).toBe(429);
    expect((await call("config", { ip: "198.51.100.10" })).status).toBe(200);
    await update({ ipPerMinuteLimit: 0 });
  });
});

describe("quotas under load (loopback HTTP)", () => {
  it("50 concurrent visitors against a daily quota of 20: exactly 20 answered, 30 refused, no 5xx", async () => {
    app.db.delete(usageCounters).run(); // earlier tests used some of today's quota
    await update({ dailyLimit: 20, visitorDailyLimit: 1, ipPerMinuteLimit: 0 });
    const server = await loopbackServer();
    try {
      const send = async (i: number) => {
        const res = await fetch(`${server.url}/api/widget/${publicId}/chat`, {
          method: "POST",
          headers: { origin: SITE, "content-type": "application/json" },
          body: JSON.stringify({ visitorId: `load-visitor-${i}`, content: `Question ${i}` }),
        });
        const text = await res.text();
        return { status: res.status, text };
      };
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => send(i)));
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s >= 500)).toEqual([]);
      expect(statuses.filter((s) => s === 200)).toHaveLength(20);
      expect(statuses.filter((s) => s === 429)).toHaveLength(30);
      const refusal = results.find((r) => r.status === 429)!;
      expect(JSON.parse(refusal.text).error).toMatch(/all the messages it can for today/);
      for (const r of results.filter((x) => x.status === 200)) expect(r.text).toContain('"type":"done"');
    } finally {
      await server.close();
    }
  });

  it("the per-visitor daily quota stops a second message from the same visitor", async () => {
    await update({ dailyLimit: 0, visitorDailyLimit: 1 });
    expect((await chat("quota-visitor-1", "one")).status).toBe(200);
    const second = await chat("quota-visitor-1", "two");
    expect(second.status).toBe(429);
    expect(((await second.json()) as { error: string }).error).toMatch(/today's message limit/);
    expect((await chat("quota-visitor-2", "one")).status).toBe(200);
  });
});
