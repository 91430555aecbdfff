import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GenerationEvent } from "@/server/llm/generate";
import type { ServingSpec } from "@/server/llm/pool";
import type { RunSampling } from "@/server/llm/sequence-run";
import { collect, freshApp } from "../helpers/app";
import { useEngine } from "../helpers/engine";

/*
 * Prompt fitting is token-accurate on both engines (ATELIER_ENGINE): the chat turn measures the
 * prompt with the model's tokenizer and the engine's per-conversation context, the engine then
 * evaluates exactly that many prompt tokens (it drops nothing more), and the room is used: one
 * more earlier turn would not have fit. Fitting also never holds the event loop for the whole fit.
 */

const CONTEXT = 256;
const MAX_TOKENS = 8;
const SYSTEM = "You are Atelier's starter assistant.";
const greedy: RunSampling = { temperature: 0, topP: 1, topK: 40, repeatPenalty: 1.1, maxTokens: MAX_TOKENS, seed: 1 };
type End = Extract<GenerationEvent, { type: "end" }>;

beforeAll(async () => {
  await freshApp({ ATELIER_SEQUENCES: "2", ATELIER_CONTEXT_SIZE: String(CONTEXT) });
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

/** 16 earlier turns of ~20 starter tokens each: more than a 256-token context holds with the answer's room. */
const history = () => {
  const turns = Array.from({ length: 16 }, (_, i) => ({
    role: i % 2 ? ("assistant" as const) : ("user" as const),
    content: `${i}: Atelier crafts {a domain assistant} around [your own model].`,
  }));
  turns.push({ role: "user", content: "What is Atelier?" });
  return turns;
};

describe.each(["native", "node-llama-cpp"] as const)("fitting a prompt for the %s engine", (engine) => {
  const spec: ServingSpec = { id: `fit-${engine}`, label: "starter", modelPath: "" };

  beforeAll(() => useEngine(engine, spec));

  it("measures with the engine's context, and the engine evaluates exactly the fitted prompt", async () => {
    const { ModelPool } = await import("@/server/llm/pool");
    const { fitPrompt, servingMeter } = await import("@/server/chat");
    const { generateChat } = await import("@/server/llm/generate");
    const { promptLimit } = await import("@/server/llm/prompt-room");
    const serving = await ModelPool.instance().serving(spec);
    const meter = servingMeter(serving);
    expect(meter.contextSize).toBe(CONTEXT);

    const turns = history();
    const fitted = await fitPrompt({ meter, systemPrompt: SYSTEM, turns, maxTokens: MAX_TOKENS, sources: null });
    const limit = promptLimit(CONTEXT, MAX_TOKENS);
    expect(fitted.droppedTurns).toBeGreaterThan(0);
    expect(fitted.turns.at(-1)).toEqual(turns.at(-1));
    expect(fitted.promptTokens).toBeLessThanOrEqual(limit);
    // The room is used: the next older turn (with its answer or question) would not fit.
    const older = turns.slice(turns.length - fitted.turns.length - 2, turns.length - fitted.turns.length);
    expect(meter.render(SYSTEM, [...older, ...fitted.turns])).toBeGreaterThan(limit);

    const events = await collect(generateChat({ spec, systemPrompt: fitted.systemPrompt, turns: fitted.turns, sampling: greedy }));
    const end = events.find((e): e is End => e.type === "end")!;
    expect(end.stats.promptTokens).toBe(fitted.promptTokens);
    expect(end.stats.completionTokens).toBeGreaterThan(0);
  });

  it("yields to the event loop while it tokenizes: other work runs between turns", async () => {
    const { ModelPool } = await import("@/server/llm/pool");
    const { fitPrompt, servingMeter } = await import("@/server/chat");
    const real = servingMeter(await ModelPool.instance().serving(spec));
    // The real meter, each call made 15 ms slower (as a long message on a slow machine would be).
    const slow = <A extends unknown[], R>(f: (...a: A) => R) => (...a: A): R => {
      const until = performance.now() + 15;
      while (performance.now() < until);
      return f(...a);
    };
    const meter = { contextSize: real.contextSize, count: slow(real.count), render: slow(real.render) };
    const turns = Array.from({ length: 40 }, (_, i) => ({ role: i % 2 ? ("assistant" as const) : ("user" as const), content: `${i}` }));
    turns.push({ role: "user", content: "What is Atelier?" });

    let last = performance.now();
    let worstGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 1);
    const started = performance.now();
    const fitted = await fitPrompt({ meter, systemPrompt: SYSTEM, turns, maxTokens: MAX_TOKENS, sources: null });
    const took = performance.now() - started;
    clearInterval(timer);
    expect(fitted.turns.length).toBeGreaterThan(10);
    // Dozens of 15 ms calls; a fit that never yielded would hold the loop for all of them at once.
    expect(took).toBeGreaterThan(300);
    expect(worstGap).toBeLessThan(took / 3);
  });
});
