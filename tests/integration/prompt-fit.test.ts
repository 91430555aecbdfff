import fs from "node:fs";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChatEvent } from "@/server/chat";
import { assistantCollections, assistants, messages } from "@/server/db/schema";
import { collect, freshApp } from "../helpers/app";

/*
 * Prompt fitting on the 512-token starter: knowledge passages full of symbols (each one a token
 * or more under the starter's small BPE) must never push a short question out of the context,
 * and when even the message cannot fit, the error says so and what to change.
 */

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/knowledge");
const QUESTIONS: string[] = JSON.parse(fs.readFileSync(path.join(FIXTURES, "symbol-heavy-questions.json"), "utf8"));

let app: Awaited<ReturnType<typeof freshApp>>;
let assistantId: string;

beforeAll(async () => {
  app = await freshApp();
  const [assistant] = await app.caller().assistants.list();
  assistantId = assistant!.id;
  const col = await app.caller().knowledge.createCollection({ name: "Toolkit" });
  const data = fs.readFileSync(path.join(FIXTURES, "symbol-heavy.md")).toString("base64");
  const events = await collect(await app.caller().knowledge.upload({ collectionId: col.id, fileName: "symbol-heavy.md", data }));
  if (events.at(-1)?.type !== "done") throw new Error(`upload failed: ${JSON.stringify(events.at(-1))}`);
  app.db.insert(assistantCollections).values({ assistantId, collectionId: col.id }).run();
  // Short answers keep the test quick; the answer room the fitting reserves does not depend on it
  // below a quarter of the context.
  const a = app.db.select().from(assistants).where(eq(assistants.id, assistantId)).get()!;
  app.db.update(assistants).set({ sampling: { ...a.sampling, maxTokens: 128 } }).where(eq(assistants.id, assistantId)).run();
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

async function ask(content: string, conversationId?: string): Promise<ChatEvent[]> {
  const id = conversationId ?? (await app.caller().conversations.create({ assistantId })).id;
  return collect(await app.caller().chat.send({ kind: "send", conversationId: id, content }));
}

describe("prompt fitting on a 512-token model with symbol-heavy sources", () => {
  it("has 30 short questions, each retrieving symbol-heavy passages", () => {
    expect(QUESTIONS).toHaveLength(30);
  });

  it("answers 30 of 30 questions, with the sources that fit", async () => {
    const failures: string[] = [];
    let cited = 0;
    for (const q of QUESTIONS) {
      const events = await ask(q);
      const last = events.at(-1);
      if (last?.type !== "done") failures.push(`${q} → ${JSON.stringify(last)}`);
      else {
        expect(last.message.status).toBe("complete");
        expect(last.message.promptTokens).toBeLessThan(512);
        if (events.some((e) => e.type === "citations")) cited++;
      }
    }
    expect(failures).toEqual([]);
    // Sources are trimmed to fit, not dropped wholesale: most questions still get some.
    expect(cited).toBeGreaterThanOrEqual(25);
  });

  it("keeps the sources block within the knowledge budget counted by the model's tokenizer", async () => {
    const { ModelPool } = await import("@/server/llm/pool");
    const { prepareTurn, assistantTurnConfig } = await import("@/server/chat");
    const { getAssistant } = await import("@/server/assistants");
    const { knowledgeBudget } = await import("@/server/knowledge");
    const config = assistantTurnConfig(app.db, getAssistant(app.db, assistantId));
    const turn = await prepareTurn(app.db, config, [{ role: "user", content: "How do Makefile pattern rules compile objects?" }]);
    expect(turn.knowledge?.citations.length).toBeGreaterThan(0);
    const serving = await ModelPool.instance().serving(turn.model.spec);
    const sourceTokens = serving.model.tokenizer(turn.knowledge!.contextText).length;
    expect(sourceTokens).toBeLessThanOrEqual(knowledgeBudget(512));
    expect(sourceTokens).toBeGreaterThan(knowledgeBudget(512) / 2);
  });

  it("a message that cannot fit even alone fails with the cause and what to change", async () => {
    const long = "{ x: [1, 2, 3] } ".repeat(120); // ~2,000 characters, ~1,000+ starter tokens
    const events = await ask(long);
    const last = events.at(-1);
    if (last?.type !== "error") throw new Error(`expected an error, got ${JSON.stringify(last)}`);
    expect(last.error).toMatch(/your message/i);
    expect(last.error).toMatch(/shorten/i);
    expect(last.error).toMatch(/512/);
    const stored = app.db.select().from(messages).where(eq(messages.id, last.message!.id)).get()!;
    expect(stored.status).toBe("error");
    expect(stored.error).toBe(last.error);
  });

  it("drops the oldest turns of a long conversation, never the new question", async () => {
    const conv = await app.caller().conversations.create({ assistantId });
    // Three earlier exchanges of ~300 tokens each cannot all fit in 512 with room for the answer.
    const filler = "a/b/c ".repeat(100);
    const pos = { n: 0 };
    for (let i = 0; i < 3; i++) {
      app.db.insert(messages).values({ id: `u${i}-${conv.id}`, conversationId: conv.id, position: pos.n++, role: "user", content: `${i} ${filler}`, status: "complete" }).run();
      app.db.insert(messages).values({ id: `a${i}-${conv.id}`, conversationId: conv.id, position: pos.n++, role: "assistant", content: `ok ${i}`, status: "complete" }).run();
    }
    const events = await ask("What does perl -0777 do?", conv.id);
    const last = events.at(-1);
    expect(last?.type).toBe("done");
  });

  it("tokenizes each earlier turn once, ever, and renders the prompt a bounded number of times", async () => {
    const { ModelPool } = await import("@/server/llm/pool");
    const { fitPrompt, servingMeter, resolveModel } = await import("@/server/chat");
    const a = app.db.select().from(assistants).where(eq(assistants.id, assistantId)).get()!;
    const serving = await ModelPool.instance().serving(resolveModel(app.db, a.modelId, a.name).spec);
    // The real tokenizer, counted: how many texts it is asked to tokenize, and how many characters.
    const calls = { texts: 0, chars: 0 };
    const tokenizer = ((text: string, ...rest: unknown[]) => {
      calls.texts++;
      calls.chars += text.length;
      return (serving.model.tokenizer as (...args: unknown[]) => unknown[])(text, ...rest);
    }) as typeof serving.model.tokenizer;
    const counted = { spec: serving.spec, contextSize: serving.contextSize, chatWrapper: serving.chatWrapper, model: { tokenizer } };
    const renders = { n: 0 };
    const base = servingMeter(counted);
    const meter = { ...base, render: (...args: Parameters<typeof base.render>) => (renders.n++, base.render(...args)) };
    // 200 earlier turns of 32,000 characters each (6.4 million characters of history).
    const turns = Array.from({ length: 200 }, (_, i) => ({ role: i % 2 === 0 ? ("user" as const) : ("assistant" as const), content: `turn ${i} `.padEnd(32_000, "x y ") }));
    turns.push({ role: "user", content: "What does perl -0777 do?" });
    const fitted = await fitPrompt({ meter, systemPrompt: "You are a guide.", turns, maxTokens: 128, sources: null });
    expect(fitted.turns).toEqual([turns.at(-1)]);
    expect(fitted.droppedTurns).toBe(200);
    // Only the newest earlier turn was measured (it alone is over the context), and only a prefix of
    // it: a few thousand characters show it cannot fit. The other 199 were never tokenized.
    const firstChars = calls.chars;
    expect(firstChars).toBeLessThan(16_000);
    expect(renders.n).toBeLessThanOrEqual(4);
    // A second turn on the same history tokenizes no stored message again (counts are cached by content).
    calls.chars = 0;
    await fitPrompt({ meter, systemPrompt: "You are a guide.", turns, maxTokens: 128, sources: null });
    expect(calls.chars).toBeLessThan(2_000);
  });
});
