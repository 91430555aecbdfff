import { TRPCError } from "@trpc/server";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assistants, messages } from "@/server/db/schema";
import type { ChatEvent } from "@/server/chat";
import { collect, freshApp } from "../helpers/app";

let app: Awaited<ReturnType<typeof freshApp>>;

async function newConversation() {
  const [assistant] = await app.caller().assistants.list();
  if (!assistant) throw new Error("no default assistant");
  return app.caller().conversations.create({ assistantId: assistant.id });
}

function setMaxTokens(n: number, temperature = 0.8) {
  const a = app.db.select().from(assistants).get()!;
  app.db.update(assistants).set({ sampling: { ...a.sampling, maxTokens: n, temperature } }).where(eq(assistants.id, a.id)).run();
}

beforeAll(async () => {
  app = await freshApp();
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe("first start", () => {
  it("has a default assistant on the ready starter model", async () => {
    const [assistant] = await app.caller().assistants.list();
    expect(assistant?.isDefault).toBe(true);
    const models = await app.caller().models.list();
    const starter = models.find((m) => m.id === assistant?.modelId);
    expect(starter?.status).toBe("ready");
    expect(starter?.architecture).toBe("llama");
    expect(starter?.sizeBytes).toBeGreaterThan(0);
    expect(starter?.contextLength).toBeGreaterThan(0);
    expect(assistant?.modelLabel).toBe(starter?.name);
    // The starter model was trained under this exact prompt.
    const { STARTER_SYSTEM_PROMPT } = await import("@/server/forge/starter/recipe");
    expect(assistant?.systemPrompt).toBe(STARTER_SYSTEM_PROMPT);
  });

  it("reports the backend that serves", async () => {
    const status = await app.caller().system.status();
    expect(["cpu", "cuda", "vulkan", "metal"]).toContain(status.backend);
    expect(status.ram.total).toBeGreaterThan(0);
  });
});

describe("chat.send", () => {
  it("persists the user message first, streams tokens, and stores the answer with stats", async () => {
    setMaxTokens(48);
    const conv = await newConversation();
    const events: ChatEvent[] = [];
    let userVisibleBeforeAnswer = false;
    for await (const ev of await app.caller().chat.send({ kind: "send", conversationId: conv.id, content: "What is Atelier?" })) {
      events.push(ev);
      if (ev.type === "user") {
        const { messages: stored } = await app.caller().conversations.get({ id: conv.id });
        userVisibleBeforeAnswer = stored.some((m) => m.role === "user" && m.content === "What is Atelier?");
      }
    }
    expect(userVisibleBeforeAnswer).toBe(true);
    expect(events[0]?.type).toBe("user");
    expect(events[1]?.type).toBe("start");
    const tokens = events.filter((e) => e.type === "token");
    expect(tokens.length).toBeGreaterThan(1);
    const done = events.at(-1);
    expect(done?.type).toBe("done");
    if (done?.type !== "done") return;
    expect(done.message.status).toBe("complete");
    expect(done.message.content).toBe(tokens.map((t) => (t.type === "token" ? t.text : "")).join(""));
    expect(done.message.completionTokens).toBeGreaterThan(0);
    expect(done.message.promptTokens).toBeGreaterThan(0);
    expect(done.message.ttftMs).toBeGreaterThan(0);
    expect(done.message.modelLabel).toBeTruthy();

    const got = await app.caller().conversations.get({ id: conv.id });
    expect(got.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(got.conversation.title).toBe("What is Atelier?");
  });

  it("stops on abort, keeps the partial text and marks it interrupted", async () => {
    setMaxTokens(400, 1.0);
    const conv = await newConversation();
    const controller = new AbortController();
    const events: ChatEvent[] = [];
    let tokens = 0;
    for await (const ev of await app.caller(controller.signal).chat.send({ kind: "send", conversationId: conv.id, content: "Tell me everything." })) {
      events.push(ev);
      if (ev.type === "token" && ++tokens === 1) controller.abort();
    }
    const last = events.at(-1);
    expect(last && "message" in last && last.message?.status).toBe("interrupted");
    const stored = app.db.select().from(messages).where(eq(messages.conversationId, conv.id)).all();
    const answer = stored.find((m) => m.role === "assistant");
    expect(answer?.status).toBe("interrupted");
    expect(answer?.content.length).toBeGreaterThan(0);
    expect(answer?.completionTokens ?? 0).toBeLessThan(400);
  });

  it("a consumer that walks away frees the sequence and keeps the partial answer", async () => {
    setMaxTokens(400, 1.0);
    const conv = await newConversation();
    const stream = await app.caller().chat.send({ kind: "send", conversationId: conv.id, content: "Hello" });
    let n = 0;
    for await (const ev of stream) if (ev.type === "token" && ++n === 1) break;
    const answer = app.db.select().from(messages).where(eq(messages.conversationId, conv.id)).all().find((m) => m.role === "assistant");
    expect(answer?.status).toBe("interrupted");
    const { ModelPool } = await import("@/server/llm/pool");
    const loaded = await ModelPool.instance().loadedSummary();
    expect(loaded.every((m) => m.refs === 0)).toBe(true);
  });

  it("serves concurrent conversations in one context", async () => {
    setMaxTokens(24);
    const convs = await Promise.all([1, 2, 3, 4].map(() => newConversation()));
    const results = await Promise.all(
      convs.map(async (c, i) => collect(await app.caller().chat.send({ kind: "send", conversationId: c.id, content: `Question ${i}: what is LoRA?` }))),
    );
    for (const events of results) expect(events.at(-1)?.type).toBe("done");
  });

  it("regenerates the last answer and edits a user message, dropping what followed", async () => {
    setMaxTokens(16);
    const conv = await newConversation();
    await collect(await app.caller().chat.send({ kind: "send", conversationId: conv.id, content: "first" }));
    await collect(await app.caller().chat.send({ kind: "send", conversationId: conv.id, content: "second" }));
    let { messages: msgs } = await app.caller().conversations.get({ id: conv.id });
    expect(msgs).toHaveLength(4);
    const lastAnswer = msgs[3]!;
    const regen = await collect(await app.caller().chat.send({ kind: "regenerate", conversationId: conv.id, messageId: lastAnswer.id }));
    expect(regen[0]).toMatchObject({ type: "user", message: { content: "second" } });
    ({ messages: msgs } = await app.caller().conversations.get({ id: conv.id }));
    expect(msgs).toHaveLength(4);
    expect(msgs.some((m) => m.id === lastAnswer.id)).toBe(false);

    await collect(await app.caller().chat.send({ kind: "edit", conversationId: conv.id, messageId: msgs[0]!.id, content: "first, edited" }));
    ({ messages: msgs } = await app.caller().conversations.get({ id: conv.id }));
    expect(msgs.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(msgs[0]?.content).toBe("first, edited");
    expect((await app.caller().conversations.get({ id: conv.id })).conversation.title).toBe("first, edited");
  });
});

describe("bad input", () => {
  async function codeOf(p: Promise<unknown>): Promise<string> {
    try {
      const r = await p;
      if (r && typeof r === "object" && Symbol.asyncIterator in r) await collect(r as AsyncIterable<unknown>);
    } catch (err) {
      expect(err).toBeInstanceOf(TRPCError);
      return `${(err as TRPCError).code}: ${(err as Error).message}`;
    }
    return "no error";
  }

  it("rejects empty and oversized messages with a clear error", async () => {
    const conv = await newConversation();
    expect(await codeOf(app.caller().chat.send({ kind: "send", conversationId: conv.id, content: "   " }))).toMatch(/^BAD_REQUEST: The message is empty/);
    expect(await codeOf(app.caller().chat.send({ kind: "send", conversationId: conv.id, content: "x".repeat(32_001) }))).toMatch(
      /^PAYLOAD_TOO_LARGE: .*32,001 characters.*limit is 32,000/,
    );
    const { messages: msgs } = await app.caller().conversations.get({ id: conv.id });
    expect(msgs).toHaveLength(0);
  });

  it("answers NOT_FOUND for unknown ids", async () => {
    expect(await codeOf(app.caller().conversations.get({ id: "nope" }))).toMatch(/^NOT_FOUND: Conversation nope/);
    expect(await codeOf(app.caller().chat.send({ kind: "send", conversationId: "nope", content: "hi" }))).toMatch(/^NOT_FOUND/);
    expect(await codeOf(app.caller().conversations.create({ assistantId: "nope" }))).toMatch(/^NOT_FOUND: Assistant nope/);
    expect(await codeOf(app.caller().models.remove({ id: "nope" }))).toMatch(/^NOT_FOUND/);
  });

  it("rejects malformed input without crashing", async () => {
    // @ts-expect-error deliberately wrong shape
    expect(await codeOf(app.caller().chat.send({ kind: "shout", conversationId: 5 }))).toMatch(/^BAD_REQUEST/);
  });
});

describe("crash recovery", () => {
  it("marks answers that were streaming when the process died as interrupted, text kept", async () => {
    const conv = await newConversation();
    app.db
      .insert(messages)
      .values({ id: "orphan", conversationId: conv.id, position: 0, role: "assistant", content: "half an ans", status: "streaming" })
      .run();
    const { bootstrap } = await import("@/server/bootstrap");
    await bootstrap(app.db);
    const row = app.db.select().from(messages).where(eq(messages.id, "orphan")).get();
    expect(row?.status).toBe("interrupted");
    expect(row?.content).toBe("half an ans");
  });
});
