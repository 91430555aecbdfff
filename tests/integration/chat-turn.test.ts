// The chat turn's no-persistence interface, as an evaluation runner uses it: a (model version ×
// knowledge on/off × persona) configuration answered through the real engine and starter model,
// with nothing written to the database.
import { count } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TurnConfig, TurnEvent } from "@/server/chat";
import { conversations, messages } from "@/server/db/schema";
import { collect, freshApp } from "../helpers/app";

let app: Awaited<ReturnType<typeof freshApp>>;
let config: TurnConfig;

beforeAll(async () => {
  app = await freshApp();
  const { assistantTurnConfig } = await import("@/server/chat");
  const { getAssistant } = await import("@/server/assistants");
  const [listed] = await app.caller().assistants.list();
  config = assistantTurnConfig(app.db, getAssistant(app.db, listed!.id));
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

const rows = () => ({
  conversations: app.db.select({ n: count() }).from(conversations).get()!.n,
  messages: app.db.select({ n: count() }).from(messages).get()!.n,
});

async function ask(c: TurnConfig, question = "What is Atelier?") {
  const { answer } = await import("@/server/chat");
  const events: TurnEvent[] = await collect(answer(app.db, { config: c, turns: [{ role: "user", content: question }] }));
  const done = events.at(-1);
  if (done?.type !== "done") throw new Error(`no done event: ${JSON.stringify(events.at(-1))}`);
  return { events, done };
}

describe("answer(): one turn under a configuration, stored nowhere", () => {
  it("streams start, tokens and done for the assistant's own configuration, and writes no row", async () => {
    const before = rows();
    const { events, done } = await ask({ ...config, persona: { ...config.persona, sampling: { ...config.persona.sampling, maxTokens: 16 } } });
    expect(events[0]).toMatchObject({ type: "start", model: { id: config.modelId } });
    expect(events.some((e) => e.type === "token")).toBe(true);
    expect(done.stats.completionTokens).toBeGreaterThan(0);
    expect(done.stats.completionTokens).toBeLessThanOrEqual(16);
    expect(rows()).toEqual(before);
  });

  it("a fixed seed reproduces a sampled answer (temperature 1), so evaluation cells are comparable", async () => {
    const sampled: TurnConfig = { ...config, seed: 7, persona: { ...config.persona, sampling: { temperature: 1, topP: 1, topK: 0, repeatPenalty: 1, maxTokens: 24 } } };
    const a = await ask(sampled);
    const b = await ask(sampled);
    expect(b.done.text).toBe(a.done.text);
  });

  it("names the configuration when it has no model version", async () => {
    const { answer } = await import("@/server/chat");
    const noModel: TurnConfig = { ...config, modelId: null, name: "Cell 3" };
    await expect(collect(answer(app.db, { config: noModel, turns: [{ role: "user", content: "hi" }] }))).rejects.toMatchObject({
      errorCode: "not_found:model",
      message: "Cell 3 has no model selected.",
    });
  });
});
