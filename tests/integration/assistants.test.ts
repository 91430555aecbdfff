import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog } from "@/server/db/auth-tables";
import { conversations, messages } from "@/server/db/schema";
import { collect, freshApp } from "../helpers/app";

let app: Awaited<ReturnType<typeof freshApp>>;

beforeAll(async () => {
  app = await freshApp();
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

async function settings(overrides: Record<string, unknown> = {}) {
  const defaults = await app.caller().assistants.defaults();
  return { ...defaults, name: "Support bot", ...overrides };
}

async function rejects(p: Promise<unknown>, code: TRPCError["code"], message: RegExp) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TRPCError);
  expect((err as TRPCError).code).toBe(code);
  expect((err as TRPCError).message).toMatch(message);
}

describe("assistants CRUD", () => {
  it("creates, edits, duplicates, archives, restores and sets the default, auditing each change with diffs", async () => {
    const editor = await app.callerAs("editor");
    const { id: collectionId } = (await import("@/server/knowledge")).createCollection(app.db, { name: "Manuals" });

    const created = await editor.assistants.create(
      await settings({ avatar: "🛟", color: "#0EA5E9", starterQuestions: ["How do I reset?"], collectionIds: [collectionId] }),
    );
    expect(created).toMatchObject({ name: "Support bot", avatar: "🛟", color: "#0ea5e9", isDefault: false, archivedAt: null, collectionIds: [collectionId] });
    expect(created.modelLabel).toBeTruthy();

    const edited = await editor.assistants.update({
      id: created.id,
      patch: { systemPrompt: "You are a support bot.", sampling: { ...created.sampling, temperature: 0.9 }, historyWindow: 4, collectionIds: [] },
    });
    expect(edited.systemPrompt).toBe("You are a support bot.");
    expect(edited.sampling.temperature).toBe(0.9);
    expect(edited.historyWindow).toBe(4);
    expect(edited.collectionIds).toEqual([]);
    expect(edited.updatedAt).toBeGreaterThanOrEqual(created.updatedAt);

    // A save that changes nothing records nothing.
    await editor.assistants.update({ id: created.id, patch: { systemPrompt: "You are a support bot." } });

    const copy = await editor.assistants.duplicate({ id: created.id });
    expect(copy.id).not.toBe(created.id);
    expect(copy).toMatchObject({ name: "Support bot (copy)", systemPrompt: "You are a support bot.", avatar: "🛟", historyWindow: 4, isDefault: false });

    // Archived: off the chat picker, listed under archived, its conversations kept.
    const conversation = await editor.conversations.create({ assistantId: created.id });
    await editor.assistants.archive({ id: created.id });
    expect((await editor.assistants.list()).map((a) => a.id)).not.toContain(created.id);
    expect((await editor.assistants.list({ status: "archived" })).map((a) => a.id)).toEqual([created.id]);
    expect((await editor.conversations.get({ id: conversation.id })).assistant.id).toBe(created.id);
    await rejects(editor.conversations.create({ assistantId: created.id }), "CONFLICT", /archived; restore it to start/);
    await rejects(editor.assistants.setDefault({ id: created.id }), "CONFLICT", /archived; restore it/);
    await editor.assistants.restore({ id: created.id });
    expect((await editor.assistants.list()).map((a) => a.id)).toContain(created.id);

    // One default at a time; the default cannot be archived.
    await editor.assistants.setDefault({ id: copy.id });
    const all = await editor.assistants.list({ status: "all" });
    expect(all.filter((a) => a.isDefault).map((a) => a.id)).toEqual([copy.id]);
    expect(all[0]?.id).toBe(copy.id);
    await rejects(editor.assistants.archive({ id: copy.id }), "CONFLICT", /default assistant/);

    const history = await editor.assistants.history({ id: created.id });
    expect(history.map((h) => h.action)).toEqual(["assistant.restore", "assistant.archive", "assistant.update", "assistant.create"]);
    const update = history.find((h) => h.action === "assistant.update")!;
    expect(update.user?.email).toMatch(/^editor-/);
    expect(update.detail).toEqual({
      systemPrompt: ["", "You are a support bot."],
      sampling: [created.sampling, { ...created.sampling, temperature: 0.9 }],
      historyWindow: [20, 4],
      collectionIds: [[collectionId], []],
    });
    const copyHistory = await editor.assistants.history({ id: copy.id });
    expect(copyHistory.map((h) => h.action)).toEqual(["assistant.set_default", "assistant.duplicate"]);
    expect(copyHistory[1]?.detail).toMatchObject({ from: created.id });
  });

  it("lets viewers read but not edit", async () => {
    const viewer = await app.callerAs("viewer");
    const [first] = await viewer.assistants.list();
    expect(first).toBeTruthy();
    await viewer.assistants.get({ id: first!.id });
    await viewer.assistants.history({ id: first!.id });
    await rejects(viewer.assistants.create(await settings()), "FORBIDDEN", /editor role/);
    await rejects(viewer.assistants.update({ id: first!.id, patch: { name: "Hacked" } }), "FORBIDDEN", /editor role/);
    await rejects(viewer.assistants.archive({ id: first!.id }), "FORBIDDEN", /editor role/);
    await rejects((await app.callerAs(null)).assistants.list(), "UNAUTHORIZED", /Sign in/);
  });
});

describe("validation", () => {
  it("rejects bad settings with a specific message and saves nothing", async () => {
    const before = (await app.caller().assistants.list({ status: "all" })).length;
    const auditsBefore = app.db.select().from(auditLog).all().length;
    await rejects(app.caller().assistants.create(await settings({ systemPrompt: "x".repeat(20_001) })), "BAD_REQUEST", /system prompt is too long \(limit 20,000/);
    await rejects(app.caller().assistants.create(await settings({ name: "  " })), "BAD_REQUEST", /Give the assistant a name/);
    await rejects(app.caller().assistants.create(await settings({ color: "blue" })), "BAD_REQUEST", /hex color/);
    await rejects(
      app.caller().assistants.create(await settings({ starterQuestions: ["1", "2", "3", "4", "5", "6", "7"] })),
      "BAD_REQUEST",
      /At most 6 starter questions/,
    );
    const base = (await settings()).sampling;
    for (const [sampling, message] of [
      [{ ...base, temperature: 3 }, /Temperature must be between 0 and 2/],
      [{ ...base, topP: 0 }, /Top-p must be greater than 0/],
      [{ ...base, topK: 2.5 }, /Top-k must be a whole number/],
      [{ ...base, repeatPenalty: 0.5 }, /Repeat penalty must be between 1/],
      [{ ...base, maxTokens: 0 }, /Max tokens must be between 1 and 4,096/],
    ] as const) {
      await rejects(app.caller().assistants.create(await settings({ sampling })), "BAD_REQUEST", message);
    }
    await rejects(app.caller().assistants.create(await settings({ historyWindow: -1 })), "BAD_REQUEST", /history window/);
    await rejects(app.caller().assistants.create(await settings({ modelId: "nope" })), "NOT_FOUND", /Model nope does not exist/);
    await rejects(app.caller().assistants.create(await settings({ collectionIds: ["nope"] })), "NOT_FOUND", /Collection nope does not exist/);
    const [first] = await app.caller().assistants.list();
    await rejects(app.caller().assistants.update({ id: first!.id, patch: { systemPrompt: "y".repeat(25_000) } }), "BAD_REQUEST", /too long/);
    await rejects(app.caller().assistants.update({ id: "missing", patch: { name: "x" } }), "NOT_FOUND", /Assistant missing does not exist/);
    expect((await app.caller().assistants.list({ status: "all" })).length).toBe(before);
    expect(app.db.select().from(auditLog).all().length).toBe(auditsBefore);
  });
});

describe("try it", () => {
  it("answers with the unsaved draft and stores nothing", async () => {
    const [assistant] = await app.caller().assistants.list();
    const conversationsBefore = app.db.select().from(conversations).all().length;
    const messagesBefore = app.db.select().from(messages).all().length;
    const draft = { ...assistant!, systemPrompt: "You are a pirate.", sampling: { ...assistant!.sampling, maxTokens: 16, temperature: 0 } };
    const events = await collect(await (await app.callerAs("editor")).assistants.tryIt({ draft, messages: [{ role: "user", content: "What is Atelier?" }] }));
    expect(events[0]).toMatchObject({ type: "start", model: { id: assistant!.modelId } });
    const done = events.at(-1);
    expect(done?.type).toBe("done");
    if (done?.type !== "done") return;
    expect(done.text).toBe(events.map((e) => (e.type === "token" ? e.text : "")).join(""));
    expect(done.stats.completionTokens).toBeGreaterThan(0);
    expect(done.stats.completionTokens).toBeLessThanOrEqual(16);
    expect(app.db.select().from(conversations).all().length).toBe(conversationsBefore);
    expect(app.db.select().from(messages).all().length).toBe(messagesBefore);
    // The saved assistant is untouched.
    expect((await app.caller().assistants.get({ id: assistant!.id })).systemPrompt).toBe(assistant!.systemPrompt);
  });

  it("stops when aborted, and rejects bad drafts and conversations clearly", async () => {
    const [assistant] = await app.caller().assistants.list();
    // a draft that answers at length (the starter's own prompt may decline in a few tokens, done before the abort lands)
    const draft = { ...assistant!, systemPrompt: "You are a storyteller. Answer every question at great length.", sampling: { temperature: 2, topP: 1, topK: 0, repeatPenalty: 1, maxTokens: 400 } };
    const controller = new AbortController();
    const caller = await app.callerAs("editor", controller.signal);
    const events = [];
    for await (const ev of await caller.assistants.tryIt({ draft, messages: [{ role: "user", content: "Tell me everything." }] })) {
      events.push(ev);
      if (ev.type === "token") controller.abort();
    }
    const done = events.at(-1);
    expect(done?.type === "done" && done.aborted).toBe(true);

    const editor = await app.callerAs("editor");
    await rejects(editor.assistants.tryIt({ draft: { ...draft, systemPrompt: "z".repeat(20_001) }, messages: [{ role: "user", content: "hi" }] }), "BAD_REQUEST", /too long/);
    await rejects(
      collect(await editor.assistants.tryIt({ draft, messages: [{ role: "assistant", content: "hello" }] })),
      "BAD_REQUEST",
      /last try-it message must be the user's/,
    );
    await rejects(collect(await editor.assistants.tryIt({ draft: { ...draft, modelId: null }, messages: [{ role: "user", content: "hi" }] })), "NOT_FOUND", /no model selected/);
    await rejects((await app.callerAs("viewer")).assistants.tryIt({ draft, messages: [{ role: "user", content: "hi" }] }), "FORBIDDEN", /editor role/);
  });
});
