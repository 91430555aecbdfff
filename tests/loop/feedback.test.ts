import OpenAI from "openai";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knowledgeRevision } from "@/server/chat";
import { assistants, messages } from "@/server/db/schema";
import { knowledgeCollections, knowledgeDocuments } from "@/server/knowledge/schema";
import { collect, freshApp } from "../helpers/app";
import { deployDefault, type App } from "../widget/helpers";
import { loopbackServer } from "../widget/loopback";
import { widgetChat, widgetFeedback } from "./helpers";

// Feedback on every channel, through the public surfaces: the official `openai` client and the
// widget over real HTTP on loopback, and the console through the tRPC router; the real starter model answers.
let app: App;
let server: Awaited<ReturnType<typeof loopbackServer>>;
let publicId: string;
let assistantId: string;
let key: string;
let otherKey: string;
const client = (apiKey = key) => new OpenAI({ apiKey, baseURL: `${server.url}/v1`, maxRetries: 0 });
const row = (id: string) => app.db.select().from(messages).where(eq(messages.id, id)).get()!;

beforeAll(async () => {
  app = await freshApp();
  ({ publicId, assistantId } = await deployDefault(app, ["https://shop.example"], 8));
  ({ key } = await app.caller().deploy.createKey({ assistantId, name: "tests" }));
  const other = await app.caller().assistants.duplicate({ id: assistantId });
  ({ key: otherKey } = await app.caller().deploy.createKey({ assistantId: other.id, name: "other" }));
  server = await loopbackServer();
});

afterAll(async () => {
  await server?.close();
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe("API feedback", () => {
  it("the completion id names the stored answer; POST /v1/feedback rates it with a comment", async () => {
    const res = await client().chat.completions.create({ model: publicId, messages: [{ role: "user", content: "What is Atelier?" }] });
    expect(res.id).toMatch(/^chatcmpl-[0-9a-f-]{36}$/);
    const messageId = res.id.slice("chatcmpl-".length);
    expect(row(messageId)).toMatchObject({ role: "assistant", content: res.choices[0]!.message.content });

    const fb = await client().post<{ id: string; rating: number; comment: string }>("/feedback", { body: { id: res.id, rating: "down", comment: "Too vague." } });
    expect(fb).toMatchObject({ id: res.id, rating: -1, comment: "Too vague." });
    expect(row(messageId)).toMatchObject({ feedback: -1, feedbackComment: "Too vague." });
    expect(row(messageId).feedbackAt).toBeGreaterThan(0);
  });

  it("a streamed completion carries the same kind of id in every chunk", async () => {
    const stream = await client().chat.completions.create({ model: publicId, stream: true, messages: [{ role: "user", content: "Hi" }] });
    const ids = new Set<string>();
    for await (const chunk of stream) ids.add(chunk.id);
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect(row(id!.slice("chatcmpl-".length)).role).toBe("assistant");
    await client().post("/feedback", { body: { id, rating: 1 } });
    expect(row(id!.slice("chatcmpl-".length)).feedback).toBe(1);
  });

  it("another assistant's key, an unknown id and a bad rating are refused; the 404s read alike", async () => {
    const res = await client().chat.completions.create({ model: publicId, messages: [{ role: "user", content: "Hello" }] });
    const foreign = await fetch(`${server.url}/v1/feedback`, {
      method: "POST",
      headers: { authorization: `Bearer ${otherKey}`, "content-type": "application/json" },
      body: JSON.stringify({ id: res.id, rating: 1 }),
    });
    const unknown = await fetch(`${server.url}/v1/feedback`, {
      method: "POST",
      headers: { authorization: `Bearer ${otherKey}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "chatcmpl-00000000-0000-0000-0000-000000000000", rating: 1 }),
    });
    expect(foreign.status).toBe(404);
    expect(unknown.status).toBe(404);
    const a = (await foreign.json()) as { error: { message: string; type: string } };
    const b = (await unknown.json()) as { error: { message: string; type: string } };
    expect(a.error.type).toBe(b.error.type);
    expect(a.error.message.replace(res.id, "ID")).toBe(b.error.message.replace("chatcmpl-00000000-0000-0000-0000-000000000000", "ID"));
    expect(row(res.id.slice(9)).feedback).toBeNull();

    const noKey = await fetch(`${server.url}/v1/feedback`, { method: "POST", body: JSON.stringify({ id: res.id, rating: 1 }) });
    expect(noKey.status).toBe(401);
    const bad = await fetch(`${server.url}/v1/feedback`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ id: res.id, rating: 5 }),
    });
    expect(bad.status).toBe(400);
    const long = await fetch(`${server.url}/v1/feedback`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ id: res.id, rating: -1, comment: "x".repeat(2001) }),
    });
    expect(long.status).toBe(413);
    expect(((await long.json()) as { error: { message: string } }).error.message).toContain("limit is 2000");
  });
});

describe("widget and console feedback", () => {
  it("the widget's thumbs carry an optional comment", async () => {
    const turn = await widgetChat(server.url, publicId, "visitor-feedback-1", "How do I embed the widget?");
    const res = await widgetFeedback(server.url, publicId, { visitorId: "visitor-feedback-1", conversationId: turn.conversationId, messageId: turn.messageId, value: -1, comment: "Wrong steps" });
    expect(res.status).toBe(200);
    expect(row(turn.messageId)).toMatchObject({ feedback: -1, feedbackComment: "Wrong steps" });
  });

  it("console thumbs up/down with a comment, only on the caller's own answers", async () => {
    const caller = app.caller();
    const conv = await caller.conversations.create({ assistantId });
    const events = await collect(await caller.chat.send({ kind: "send", conversationId: conv.id, content: "Hello there" }));
    const done = events.find((e) => e.type === "done") as { message: { id: string } };
    const saved = await caller.chat.feedback({ messageId: done.message.id, value: 1, comment: "  Helpful  " });
    expect(saved).toMatchObject({ feedback: 1, feedbackComment: "Helpful" });
    const cleared = await caller.chat.feedback({ messageId: done.message.id, value: null });
    expect(cleared).toMatchObject({ feedback: null, feedbackComment: null, feedbackAt: null });

    const viewer = await app.callerAs("viewer");
    await expect(viewer.chat.feedback({ messageId: done.message.id, value: -1 })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(viewer.chat.feedback({ messageId: "no-such-message", value: -1 })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(caller.chat.feedback({ messageId: done.message.id, value: -1, comment: "y".repeat(2001) })).rejects.toThrow(/limit is 2000/);
    const user = events.find((e) => e.type === "user") as { message: { id: string } };
    await expect(caller.chat.feedback({ messageId: user.message.id, value: 1 })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("each answer stores the model version, persona revision and knowledge revision that produced it", async () => {
    const caller = app.caller();
    const conv = await caller.conversations.create({ assistantId });
    const answerOf = async (content: string) => {
      const events = await collect(await caller.chat.send({ kind: "send", conversationId: conv.id, content }));
      return row((events.find((e) => e.type === "done") as { message: { id: string } }).message.id);
    };
    const a = await answerOf("First question");
    const assistant = app.db.select().from(assistants).where(eq(assistants.id, assistantId)).get()!;
    expect(a.modelId).toBe(assistant.modelId);
    expect(a.personaRevision).toMatch(/^[0-9a-f]{12}$/);
    expect(a.knowledgeRevision).toBeNull(); // no collections: knowledge off
    expect(a.regenerated).toBe(false);

    const b = await answerOf("Second question");
    expect(b.personaRevision).toBe(a.personaRevision);
    app.db.update(assistants).set({ systemPrompt: `${assistant.systemPrompt} Be brief.` }).where(eq(assistants.id, assistantId)).run();
    const c = await answerOf("Third question");
    expect(c.personaRevision).not.toBe(a.personaRevision);

    const events = await collect(await caller.chat.send({ kind: "regenerate", conversationId: conv.id, messageId: c.id }));
    const again = row((events.find((e) => e.type === "done") as { message: { id: string } }).message.id);
    expect(again.regenerated).toBe(true);
  });

  it("the knowledge revision follows the documents of the assistant's collections", () => {
    expect(knowledgeRevision(app.db, [])).toBeNull();
    app.db.insert(knowledgeCollections).values({ id: "kc-1", name: "Docs" }).run();
    const doc = { id: "doc-1", collectionId: "kc-1", title: "Guide", fileName: "guide.md", mime: "text/markdown", sha256: "a".repeat(64), sizeBytes: 10 };
    app.db.insert(knowledgeDocuments).values(doc).run();
    const first = knowledgeRevision(app.db, ["kc-1"]);
    expect(first).toMatch(/^[0-9a-f]{12}$/);
    expect(knowledgeRevision(app.db, ["kc-1"])).toBe(first);
    app.db.update(knowledgeDocuments).set({ sha256: "b".repeat(64) }).where(eq(knowledgeDocuments.id, "doc-1")).run();
    expect(knowledgeRevision(app.db, ["kc-1"])).not.toBe(first);
  });
});
