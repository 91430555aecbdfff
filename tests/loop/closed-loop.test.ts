import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForRun } from "../evals/helpers";
import { freshApp } from "../helpers/app";
import { deployDefault, type App } from "../widget/helpers";
import { loopbackServer } from "../widget/loopback";
import { widgetChat, widgetFeedback } from "./helpers";

/*
 * The loop end to end on the starter model: widget conversations with thumbs-down → corrections in
 * the inbox → an improvement dataset → Retrain (a short real LoRA run) → the eval runner measures the
 * new version's answers to the corrected questions against the corrections: token-F1 goes up.
 * The eval set is made after training, as an owner checking the result would (made before, its
 * questions would be left out of training by the no-leakage rule).
 */

let app: App;
let server: Awaited<ReturnType<typeof loopbackServer>>;
let publicId: string;
let assistantId: string;

const FIXES = [
  ["How do I embed the chat?", "Paste the widget snippet from Deploy into your page."],
  ["Where do I upload documents?", "Open Knowledge, create a collection and upload files."],
  ["How do I train a model?", "Open Studio, upload a dataset and press Start."],
  ["Can I call it from code?", "Yes, create an API key and use the OpenAI client."],
  ["How do I add users?", "Open Users and add an email with a role."],
  ["Which version answers?", "The version marked active on the assistant page."],
] as const;

beforeAll(async () => {
  app = await freshApp();
  ({ publicId, assistantId } = await deployDefault(app, ["https://shop.example"], 24));
  server = await loopbackServer();
});

afterAll(async () => {
  await server?.close();
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe("the improvement loop, end to end", () => {
  it("thumbs-down → corrections → dataset → retrain → answers move toward the corrections", async () => {
    const caller = app.caller();
    const starterId = (await caller.assistants.get({ id: assistantId })).modelId!;
    for (const [i, [question]] of FIXES.entries()) {
      const t = await widgetChat(server.url, publicId, `visitor-loop-${i}`, question);
      await widgetFeedback(server.url, publicId, { visitorId: `visitor-loop-${i}`, conversationId: t.conversationId, messageId: t.messageId, value: -1 });
    }
    const inbox = await caller.loop.inbox({ assistantId, rating: "down" });
    expect(inbox).toHaveLength(FIXES.length);
    for (const item of inbox) {
      const fix = FIXES.find(([q]) => q === item.question.after)!;
      await caller.loop.review({ messageId: item.messageId, action: "corrected", correction: fix[1] });
    }
    const version = await caller.loop.createDataset({ assistantId });
    const planned = await caller.loop.retrain({ datasetId: version.id, replayShare: 0 });
    const { runId } = await caller.studio.runs.start({ ...planned.start, advanced: { seqLen: 64, batch: 3, maxSteps: 60, learningRate: 1e-2 } });
    const until = Date.now() + 400_000;
    let run = await caller.studio.runs.get({ id: runId });
    while (!["succeeded", "failed"].includes(run.status) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 500));
      run = await caller.studio.runs.get({ id: runId });
    }
    expect(run.error).toBeNull();
    const trainedId = run.modelId!;

    const set = await caller.evals.sets.create({ name: "Corrected questions", assistantId, isDefault: true });
    await caller.evals.rows.add({ setId: set.id, rows: FIXES.map(([question, reference]) => ({ question, reference })) });
    const evalRun = await caller.evals.runs.start({ assistantId, setId: set.id, versions: [starterId, trainedId], knowledge: ["off"], maxTokens: 24 });
    const done = await waitForRun(app, evalRun.runId, ["succeeded", "failed"]);
    expect(done.status).toBe("succeeded");
    const f1 = (modelId: string) => done.summary!.configs[done.configs.findIndex((c) => c.modelId === modelId)]!.metrics.tokenF1!.mean;
    console.log(`[closed loop] token-F1 on the corrected questions: starter ${f1(starterId).toFixed(3)}, retrained ${f1(trainedId).toFixed(3)}`);
    expect(f1(trainedId)).toBeGreaterThan(f1(starterId) + 0.1);
  }, 900_000);
});
