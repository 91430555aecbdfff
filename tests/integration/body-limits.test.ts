import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshApp } from "../helpers/app";
import { deployDefault, type App } from "../widget/helpers";

/*
 * Every route reads its body under a limit, before parsing: a declared Content-Length over it is
 * refused without reading, and a chunked body is cut off at the limit (the test counts the bytes
 * the server actually pulled from a 100 MB stream). Anonymous callers get the smallest limit.
 */

let app: App;
let publicId: string;
let key: string;
let editor: { token: string; csrfToken: string };
const MB = 1024 * 1024;

beforeAll(async () => {
  app = await freshApp();
  let assistantId: string;
  ({ publicId, assistantId } = await deployDefault(app, ["https://shop.example"]));
  ({ key } = await app.caller().deploy.createKey({ assistantId, name: "limits" }));
  const { signedInSession } = await import("../helpers/app");
  editor = await signedInSession(app.db, "editor");
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

/**
 * A body of `total` bytes of `fill`, produced on demand; `pulled()` says how much was taken from
 * it. The Request wrapping it reads ahead of the server by up to ~1.5 MB (its own queue), so the
 * bounds below allow for that: what matters is megabytes, not the 100 MB sent.
 */
function hugeBody(total: number, fill = "a") {
  const chunk = new TextEncoder().encode(fill.repeat(64 * 1024));
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) return controller.close();
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return { stream, pulled: () => sent };
}

/** A request as the server sees it: stamped with the client's socket address. */
async function request(url: string, init: RequestInit & { headers?: Record<string, string> }) {
  const { PEER_HEADER, peerStamp } = await import("@/server/edge/peer");
  return new Request(url, { ...init, headers: { ...init.headers, [PEER_HEADER]: peerStamp("203.0.113.5") }, duplex: "half" } as RequestInit);
}

const trpcRoute = () => import("@/app/api/trpc/[trpc]/route");

describe("request bodies are limited before they are parsed", () => {
  it("anonymous tRPC (auth.login): a 100 MB chunked body is cut off at 64 KiB with a 413", async () => {
    const body = hugeBody(100 * MB, '{"email":"x"');
    const res = await (await trpcRoute()).POST(await request("http://atelier.test/api/trpc/auth.login", { method: "POST", body: body.stream, headers: { "content-type": "application/json" } }));
    expect(res.status).toBe(413);
    const json = (await res.json()) as { error: { message: string; data: { code: string } } };
    expect(json.error.data.code).toBe("PAYLOAD_TOO_LARGE");
    expect(json.error.message).toMatch(/64 KiB/);
    expect(body.pulled()).toBeLessThan(2 * MB);
  });

  it("a declared Content-Length over the limit is refused without reading a byte, batched calls included", async () => {
    const body = hugeBody(100 * MB);
    const res = await (await trpcRoute()).POST(
      await request("http://atelier.test/api/trpc/auth.login,auth.setup?batch=1", { method: "POST", body: body.stream, headers: { "content-type": "application/json", "content-length": String(100 * MB) } }),
    );
    expect(res.status).toBe(413);
    const json = (await res.json()) as Array<{ error: { data: { code: string } } }>;
    expect(json.map((j) => j.error.data.code)).toEqual(["PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE"]);
    expect(body.pulled()).toBeLessThanOrEqual(64 * 1024);
  });

  it("signed in: a larger limit, still bounded", async () => {
    const { signedInBodyLimit } = await import("@/server/api/request-limits");
    const headers = { "content-type": "application/json", cookie: `atelier_session=${editor.token}`, "x-atelier-csrf": editor.csrfToken };
    const body = hugeBody(100 * MB);
    const res = await (await trpcRoute()).POST(await request("http://atelier.test/api/trpc/chat.send", { method: "POST", body: body.stream, headers }));
    expect(res.status).toBe(413);
    expect(body.pulled()).toBeLessThan(signedInBodyLimit() + 2 * MB);
    // A normal signed-in request still works.
    const ok = await (await trpcRoute()).POST(await request("http://atelier.test/api/trpc/conversations.list", { method: "GET", headers }));
    expect(ok.status).toBe(200);
  });

  it("the widget's chat endpoint: 100 MB is cut off, after the origin check", async () => {
    const route = await import("@/app/api/widget/[publicId]/[action]/route");
    const params = { params: Promise.resolve({ publicId, action: "chat" }) };
    const refused = hugeBody(100 * MB);
    const wrongSite = await route.POST(await request(`http://atelier.test/api/widget/${publicId}/chat`, { method: "POST", body: refused.stream, headers: { origin: "https://evil.example" } }), params);
    expect(wrongSite.status).toBe(403);
    expect(refused.pulled()).toBeLessThanOrEqual(64 * 1024);
    const body = hugeBody(100 * MB);
    const res = await route.POST(await request(`http://atelier.test/api/widget/${publicId}/chat`, { method: "POST", body: body.stream, headers: { origin: "https://shop.example" } }), params);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toMatch(/too large/);
    expect(body.pulled()).toBeLessThan(2 * MB);
  });

  it("/v1/chat/completions: nothing is read without a key, and a keyed body is cut off", async () => {
    const route = await import("@/app/v1/chat/completions/route");
    const anonymous = hugeBody(100 * MB);
    const noKey = await route.POST(await request("http://atelier.test/v1/chat/completions", { method: "POST", body: anonymous.stream }));
    expect(noKey.status).toBe(401);
    expect(anonymous.pulled()).toBeLessThanOrEqual(64 * 1024);
    const body = hugeBody(100 * MB);
    const res = await route.POST(await request("http://atelier.test/v1/chat/completions", { method: "POST", body: body.stream, headers: { authorization: `Bearer ${key}` } }));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
    expect(body.pulled()).toBeLessThan(6 * MB);
  });

  it("the studio's dataset upload: a chunked body over ATELIER_MAX_UPLOAD_MB is cut off", async () => {
    const route = await import("@/app/api/studio/datasets/route");
    const { maxUploadBytes } = await import("@/server/studio");
    const body = hugeBody(maxUploadBytes() * 3);
    const res = await route.POST(
      await request("http://atelier.test/api/studio/datasets", {
        method: "POST",
        body: body.stream,
        headers: { "content-type": "multipart/form-data; boundary=x", cookie: `atelier_session=${editor.token}`, "x-atelier-csrf": editor.csrfToken },
      }),
    );
    expect(res.status).toBe(413);
    expect(body.pulled()).toBeLessThan(maxUploadBytes() + 4 * MB);
  });

  it("Try it: the messages together are bounded by ATELIER_MAX_REQUEST_CHARS", async () => {
    const { env } = await import("@/server/env");
    const each = env().ATELIER_MAX_MESSAGE_CHARS;
    const count = Math.ceil(env().ATELIER_MAX_REQUEST_CHARS / each) + 1;
    const messages = Array.from({ length: count }, (_, i) => ({ role: i % 2 === 0 ? ("user" as const) : ("assistant" as const), content: "z".repeat(each) }));
    if (messages.at(-1)!.role !== "user") messages.push({ role: "user", content: "hi" });
    const a = (await app.caller().assistants.list())[0]!;
    const detail = await app.caller().assistants.get({ id: a.id });
    const draft = { systemPrompt: detail.systemPrompt, outOfScopeReply: null, historyWindow: 0, sampling: detail.sampling, modelId: detail.modelId };
    await expect(app.caller().assistants.previewPrompt({ draft, messages })).rejects.toMatchObject({ code: "PAYLOAD_TOO_LARGE", message: expect.stringMatching(/characters in all/) });
  });
});
