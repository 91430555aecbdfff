// A real llama-server as an inference node, over loopback behind the fault-injecting proxy.
// node-llama-cpp ships llama.cpp's source but no llama-server binary; bench/build-llama-server.sh
// builds one from that source (~10 min on 2 cores) into bench/.cache/llama-bin. Where that binary
// is missing (CI's clean clone) this file is skipped and says so; the Atelier-node tests beside it
// cover routing with real processes everywhere.
//
// Covered here: registration reads llama-server's slots and adapters; turns through the chat turn
// (console and `answer()`, the path of Try it and evaluations) reach its native /completion with the
// prompt as tokens and give the local engine's greedy answer; a connection reset before the first
// token is answered by the local engine; a stream cut after text ends interrupted; forge's LoRA,
// loaded with --lora, is selected per request and gives the local engine's answer with the adapter.
import fs from "node:fs";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assistants, messages } from "@/server/db/schema";
import { collect, freshApp } from "../helpers/app";
import { starterModelPath } from "../helpers/model";
import { faultProxy, tinyLora, waitFor } from "./helpers";

const BIN = path.resolve("bench/.cache/llama-bin/llama-server");
const HAVE_BIN = fs.existsSync(BIN);
if (!HAVE_BIN) console.warn(`[llama-server test] skipped: ${BIN} is missing (node-llama-cpp ships no llama-server binary; build it with bash bench/build-llama-server.sh)`);

const QUESTION = "What is the favourite fruit of the guide?";

let app: Awaited<ReturnType<typeof freshApp>>;
let server: { url: string; log: () => string; stop: () => Promise<void> };
let proxy: Awaited<ReturnType<typeof faultProxy>>;
let lora: string;
let starterId: string;
let loraId: string;
let assistantId: string;
let nodeId: string;
/** The local engine's greedy answers (base, adapter), the reference for the node's. */
let localBase: string;
let persona: { systemPrompt: string; outOfScopeReply: string | null; historyWindow: number; sampling: (typeof assistants.$inferSelect)["sampling"] };

const caller = () => app.caller();
/**
 * Generations llama-server itself ran (its log line per task). The proxy's request count can be
 * higher: a request sent on a keep-alive connection the server had just closed is sent again on a
 * fresh one (server/nodes/http.ts), and the proxy saw both.
 */
const tasks = () => server.log().match(/launch_slot_: .*processing task/g)?.length ?? 0;
const nativeCompletions = () => proxy.count(/^POST \/completion /);

/** One answer through the chat turn without storing it (Try it and evaluations run this). */
async function answerText(modelId: string): Promise<string> {
  const { answer } = await import("@/server/chat");
  const events = await collect(answer(app.db, { config: { modelId, name: "test", persona, collectionIds: [] }, turns: [{ role: "user", content: QUESTION }] }));
  const done = events.at(-1) as { type: string; text: string; aborted: boolean };
  expect(done.type).toBe("done");
  expect(done.aborted).toBe(false);
  return done.text;
}

async function consoleTurn(content: string) {
  const conv = (await caller().conversations.create({ assistantId })).id;
  const events = await collect(await caller().chat.send({ kind: "send", conversationId: conv, content }));
  const answer = app.db.select().from(messages).where(eq(messages.conversationId, conv)).all().find((m) => m.role === "assistant")!;
  return { events, answer };
}

describe.skipIf(!HAVE_BIN)("a real llama-server as an inference node", () => {
  beforeAll(async () => {
    app = await freshApp({ ATELIER_NODE_BREAKER_FAILURES: "5", ATELIER_NODE_HEALTH_S: "3600", ATELIER_NODE_TIMEOUT_S: "30" });
    lora = await tinyLora();
    const { startLlamaServer } = await import("../../bench/lib/llamaServer");
    server = await startLlamaServer({ model: starterModelPath(), threads: 1, parallel: 2, ctxPerSeq: 512, extra: ["--lora", lora, "--alias", "starter"] });
    proxy = await faultProxy(server.url);
    const a = app.db.select().from(assistants).get()!;
    assistantId = a.id;
    starterId = a.modelId!;
    // greedy; llama-server's and node-llama-cpp's repeat-penalty windows differ, so none
    const sampling = { ...a.sampling, temperature: 0, repeatPenalty: 1, maxTokens: 32 };
    app.db.update(assistants).set({ sampling }).where(eq(assistants.id, a.id)).run();
    persona = { systemPrompt: a.systemPrompt, outOfScopeReply: a.outOfScopeReply, historyWindow: a.historyWindow, sampling };
    loraId = (await caller().models.addLocal({ path: lora, name: "bananas", baseModelId: starterId })).id;
  });

  afterAll(async () => {
    await server?.stop();
    await proxy?.close();
    const { stopNodeHealth } = await import("@/server/nodes");
    if (app) stopNodeHealth(app.db);
    const { ModelPool } = await import("@/server/llm/pool");
    await ModelPool.instance()[Symbol.asyncDispose]();
  });

  it("registers with its slots and loaded adapters; routes the starter and the LoRA after the identity checks", async () => {
    const view = await caller().nodes.register({ name: "llama", url: proxy.url, kind: "llama-server" });
    nodeId = view.id;
    expect(view.health).toMatchObject({ ok: true, slots: { total: 2, busy: 0 }, models: ["starter"] });
    const starter = await caller().nodes.assign({ nodeId, modelId: starterId, remoteName: "starter" });
    expect(starter.routes).toMatchObject([{ modelId: starterId, state: "ready" }]);
    const plan = await caller().nodes.activationPlan({ currentModelId: starterId, modelId: loraId });
    expect(plan).toMatchObject([{ nodeId, ok: true }]);
  });

  it("the chat turn reaches /completion with the prompt as tokens and gives the local engine's greedy answer", async () => {
    // local answers first (no route yet for these checks): base and adapter
    await caller().nodes.unassign({ nodeId, modelId: starterId });
    localBase = await answerText(starterId);
    const localLora = await answerText(loraId);
    expect(localLora).not.toBe(localBase); // the adapter changes the answer, so the next check can fail
    await caller().nodes.assign({ nodeId, modelId: starterId, remoteName: "starter" });
    await caller().nodes.assign({ nodeId, modelId: loraId, remoteName: "starter" });
    await caller().nodes.setLocal({ modelId: starterId, local: false });
    await caller().nodes.setLocal({ modelId: loraId, local: false });

    const t0 = tasks();
    expect(await answerText(starterId)).toBe(localBase);
    expect(await answerText(loraId)).toBe(localLora);
    await waitFor("llama-server's log", () => tasks() - t0 === 2, 5000);
    expect(proxy.requests().at(-1)).toMatch(/^POST \/completion /);

    const { events, answer } = await consoleTurn(QUESTION);
    expect(events.at(-1)?.type).toBe("done");
    expect(answer.status).toBe("complete");
    expect(answer.content).toBe(localBase);
    expect(answer.completionTokens).toBeGreaterThan(0);
    await waitFor("llama-server's log", () => tasks() - t0 === 3, 5000);
  });

  it("a stream cut after the first token ends interrupted with the partial text", async () => {
    proxy.setMode({ kind: "cut-after-text" });
    try {
      const { events, answer } = await consoleTurn("Tell me a long story about Atelier.");
      expect(events.some((e) => e.type === "token")).toBe(true);
      expect(answer.status).toBe("interrupted");
      expect(answer.content.length).toBeGreaterThan(0);
      expect(answer.error).toMatch(/cut/);
    } finally {
      proxy.setMode({ kind: "pass" });
    }
  });

  it("a connection reset before the first token is answered by the local engine when the version is also served here", async () => {
    await caller().nodes.setLocal({ modelId: starterId, local: true });
    proxy.setMode({ kind: "reset" });
    try {
      const n0 = nativeCompletions();
      const t0 = tasks();
      const { answer } = await consoleTurn(QUESTION);
      expect(nativeCompletions() - n0).toBeGreaterThanOrEqual(1); // it was tried there first
      expect(tasks()).toBe(t0);
      expect(answer.status).toBe("complete");
      expect(answer.content).toBe(localBase);
    } finally {
      proxy.setMode({ kind: "pass" });
    }
  });
});
