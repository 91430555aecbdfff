// An eval run generates through the serving engine's parallel sequences on BOTH engines
// (ATELIER_ENGINE: the native loop and node-llama-cpp's), not one question at a time: counted
// on the engine itself, a run decodes far fewer times than it generates tokens, and several
// sequences share a step. One question at a time would need at least one decode per token.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evalResults } from "@/server/evals/schema";
import { freshApp } from "../helpers/app";
import { assistantWithFaq, type App } from "./helpers";

/** Eight questions of the FAQ fixture with their answers, written out here. */
const ROWS = [
  ["How do I change the port?", "Atelier listens on port 3000 by default."],
  ["Where does Atelier store its data?", "Everything Atelier stores lives in its data directory."],
  ["How do I stop an answer?", "Click the Stop button while the answer is streaming."],
  ["What is LoRA?", "LoRA keeps the base model frozen and trains small extra matrices."],
  ["What is perplexity?", "Perplexity measures how surprised a model is by text: lower is better."],
  ["How do I run the tests?", "Run npm test."],
  ["How do I start a new chat?", "Click New chat in the sidebar."],
  ["What are personas?", "A persona is an assistant with its own name, model, system prompt and sampling settings."],
] as const;
const CONCURRENCY = 3;

let app: App;
let assistantId: string;
let starterId: string;
let setId: string;

beforeAll(async () => {
  app = await freshApp({ ATELIER_SEQUENCES: "4", ATELIER_CONTEXT_SIZE: "512" });
  ({ assistantId, starterId } = await assistantWithFaq(app, 24));
  const { createSet, insertRows } = await import("@/server/evals");
  setId = createSet(app.db, { name: "engines", description: "", assistantId, isDefault: true }, null).id;
  insertRows(app.db, setId, ROWS.map(([question, reference]) => ({ question, reference, facts: [], expectedSource: null, shouldRefuse: false })));
});

afterAll(async () => {
  const { evalRunnerFor } = await import("@/server/evals");
  await evalRunnerFor(app.db).drained();
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
  delete process.env.ATELIER_ENGINE;
});

/** Decodes the engine serving the starter has run so far (node-llama-cpp: counted on its context's batches). */
async function decodeCounter(): Promise<{ decodes: () => number; maxStepSequences: () => number | null; engine: string }> {
  const { ModelPool } = await import("@/server/llm/pool");
  const { NativeServing } = await import("@/server/llm/native-serving");
  const { getModelRow, servingSpecFor } = await import("@/server/models");
  const serving = await ModelPool.instance().serving(servingSpecFor(app.db, getModelRow(app.db, starterId)));
  if (serving instanceof NativeServing) {
    return { engine: "native", decodes: () => serving.loop.stats().decodes, maxStepSequences: () => serving.loop.stats().maxStepSequences };
  }
  // node-llama-cpp 3.21.1 starts every llama_decode with initBatch on its native context (as bench/lib/raw.ts counts them)
  const native = (serving.context as unknown as { _ctx: Record<string, (...args: unknown[]) => unknown> })._ctx;
  const init = native.initBatch!.bind(native);
  let count = 0;
  Object.defineProperty(native, "initBatch", { configurable: true, writable: true, value: (size: number) => (count++, init(size)) });
  return { engine: "node-llama-cpp", decodes: () => count, maxStepSequences: () => null };
}

describe.each(["native", "node-llama-cpp"] as const)("an eval run on the %s engine", (engine) => {
  beforeAll(async () => {
    process.env.ATELIER_ENGINE = engine;
    const { resetEnvForTests } = await import("@/server/env");
    const { resetEngineKindForTests } = await import("@/server/llm/native-serving");
    resetEnvForTests();
    resetEngineKindForTests();
  });

  it("answers several questions at once on the engine's parallel sequences", async () => {
    const counter = await decodeCounter();
    expect(counter.engine).toBe(engine);
    const { createRun, evalRunnerFor, getRun } = await import("@/server/evals");
    const { runId } = createRun(app.db, { assistantId, setId, versions: [starterId], knowledge: ["on", "off"], concurrency: CONCURRENCY }, null, { kick: false });
    const before = counter.decodes();
    await evalRunnerFor(app.db).runNow(runId);
    const decodes = counter.decodes() - before;

    const run = getRun(app.db, runId);
    expect(run.status, run.error ?? "").toBe("succeeded");
    const results = app.db.select().from(evalResults).where(eq(evalResults.runId, runId)).all();
    expect(results).toHaveLength(ROWS.length * 2);
    expect(results.every((r) => r.error === null && r.answer.length > 0)).toBe(true);
    const tokens = results.reduce((n, r) => n + (r.answerTokens ?? 0), 0);
    // One question at a time: every generated token but each answer's first costs a decode of its own, plus each
    // prompt, so decodes >= tokens. Three at a time share steps: well under two thirds of that.
    expect(tokens).toBeGreaterThan(ROWS.length * 2 * 4);
    expect(decodes).toBeGreaterThan(0);
    expect(decodes, `${decodes} decodes for ${tokens} generated tokens`).toBeLessThan(tokens * 0.67);
    const most = counter.maxStepSequences();
    if (most !== null) expect(most).toBeGreaterThanOrEqual(2);
  }, 240_000);
});
