import { ChatMLChatWrapper, LlamaText, QwenChatWrapper, type ChatHistoryItem, type ChatWrapper } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GenerationEvent } from "@/server/llm/generate";
import type { ServingContext, ServingSpec } from "@/server/llm/pool";
import type { RunSampling } from "@/server/llm/sequence-run";
import { collect, freshApp } from "../helpers/app";
import { starterModelPath } from "../helpers/model";

// Atelier's own generation loop (server/llm/sequence-run.ts) on the real starter model.
const CONTEXT = 256;
let spec: ServingSpec;
let serving: ServingContext;

beforeAll(async () => {
  await freshApp({ ATELIER_ENGINE: "node-llama-cpp", ATELIER_SEQUENCES: "4", ATELIER_CONTEXT_SIZE: String(CONTEXT) });
  const { ModelPool } = await import("@/server/llm/pool");
  spec = { id: "generate-test", label: "starter", modelPath: starterModelPath() };
  serving = await ModelPool.instance().nodeLlamaCppServing(spec);
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

const greedy = (maxTokens: number): RunSampling => ({ temperature: 0, topP: 1, topK: 40, repeatPenalty: 1.1, maxTokens, seed: 1 });

async function generate(turns: { role: "user" | "assistant"; content: string }[], sampling: RunSampling, signal?: AbortSignal) {
  const { generateChat } = await import("@/server/llm/generate");
  return collect(generateChat({ spec, systemPrompt: "You are Atelier's starter assistant.", turns, sampling, signal }));
}
const endOf = (events: GenerationEvent[]) => events.find((e): e is Extract<GenerationEvent, { type: "end" }> => e.type === "end")!;
const streamed = (events: GenerationEvent[]) => events.flatMap((e) => (e.type === "text" ? [e.text] : [])).join("");

/** Runs sequence-run directly on a leased sequence, with `wrapper` as the chat template. */
async function runWith(wrapper: ChatWrapper, history: ChatHistoryItem[], sampling: RunSampling) {
  const { sequenceRun } = await import("@/server/llm/sequence-run");
  const sequence = await serving.acquire();
  const chunks: string[] = [];
  let tokens = 0;
  try {
    const result = await sequenceRun(
      {
        sequence,
        chatWrapper: wrapper,
        history,
        sampling,
        signal: new AbortController().signal,
        onToken: (n) => (tokens = n),
        onText: (t) => chunks.push(t),
      },
      wrapper.generateContextState({ chatHistory: history }),
    );
    return { ...result, text: chunks.join(""), chunks, tokens, sequence };
  } finally {
    serving.release(sequence);
  }
}
const question: ChatHistoryItem[] = [
  { type: "system", text: "You are Atelier's starter assistant." },
  { type: "user", text: "What is Atelier?" },
  { type: "model", response: [] },
];

describe("generation on sequence.evaluate", () => {
  it("serves a ChatML model on the token loop; templates with thought segments go to LlamaChat", async () => {
    const { plainTemplate } = await import("@/server/llm/sequence-run");
    expect(plainTemplate(serving.chatWrapper, serving.chatWrapper.generateContextState({ chatHistory: question }))).toBe(true);
    const chatml = new ChatMLChatWrapper();
    expect(plainTemplate(chatml, chatml.generateContextState({ chatHistory: question }))).toBe(true);
    const qwen = new QwenChatWrapper();
    expect(plainTemplate(qwen, qwen.generateContextState({ chatHistory: question }))).toBe(false);
  });

  it("the LlamaChat path (templates with segments) streams, counts and stops at maxTokens", async () => {
    const { llamaChatRun } = await import("@/server/llm/llamachat-run");
    const sequence = await serving.acquire();
    const chunks: string[] = [];
    let tokens = 0;
    try {
      const result = await llamaChatRun({
        sequence,
        chatWrapper: serving.chatWrapper,
        history: question,
        sampling: { ...greedy(6), temperature: 0.8 },
        signal: new AbortController().signal,
        onToken: (n) => (tokens = n),
        onText: (t) => chunks.push(t),
      });
      expect(result.stopReason).toBe("maxTokens");
      expect(tokens).toBe(6);
      expect(result.promptTokens).toBeGreaterThan(10);
      expect(chunks.join("").length).toBeGreaterThan(0);
    } finally {
      serving.release(sequence);
    }
  });

  it("stops after maxTokens and reports the stats", async () => {
    const events = await generate([{ role: "user", content: "What is Atelier?" }], { ...greedy(5), temperature: 0.8 });
    const end = endOf(events);
    expect(end.stats.stopReason).toBe("maxTokens");
    expect(end.stats.completionTokens).toBe(5);
    expect(end.stats.promptTokens).toBeGreaterThan(10);
    expect(end.text).toBe(streamed(events));
    expect(serving.activeSequences).toBe(0);
  });

  it("ends at the template's end-of-turn token and never shows it", async () => {
    const events = await generate([{ role: "user", content: "What is Atelier?" }], greedy(200));
    const end = endOf(events);
    expect(["stopGenerationTrigger", "eogToken"]).toContain(end.stats.stopReason);
    expect(end.stats.completionTokens).toBeLessThan(200);
    expect(end.text.length).toBeGreaterThan(0);
    expect(end.text).not.toContain("<|im_end|>");
  });

  it("stops at a plain-text trigger split across tokens, showing only the text before it", async () => {
    const free = await runWith(serving.chatWrapper, question, greedy(40));
    expect(free.text.length).toBeGreaterThan(20);
    const trigger = free.text.slice(8, 15);
    const at = free.text.indexOf(trigger);
    const base = serving.chatWrapper;
    const withTrigger = Object.create(base) as ChatWrapper;
    withTrigger.generateContextState = (options) => {
      const state = base.generateContextState(options);
      return { ...state, stopGenerationTriggers: [...state.stopGenerationTriggers, LlamaText(trigger)] };
    };
    const stopped = await runWith(withTrigger, question, greedy(40));
    expect(stopped.stopReason).toBe("stopGenerationTrigger");
    expect(stopped.text).toBe(free.text.slice(0, at));
    expect(stopped.chunks.join("")).not.toContain(trigger);
  });

  it("reuses the KV cache of the previous turn: only the new tokens are evaluated", async () => {
    const first = await runWith(serving.chatWrapper, question, greedy(12));
    const next: ChatHistoryItem[] = [
      ...question.slice(0, 2),
      { type: "model", response: [first.text] },
      { type: "user", text: "And who made it?" },
      { type: "model", response: [] },
    ];
    const sequence = await serving.acquire(); // nothing else runs: the lowest free id, the one just used
    expect(sequence).toBe(first.sequence);
    serving.release(sequence);
    const before = first.sequence.tokenMeter.usedInputTokens;
    const second = await runWith(serving.chatWrapper, next, greedy(4));
    expect(second.sequence).toBe(first.sequence);
    const evaluated = first.sequence.tokenMeter.usedInputTokens - before;
    expect(evaluated).toBeGreaterThan(0);
    expect(evaluated).toBeLessThan(second.promptTokens / 2);
  });

  it("stops on abort and frees the sequence", async () => {
    const controller = new AbortController();
    const { generateChat } = await import("@/server/llm/generate");
    const events: GenerationEvent[] = [];
    for await (const ev of generateChat({
      spec,
      systemPrompt: "",
      turns: [{ role: "user", content: "Tell me everything about Atelier." }],
      sampling: { ...greedy(200), temperature: 0.8, repeatPenalty: 1 },
      signal: controller.signal,
    })) {
      events.push(ev);
      if (ev.type === "text") controller.abort();
    }
    const end = endOf(events);
    expect(end.aborted).toBe(true);
    expect(end.stats.stopReason).toBe("abort");
    expect(end.stats.completionTokens).toBeLessThan(200);
    expect(serving.activeSequences).toBe(0);
  });

  it("a conversation starting while others generate is served alongside them (first token before they end, when they run to maxTokens)", async () => {
    // Every sequence has served earlier tests, so the newcomer must erase stale KV cells under the
    // context lock that the running generations' decode loop keeps taking.
    const { generateChat } = await import("@/server/llm/generate");
    const sampling = { ...greedy(220), temperature: 1, repeatPenalty: 1, seed: 7 };
    let firstOfLate = Infinity;
    const endedAt: number[] = [];
    const run = async (content: string, onFirst?: () => void) => {
      for await (const ev of generateChat({ spec, systemPrompt: "", turns: [{ role: "user", content }], sampling })) {
        if (ev.type === "text") onFirst?.();
        if (ev.type === "end") {
          endedAt.push(performance.now());
          return ev;
        }
      }
    };
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const early = [run("Tell me a long story.", () => started()), run("Tell me another long story.")];
    await running;
    const late = run("Hi", () => (firstOfLate = Math.min(firstOfLate, performance.now())));
    const ends = await Promise.all([...early, late]);
    const earlyFull = ends.slice(0, 2).every((e) => e?.stats.stopReason === "maxTokens");
    if (earlyFull) expect(firstOfLate).toBeLessThan(Math.min(...endedAt.slice(0, 2)));
    expect(ends[2]?.stats.completionTokens).toBeGreaterThan(0);
    expect(serving.activeSequences).toBe(0);
  });

  it("aborting one of several lockstep generations lets the others run on", async () => {
    const { generateChat } = await import("@/server/llm/generate");
    const sampling = { ...greedy(60), temperature: 1, repeatPenalty: 1, seed: 3 };
    const controller = new AbortController();
    const run = async (content: string, signal?: AbortSignal) => {
      for await (const ev of generateChat({ spec, systemPrompt: "", turns: [{ role: "user", content }], sampling, signal })) {
        if (ev.type === "text" && signal) controller.abort();
        if (ev.type === "end") return ev;
      }
    };
    const [a, b, c] = await Promise.all([run("Tell me a story.", controller.signal), run("Tell me another story."), run("And one more.")]);
    expect(a?.aborted).toBe(true);
    for (const other of [b, c]) {
      expect(other?.aborted).toBe(false);
      expect(["maxTokens", "eogToken", "stopGenerationTrigger"]).toContain(other?.stats.stopReason);
      expect(other?.stats.completionTokens).toBeGreaterThan(0);
    }
    expect(serving.activeSequences).toBe(0);
  });

  it("drops the oldest turns when the history outgrows the context, and rejects a message that cannot fit", async () => {
    const long = "Atelier crafts a domain assistant around your own model. ".repeat(4);
    const turns = Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? ("assistant" as const) : ("user" as const), content: `${i}: ${long}` }));
    turns.push({ role: "user", content: "What is Atelier?" });
    const end = endOf(await generate(turns, greedy(8)));
    expect(end.stats.promptTokens).toBeLessThan(CONTEXT);
    expect(end.stats.completionTokens).toBeGreaterThan(0);

    await expect(generate([{ role: "user", content: long.repeat(8) }], greedy(8))).rejects.toMatchObject({ code: "CONTEXT_OVERFLOW" });
    expect(serving.activeSequences).toBe(0);
  });
});

describe("TokenTextDecoder", () => {
  it("holds bytes of a character split across tokens until it is complete", async () => {
    const { TokenTextDecoder } = await import("@/server/llm/token-text");
    const model = serving.model;
    const text = "Café 🙂 naïve — 日本";
    const tokens = model.tokenize(text);
    expect(tokens.length).toBeGreaterThan([...text].length); // the starter vocabulary splits these characters
    const decoder = new TokenTextDecoder(model);
    const chunks = tokens.map((t) => decoder.push(t));
    chunks.push(decoder.flush());
    expect(chunks.join("")).toBe(text);
    for (const c of chunks) expect(c).not.toContain("\uFFFD");
  });
});
