import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChatEvent } from "@/server/chat";
import { assistantCollections, assistants, messages } from "@/server/db/schema";
import { collect, freshApp } from "../helpers/app";

/*
 * chat.send with an assistant linked to a knowledge collection, on the real starter model.
 * The tiny model does not really cite, so this checks what Atelier controls: the passages put
 * into the prompt, the citations event and the citations stored with the answer.
 */

let app: Awaited<ReturnType<typeof freshApp>>;
let assistantId: string;
let documentId: string;

const TIDES = `# Harbour handbook

## Tides

The harbour gate opens two hours before high tide and closes one hour after it. Boats longer than
twelve metres must book a slot with the harbour master by radio on channel 14.

## Fuel

The fuel pontoon sells diesel only, from eight in the morning until six in the evening.`;

beforeAll(async () => {
  app = await freshApp();
  const [assistant] = await app.caller().assistants.list();
  assistantId = assistant!.id;
  const a = app.db.select().from(assistants).where(eq(assistants.id, assistantId)).get()!;
  app.db.update(assistants).set({ sampling: { ...a.sampling, maxTokens: 12 } }).where(eq(assistants.id, assistantId)).run();
  const col = await app.caller().knowledge.createCollection({ name: "Harbour" });
  const events = await collect(await app.caller().knowledge.upload({ collectionId: col.id, fileName: "harbour.md", data: Buffer.from(TIDES).toString("base64"), chunking: { targetTokens: 40 } }));
  const done = events.at(-1);
  if (done?.type !== "done") throw new Error("upload failed");
  documentId = done.result.document.id;
  app.db.insert(assistantCollections).values({ assistantId, collectionId: col.id }).run();
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

async function ask(content: string): Promise<ChatEvent[]> {
  const conv = await app.caller().conversations.create({ assistantId });
  return collect(await app.caller().chat.send({ kind: "send", conversationId: conv.id, content }));
}

describe("retrieval in chat", () => {
  it("puts cited passages in the prompt within the budget", async () => {
    const { retrieveForAssistant, withKnowledge, knowledgeBudget, CITE_INSTRUCTION } = await import("@/server/knowledge/retrieve");
    const r = await retrieveForAssistant(app.db, assistantId, "When does the harbour gate open at high tide?");
    expect(r.mode).toBe("bm25");
    expect(r.citations[0]).toMatchObject({ n: 1, documentId, documentTitle: "Harbour handbook" });
    expect(r.citations[0]!.excerpt).toContain("harbour gate opens two hours before high tide");
    expect(r.contextText).toMatch(/^Sources \(cite as \[n\]\):\n\n\[1\] Harbour handbook — Tides\n[^[]*The harbour gate opens two hours/);
    const { estimateTokens } = await import("@/server/knowledge");
    // The starter model has a 512-token context: sources get a fifth of it.
    expect(knowledgeBudget(512)).toBe(102);
    expect(estimateTokens(r.contextText)).toBeLessThanOrEqual(102);
    const prompt = withKnowledge("You are a guide.", r);
    expect(prompt).toBe(`You are a guide.\n\n${CITE_INSTRUCTION}\n\n${r.contextText}`);
    expect(withKnowledge("You are a guide.", { contextText: "" })).toBe("You are a guide.");
    // Nothing matches, or an assistant without collections: no sources.
    expect(await retrieveForAssistant(app.db, assistantId, "zebra quantum")).toEqual({ contextText: "", citations: [], mode: "none" });
    expect((await retrieveForAssistant(app.db, "no-such-assistant", "harbour gate")).citations).toEqual([]);
  });

  it("streams a citations event before the tokens and stores the citations with the answer", async () => {
    const events = await ask("When does the harbour gate open?");
    expect(events.map((e) => e.type).slice(0, 3)).toEqual(["user", "start", "citations"]);
    const cited = events[2];
    if (cited?.type !== "citations") throw new Error("no citations event");
    expect(cited.citations.length).toBeGreaterThan(0);
    expect(cited.citations[0]).toMatchObject({ n: 1, documentId, documentTitle: "Harbour handbook" });
    const done = events.at(-1);
    if (done?.type !== "done") throw new Error(`no answer: ${JSON.stringify(events.at(-1))}`);
    expect(done.message.citations).toEqual(cited.citations);
    const stored = app.db.select().from(messages).where(eq(messages.id, done.message.id)).get()!;
    expect(stored.citations).toEqual(cited.citations);
    const { messages: listed } = await app.caller().conversations.get({ id: done.message.conversationId });
    expect(listed.at(-1)?.citations).toEqual(cited.citations);

    // The passages were in the prompt: the same question without sources costs fewer prompt tokens.
    const withSources = done.message.promptTokens!;
    app.db.delete(assistantCollections).where(eq(assistantCollections.assistantId, assistantId)).run();
    try {
      const plain = await ask("When does the harbour gate open?");
      expect(plain.some((e) => e.type === "citations")).toBe(false);
      const plainDone = plain.at(-1);
      if (plainDone?.type !== "done") throw new Error("no answer");
      expect(plainDone.message.citations).toBeNull();
      expect(withSources).toBeGreaterThan(plainDone.message.promptTokens! + 20);
    } finally {
      const [col] = await app.caller().knowledge.collections();
      app.db.insert(assistantCollections).values({ assistantId, collectionId: col!.id }).run();
    }
  });

  it("regenerating retrieves again for the same question", async () => {
    const first = await ask("Which fuel does the pontoon sell?");
    const done = first.at(-1);
    if (done?.type !== "done") throw new Error("no answer");
    const again = await collect(await app.caller().chat.send({ kind: "regenerate", conversationId: done.message.conversationId, messageId: done.message.id }));
    const redone = again.at(-1);
    if (redone?.type !== "done") throw new Error("no answer");
    expect(redone.message.citations?.[0]?.excerpt).toContain("diesel");
  });

  it("Try it retrieves from the draft's collections, before they are saved", async () => {
    const a = (await app.caller().assistants.get({ id: assistantId }));
    const [col] = await app.caller().knowledge.collections();
    const draft = { systemPrompt: a.systemPrompt, outOfScopeReply: a.outOfScopeReply, historyWindow: a.historyWindow, sampling: { ...a.sampling, maxTokens: 8 }, modelId: a.modelId };
    const messages = [{ role: "user" as const, content: "Which fuel does the pontoon sell?" }];
    const withSources = await collect(await app.caller().assistants.tryIt({ draft: { ...draft, collectionIds: [col!.id] }, messages }));
    const cited = withSources.find((e) => e.type === "citations");
    expect(cited?.type === "citations" && cited.citations[0]?.excerpt).toContain("diesel");
    const without = await collect(await app.caller().assistants.tryIt({ draft: { ...draft, collectionIds: [] }, messages }));
    expect(without.some((e) => e.type === "citations")).toBe(false);
    const tokens = (evs: typeof without) => {
      const done = evs.at(-1);
      return done?.type === "done" ? done.stats.promptTokens : 0;
    };
    expect(tokens(withSources)).toBeGreaterThan(tokens(without) + 20);
  });
});
