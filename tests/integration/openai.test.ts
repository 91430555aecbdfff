import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usageCounters } from "@/server/edge/schema";
import { freshApp } from "../helpers/app";
import { deployDefault, type App } from "../widget/helpers";
import { loopbackServer } from "../widget/loopback";

// The official `openai` client against the real route handlers served on 127.0.0.1.
let app: App;
let server: Awaited<ReturnType<typeof loopbackServer>>;
let publicId: string;
let assistantId: string;
let key: string;
const client = (apiKey = key) => new OpenAI({ apiKey, baseURL: `${server.url}/v1`, maxRetries: 0 });

beforeAll(async () => {
  app = await freshApp();
  ({ publicId, assistantId } = await deployDefault(app, [], 16));
  ({ key } = await app.caller().deploy.createKey({ assistantId, name: "tests" }));
  server = await loopbackServer();
});

afterAll(async () => {
  await server?.close();
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe("OpenAI-compatible API", () => {
  it("stores only the key's hash and lists the key's assistant as its one model", async () => {
    const { keys } = await app.caller().deploy.get({ assistantId });
    expect(JSON.stringify(keys)).not.toContain(key);
    const models = await client().models.list();
    expect(models.data.map((m) => m.id)).toEqual([publicId]);
  });

  it("answers without streaming, with usage from the engine", async () => {
    const res = await client().chat.completions.create({ model: publicId, messages: [{ role: "user", content: "What is Atelier?" }] });
    expect(res.object).toBe("chat.completion");
    expect(res.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(["stop", "length"]).toContain(res.choices[0]!.finish_reason);
    const u = res.usage!;
    expect(u.prompt_tokens).toBeGreaterThan(0);
    expect(u.completion_tokens).toBeGreaterThan(0);
    expect(u.total_tokens).toBe(u.prompt_tokens + u.completion_tokens);
  });

  it("streams chunks, with usage at the end when asked", async () => {
    const stream = await client().chat.completions.create({
      model: publicId,
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: "system", content: "ignored: the assistant's persona applies" },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello! Ask me about Atelier." },
        { role: "user", content: "How do I train a model?" },
      ],
    });
    let text = "";
    let deltas = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (c?.delta.content) {
        text += c.delta.content;
        deltas++;
      }
      if (c?.finish_reason) finish = c.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(deltas).toBeGreaterThan(1);
    expect(text.length).toBeGreaterThan(0);
    expect(finish).not.toBeNull();
    expect(usage!.completion_tokens).toBeGreaterThan(0);
    expect(usage!.total_tokens).toBe(usage!.prompt_tokens + usage!.completion_tokens);
  });

  it("OpenAI-shaped errors: bad key 401, unknown model 404, bad request 400", async () => {
    await expect(client("atl_not-a-real-key-000000").models.list()).rejects.toMatchObject({ status: 401, code: "invalid_api_key" });
    const noAuth = await fetch(`${server.url}/v1/models`);
    expect(noAuth.status).toBe(401);
    expect(((await noAuth.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
    await expect(client().chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: 404, code: "model_not_found" });
    await expect(client().chat.completions.create({ model: publicId, messages: [{ role: "assistant", content: "hi" }] })).rejects.toMatchObject({ status: 400 });
    await expect(client().chat.completions.create({ model: publicId, messages: [] })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    const bad = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: "{" });
    expect(bad.status).toBe(400);
  });

  it("the daily quota answers 429, and a revoked key stops working", async () => {
    app.db.delete(usageCounters).run();
    await app.caller().deploy.update({ assistantId, patch: { dailyLimit: 1 } });
    await client().chat.completions.create({ model: publicId, messages: [{ role: "user", content: "one" }] });
    await expect(client().chat.completions.create({ model: publicId, messages: [{ role: "user", content: "two" }] })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    await app.caller().deploy.update({ assistantId, patch: { dailyLimit: 0 } });

    const { keys } = await app.caller().deploy.get({ assistantId });
    await app.caller().deploy.revokeKey({ assistantId, keyId: keys[0]!.id });
    await expect(client().models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});
