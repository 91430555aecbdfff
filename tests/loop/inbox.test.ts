import OpenAI from "openai";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assistants, messages } from "@/server/db/schema";
import { evalRows } from "@/server/evals/schema";
import { reviewItems } from "@/server/loop/schema";
import { collect, freshApp } from "../helpers/app";
import { deployDefault, type App } from "../widget/helpers";
import { loopbackServer } from "../widget/loopback";
import { widgetChat, widgetFeedback } from "./helpers";

// The review inbox and improvement datasets over conversations from every channel, made through
// the public surfaces (widget and /v1 over real HTTP, the console through tRPC) with the starter model.
let app: App;
let server: Awaited<ReturnType<typeof loopbackServer>>;
let publicId: string;
let assistantId: string;
let key: string;

type Turn = { conversationId: string; messageId: string; answer: string };
let bad: Turn; // widget, thumbs down, with an e-mail address in the question
let good: Turn; // widget, thumbs up
let api: Turn; // API, not rated
let consoleTurn: Turn; // console, regenerated
let unreviewed: Turn; // widget, thumbs down, never reviewed

const inbox = (filters: Record<string, unknown> = {}) => app.caller().loop.inbox({ assistantId, ...filters });
const ids = (items: { messageId: string }[]) => items.map((i) => i.messageId).sort();

beforeAll(async () => {
  app = await freshApp();
  ({ publicId, assistantId } = await deployDefault(app, ["https://shop.example"], 8));
  ({ key } = await app.caller().deploy.createKey({ assistantId, name: "tests" }));
  server = await loopbackServer();

  bad = await widgetChat(server.url, publicId, "visitor-aaaa-1", "I am jane.doe@example.com, how do I embed the chat?");
  await widgetFeedback(server.url, publicId, { visitorId: "visitor-aaaa-1", conversationId: bad.conversationId, messageId: bad.messageId, value: -1, comment: "Not the steps" });
  good = await widgetChat(server.url, publicId, "visitor-bbbb-2", "What is Atelier?");
  await widgetFeedback(server.url, publicId, { visitorId: "visitor-bbbb-2", conversationId: good.conversationId, messageId: good.messageId, value: 1 });
  const openai = new OpenAI({ apiKey: key, baseURL: `${server.url}/v1`, maxRetries: 0 });
  const res = await openai.chat.completions.create({ model: publicId, messages: [{ role: "user", content: "Can I train a model?" }] });
  api = { conversationId: app.db.select().from(messages).where(eq(messages.id, res.id.slice(9))).get()!.conversationId, messageId: res.id.slice(9), answer: res.choices[0]!.message.content! };
  const conv = await app.caller().conversations.create({ assistantId });
  const first = await collect(await app.caller().chat.send({ kind: "send", conversationId: conv.id, content: "Tell me about knowledge" }));
  const firstId = (first.find((e) => e.type === "done") as { message: { id: string } }).message.id;
  const again = await collect(await app.caller().chat.send({ kind: "regenerate", conversationId: conv.id, messageId: firstId }));
  const done = (again.find((e) => e.type === "done") as { message: { id: string; content: string } }).message;
  consoleTurn = { conversationId: conv.id, messageId: done.id, answer: done.content };
  unreviewed = await widgetChat(server.url, publicId, "visitor-cccc-3", "Where is my order?");
  await widgetFeedback(server.url, publicId, { visitorId: "visitor-cccc-3", conversationId: unreviewed.conversationId, messageId: unreviewed.messageId, value: -1 });
});

afterAll(async () => {
  await server?.close();
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe("review inbox", () => {
  it("lists answers from all channels with the question each answered, and filters them", async () => {
    const all = await inbox();
    expect(ids(all)).toEqual(ids([bad, good, api, consoleTurn, unreviewed]));
    expect(all.find((i) => i.messageId === good.messageId)).toMatchObject({ channel: "widget", rating: 1, question: { before: "What is Atelier?" } });
    expect(all.find((i) => i.messageId === bad.messageId)).toMatchObject({ comment: "Not the steps" });

    expect(ids(await inbox({ rating: "down" }))).toEqual(ids([bad, unreviewed]));
    expect(ids(await inbox({ rating: "up" }))).toEqual([good.messageId]);
    expect(ids(await inbox({ rating: "unrated" }))).toEqual(ids([api, consoleTurn]));
    expect(ids(await inbox({ channel: "api" }))).toEqual([api.messageId]);
    expect(ids(await inbox({ channel: "console" }))).toEqual([consoleTurn.messageId]);
    expect(ids(await inbox({ regenerated: true }))).toEqual([consoleTurn.messageId]);
    expect(await inbox({ hasCitations: true })).toEqual([]); // no knowledge collections: nothing cited
    expect(await inbox({ from: Date.now() + 60_000 })).toEqual([]);
    expect(await inbox({ modelId: "some-other-version" })).toEqual([]);
    const modelId = app.db.select().from(assistants).where(eq(assistants.id, assistantId)).get()!.modelId!;
    expect((await inbox({ modelId })).length).toBe(5);

    // Paging, newest first: the next page starts below the last answer shown.
    const page1 = await inbox({ limit: 2 });
    const page2 = await inbox({ limit: 10, before: page1.at(-1)!.createdAt });
    expect([...ids(page1), ...ids(page2)].sort()).toEqual(ids(all));
    expect(page2.every((i) => i.createdAt < page1.at(-1)!.createdAt)).toBe(true);

    // "Got the out-of-scope reply": an answer that is exactly the assistant's out-of-scope reply.
    app.db.update(assistants).set({ outOfScopeReply: api.answer.trim() }).where(eq(assistants.id, assistantId)).run();
    expect(ids(await inbox({ outOfScope: true }))).toEqual([api.messageId]);
    expect(ids(await inbox({ outOfScope: false }))).not.toContain(api.messageId);
    app.db.update(assistants).set({ outOfScopeReply: null }).where(eq(assistants.id, assistantId)).run();
  });

  it("shows PII scrubbed beside the original", async () => {
    const item = (await inbox()).find((i) => i.messageId === bad.messageId)!;
    expect(item.question.before).toContain("jane.doe@example.com");
    expect(item.question.after).toBe("I am [EMAIL], how do I embed the chat?");
    expect(item.question.changed).toBe(true);
    expect(item.pii.email).toBe(1);
  });

  it("correct inline, mark good, add to an eval set, dismiss; provenance kept; decided answers leave the inbox", async () => {
    const caller = app.caller();
    const correction = "Open Deploy, copy the embed snippet and paste it before </body>.";
    const tooLong = caller.loop.review({ messageId: bad.messageId, action: "corrected", correction: "x".repeat(8001) });
    await expect(tooLong).rejects.toThrow(/8,001 characters long; the limit is 8,000/);
    await expect(caller.loop.review({ messageId: bad.messageId, action: "corrected", correction: "  " })).rejects.toThrow(/Write the corrected answer/);

    const corrected = await caller.loop.review({ messageId: bad.messageId, action: "corrected", correction });
    expect(corrected).toMatchObject({ action: "corrected", correction, conversationId: bad.conversationId, messageId: bad.messageId, channel: "widget", reviewerId: app.admin.user.id, scrubbed: true, rating: -1 });
    expect(corrected.turns).toEqual([{ role: "user", content: "I am [EMAIL], how do I embed the chat?" }]);
    expect(Date.now() - corrected.reviewedAt).toBeLessThan(60_000);

    await caller.loop.review({ messageId: good.messageId, action: "good" });
    await caller.loop.review({ messageId: api.messageId, action: "dismissed" });
    const set = await caller.evals.sets.create({ name: "From the inbox", assistantId, isDefault: false });
    const toEval = await caller.loop.review({ messageId: consoleTurn.messageId, action: "eval", evalSetId: set.id });
    const row = app.db.select().from(evalRows).where(eq(evalRows.id, toEval.evalRowId!)).get()!;
    expect(row).toMatchObject({ setId: set.id, question: "Tell me about knowledge", origin: "conversation", reference: null });
    expect(row.provenance).toMatchObject({ conversationId: consoleTurn.conversationId, messageId: consoleTurn.messageId });

    expect(ids(await inbox())).toEqual([unreviewed.messageId]);
    expect(ids(await inbox({ state: "reviewed" }))).toEqual(ids([bad, good, api, consoleTurn]));
    const counts = await caller.loop.counts({ assistantId });
    expect(counts).toMatchObject({ conversations: 5, answers: 5, rated: 3, thumbsDown: 2, reviewed: 4, approved: 2 });
  });

  it("refuses unknown ids, and viewers", async () => {
    await expect(app.caller().loop.review({ messageId: "nope", action: "good" })).rejects.toMatchObject({ code: "NOT_FOUND" });
    const viewer = await app.callerAs("viewer");
    await expect(viewer.loop.inbox({ assistantId })).rejects.toMatchObject({ code: "FORBIDDEN" });
  });
});

describe("improvement datasets", () => {
  it("versions hold only approved or corrected answers: never unreviewed, dismissed or eval-only ones", async () => {
    const v1 = await app.caller().loop.createDataset({ assistantId });
    expect(v1).toMatchObject({ version: 1, recordCount: 2 });
    const rows = await app.caller().loop.datasetItems({ datasetId: v1.id });
    expect(ids(rows)).toEqual(ids([bad, good]));
    expect(rows.map((r) => r.messageId)).not.toContain(unreviewed.messageId);
    const fixed = rows.find((r) => r.messageId === bad.messageId)!;
    expect(fixed.turns).toEqual([
      { role: "user", content: "I am [EMAIL], how do I embed the chat?" },
      { role: "assistant", content: "Open Deploy, copy the embed snippet and paste it before </body>." },
    ]);
    expect(fixed).toMatchObject({ action: "corrected", conversationId: bad.conversationId, reviewerId: app.admin.user.id });
    expect(rows.find((r) => r.messageId === good.messageId)!.turns.at(-1)).toEqual({ role: "assistant", content: good.answer });

    // A later decision does not change a version already built; the next version picks it up.
    await app.caller().loop.review({ messageId: api.messageId, action: "good" });
    const v2 = await app.caller().loop.createDataset({ assistantId });
    expect(v2).toMatchObject({ version: 2, recordCount: 3 });
    expect((await app.caller().loop.datasetItems({ datasetId: v1.id })).length).toBe(2);
  });

  it("deleting a conversation removes its items from versions not trained on", async () => {
    const result = await app.caller().loop.deleteConversation({ conversationId: api.conversationId });
    expect(result.removedFrom).toEqual([expect.objectContaining({ version: 2, removed: 1 })]);
    expect(result.trainedVersions).toEqual([]);
    const versions = await app.caller().loop.datasets({ assistantId });
    expect(versions.map((v) => [v.version, v.recordCount])).toEqual([
      [2, 2],
      [1, 2],
    ]);
    expect(app.db.select().from(reviewItems).where(eq(reviewItems.messageId, api.messageId)).all()).toEqual([]);
    expect(app.db.select().from(messages).where(eq(messages.id, api.messageId)).all()).toEqual([]);
  });
});
