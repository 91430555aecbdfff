// "Settings actually change the answers": through the real engine and the starter model, each
// setting an editor changes reaches what the model sees or how it answers.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TryItEvent } from "@/server/chat";
import type { ChatEvent } from "@/server/chat";
import { collect, freshApp } from "../helpers/app";
import { starterModelPath } from "../helpers/model";

let app: Awaited<ReturnType<typeof freshApp>>;
let workDir: string;

beforeAll(async () => {
  app = await freshApp();
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-assistants-lora-"));
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
  fs.rmSync(workDir, { recursive: true, force: true });
});

type Draft = Parameters<Awaited<ReturnType<typeof app.caller>>["assistants"]["tryIt"]>[0]["draft"];
type Msg = { role: "user" | "assistant"; content: string };

async function baseDraft(): Promise<Draft> {
  const [assistant] = await app.caller().assistants.list();
  return { ...assistant!, sampling: { temperature: 0, topP: 1, topK: 0, repeatPenalty: 1, maxTokens: 24 } };
}

async function answer(draft: Draft, messages: Msg[]) {
  const events: TryItEvent[] = await collect(await app.caller().assistants.tryIt({ draft, messages }));
  const done = events.at(-1);
  if (done?.type !== "done") throw new Error(`try-it did not finish: ${JSON.stringify(done)}`);
  return done;
}

/** A tiny LoRA on the starter, trained in a few seconds to answer everything with one sentence. */
async function craftLora(): Promise<string> {
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const { buildDataset, forgeTokenizerFromModel, loadTokenizerModel } = await import("@/server/forge");
  const { startTraining } = await import("@/server/forge/trainer");
  const { STARTER_SYSTEM_PROMPT } = await import("@/server/forge/starter/recipe");
  const p = (f: string) => path.join(workDir, f);
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  const vocab = await loadTokenizerModel(llama, starterModelPath());
  const questions = ["What is Atelier?", "How do I train a model?", "What can you do?", "Who are you?", "How do I embed the widget?", "Hello"];
  try {
    buildDataset({
      tokenizer: forgeTokenizerFromModel(vocab),
      seqLen: 96,
      chats: Array.from({ length: 24 }, (_, i) => ({
        system: STARTER_SYSTEM_PROMPT,
        messages: [
          { role: "user" as const, content: questions[i % questions.length]! },
          { role: "assistant" as const, content: "Bananas are yellow and the sea is blue." },
        ],
        group: String(i),
      })),
      evalFraction: 0,
      trainPath: p("train.atds"),
    });
  } finally {
    await vocab.dispose();
  }
  const run = await startTraining({
    mode: "lora", base: starterModelPath(), out: p("adapter.gguf"), checkpointDir: p("ckpt"), train: p("train.atds"),
    lora: { rank: 4, alpha: 8 }, batch: 4, steps: 30, lr: 1e-2, seed: 7, threads: 1,
  }).done;
  expect(run.status).toBe("done");
  return p("adapter.gguf");
}

describe("settings change what the model sees and says", () => {
  it("a different system prompt changes the rendered prompt and its token count", async () => {
    const draft = await baseDraft();
    const messages: Msg[] = [{ role: "user", content: "What is Atelier?" }];
    const a = await app.caller().assistants.previewPrompt({ draft, messages });
    const b = await app.caller().assistants.previewPrompt({ draft: { ...draft, systemPrompt: "You are a terse pirate who answers in riddles." }, messages });
    expect(a.text).toContain(draft.systemPrompt);
    expect(b.text).toContain("You are a terse pirate who answers in riddles.");
    expect(b.text).not.toContain(draft.systemPrompt);
    expect(b.text.replace("You are a terse pirate who answers in riddles.", draft.systemPrompt)).toBe(a.text);
    expect(b.tokens).not.toBe(a.tokens);

    // The engine evaluates exactly that many more (or fewer) prompt tokens.
    const [ra, rb] = [await answer(draft, messages), await answer({ ...draft, systemPrompt: "You are a terse pirate who answers in riddles." }, messages)];
    expect(rb.stats.promptTokens - ra.stats.promptTokens).toBe(b.tokens - a.tokens);

    // The out-of-scope reply is instructed in the system prompt.
    const c = await app.caller().assistants.previewPrompt({ draft: { ...draft, outOfScopeReply: "I only know about Atelier." }, messages });
    expect(c.text).toContain(`${draft.systemPrompt}\n\nIf a question is outside your domain, do not answer it; reply exactly: I only know about Atelier.`);
  });

  it("the history window limits how many earlier messages are sent", async () => {
    const draft = await baseDraft();
    const earlier: Msg[] = [
      { role: "user", content: "What is Atelier?" },
      { role: "assistant", content: "A platform to craft an assistant." },
      { role: "user", content: "Does it train models?" },
      { role: "assistant", content: "Yes, with its own trainer." },
    ];
    const now: Msg = { role: "user", content: "How do I embed the widget?" };
    const all = await app.caller().assistants.previewPrompt({ draft: { ...draft, historyWindow: 0 }, messages: [...earlier, now] });
    const two = await app.caller().assistants.previewPrompt({ draft: { ...draft, historyWindow: 2 }, messages: [...earlier, now] });
    const lastTwoOnly = await app.caller().assistants.previewPrompt({ draft: { ...draft, historyWindow: 0 }, messages: [...earlier.slice(2), now] });
    expect(all.text).toContain("What is Atelier?");
    expect(two.text).not.toContain("What is Atelier?");
    expect(two.text).toBe(lastTwoOnly.text);
    expect(two.tokens).toBeLessThan(all.tokens);
  });

  it("chat.send goes through the same path: same settings and messages, same prompt tokens and greedy answer as try-it", async () => {
    const draft = { ...(await baseDraft()), outOfScopeReply: "Ask me about Atelier.", historyWindow: 1 };
    const [assistant] = await app.caller().assistants.list();
    await app.caller().assistants.update({ id: assistant!.id, patch: { sampling: draft.sampling, outOfScopeReply: draft.outOfScopeReply, historyWindow: 1 } });
    const conversation = await app.caller().conversations.create({ assistantId: assistant!.id });
    const send = async (content: string) => {
      const events: ChatEvent[] = await collect(await app.caller().chat.send({ kind: "send", conversationId: conversation.id, content }));
      const done = events.at(-1);
      if (done?.type !== "done") throw new Error(`send failed: ${JSON.stringify(done)}`);
      return done.message;
    };
    const first = await send("What is Atelier?");
    const second = await send("How do I train a model?");
    // History window 1: only the previous answer and the new question are sent.
    const tried = await answer(draft, [
      { role: "user", content: "What is Atelier?" },
      { role: "assistant", content: first.content },
      { role: "user", content: "How do I train a model?" },
    ]);
    expect(second.promptTokens).toBe(tried.stats.promptTokens);
    expect(second.content).toBe(tried.text);
    // ...and the same prompt as try-it with only those two messages.
    const windowed = await answer({ ...draft, historyWindow: 0 }, [{ role: "assistant", content: first.content }, { role: "user", content: "How do I train a model?" }]);
    expect(second.promptTokens).toBe(windowed.stats.promptTokens);
  });

  it("at temperature 0 the same model version answers identically and a LoRA version answers differently", async () => {
    const draft = await baseDraft();
    const adapter = await craftLora();
    const lora = await app.caller().models.addLocal({ path: adapter, name: "starter-bananas", baseModelId: draft.modelId! });
    expect(lora.kind).toBe("lora");
    const messages: Msg[] = [{ role: "user", content: "What is Atelier?" }];

    const starter1 = await answer(draft, messages);
    const starter2 = await answer(draft, messages);
    const tuned1 = await answer({ ...draft, modelId: lora.id }, messages);
    const tuned2 = await answer({ ...draft, modelId: lora.id }, messages);
    expect(starter1.text.length).toBeGreaterThan(0);
    expect(starter2.text).toBe(starter1.text);
    expect(tuned2.text).toBe(tuned1.text);
    expect(tuned1.text).not.toBe(starter1.text);
    expect(tuned1.text).toMatch(/Bananas/);
  });
});
