import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GenerationEvent } from "@/server/llm/generate";
import type { ServingSpec } from "@/server/llm/pool";
import type { RunSampling } from "@/server/llm/sequence-run";
import { collect, freshApp } from "../helpers/app";
import { useEngine } from "../helpers/engine";

// generateChat's contract on both engines (ATELIER_ENGINE): the native loop and node-llama-cpp's.
const CONTEXT = 256;
const greedy = (maxTokens: number): RunSampling => ({ temperature: 0, topP: 1, topK: 40, repeatPenalty: 1.1, maxTokens, seed: 1 });
type End = Extract<GenerationEvent, { type: "end" }>;
const endOf = (events: GenerationEvent[]) => events.find((e): e is End => e.type === "end")!;
const streamed = (events: GenerationEvent[]) => events.flatMap((e) => (e.type === "text" ? [e.text] : [])).join("");

beforeAll(async () => {
  await freshApp({ ATELIER_SEQUENCES: "4", ATELIER_CONTEXT_SIZE: String(CONTEXT) });
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe.each(["native", "node-llama-cpp"] as const)("generateChat on the %s engine", (engine) => {
  const spec: ServingSpec = { id: `engines-${engine}`, label: "starter", modelPath: "" };

  beforeAll(() => useEngine(engine, spec));

  async function generate(content: string | { role: "user" | "assistant"; content: string }[], sampling: RunSampling, signal?: AbortSignal) {
    const { generateChat } = await import("@/server/llm/generate");
    const turns = typeof content === "string" ? [{ role: "user" as const, content }] : content;
    return collect(generateChat({ spec, systemPrompt: "You are Atelier's starter assistant.", turns, sampling, signal }));
  }
  const active = async () => {
    const { ModelPool } = await import("@/server/llm/pool");
    return (await ModelPool.instance().serving(spec)).activeSequences;
  };

  it("stops after maxTokens and reports the stats", async () => {
    const events = await generate("What is Atelier?", { ...greedy(5), temperature: 0.8 });
    const end = endOf(events);
    expect(end.stats.stopReason).toBe("maxTokens");
    expect(end.stats.completionTokens).toBe(5);
    expect(end.stats.promptTokens).toBeGreaterThan(10);
    expect(end.stats.ttftMs).toBeGreaterThan(0);
    expect(end.text).toBe(streamed(events));
    expect(await active()).toBe(0);
  });

  it("ends at the template's end-of-turn and never shows it", async () => {
    const end = endOf(await generate("What is Atelier?", greedy(200)));
    expect(["stopGenerationTrigger", "eogToken"]).toContain(end.stats.stopReason);
    expect(end.stats.completionTokens).toBeLessThan(200);
    expect(end.text.length).toBeGreaterThan(0);
    expect(end.text).not.toContain("<|im_end|>");
  });

  it("stops on abort and frees the sequence", async () => {
    const controller = new AbortController();
    const { generateChat } = await import("@/server/llm/generate");
    const events: GenerationEvent[] = [];
    for await (const ev of generateChat({ spec, systemPrompt: "", turns: [{ role: "user", content: "Tell me everything about Atelier." }], sampling: { ...greedy(200), temperature: 0.8, repeatPenalty: 1 }, signal: controller.signal })) {
      events.push(ev);
      if (ev.type === "text") controller.abort();
    }
    const end = endOf(events);
    expect(end.aborted).toBe(true);
    expect(end.stats.stopReason).toBe("abort");
    expect(end.stats.completionTokens).toBeLessThan(200);
    expect(await active()).toBe(0);
  });

  it("a consumer that stops reading frees the sequence", async () => {
    const { generateChat } = await import("@/server/llm/generate");
    for await (const ev of generateChat({ spec, systemPrompt: "", turns: [{ role: "user", content: "Tell me a story." }], sampling: { ...greedy(200), temperature: 1, repeatPenalty: 1 } })) {
      if (ev.type === "text") break;
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(await active()).toBe(0);
  });

  it("serves five conversations on four sequences, the fifth after one ends", async () => {
    const runs = Array.from({ length: 5 }, (_, i) => generate(`Question ${i}: what is Atelier?`, { ...greedy(12), temperature: 1, seed: i }));
    const ends = (await Promise.all(runs)).map(endOf);
    for (const end of ends) expect(["maxTokens", "eogToken", "stopGenerationTrigger"]).toContain(end.stats.stopReason);
    expect(ends.filter((e) => e.stats.completionTokens === 12).length).toBeGreaterThan(0);
    expect(await active()).toBe(0);
  });

  it("drops the oldest turns when the history outgrows the context, and rejects a message that cannot fit", async () => {
    const long = "Atelier crafts a domain assistant around your own model. ".repeat(4);
    const turns = Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? ("assistant" as const) : ("user" as const), content: `${i}: ${long}` }));
    turns.push({ role: "user", content: "What is Atelier?" });
    const end = endOf(await generate(turns, greedy(8)));
    expect(end.stats.promptTokens).toBeLessThan(CONTEXT);
    expect(end.stats.completionTokens).toBeGreaterThan(0);
    await expect(generate(long.repeat(8), greedy(8))).rejects.toMatchObject({ code: "CONTEXT_OVERFLOW" });
    expect(await active()).toBe(0);
  });
});
