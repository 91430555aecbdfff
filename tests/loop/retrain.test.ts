import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshApp } from "../helpers/app";
import { deployDefault, type App } from "../widget/helpers";
import { loopbackServer } from "../widget/loopback";
import { widgetChat, widgetFeedback } from "./helpers";

// Retrain: a reviewed improvement dataset becomes a studio dataset (with a replay share of the
// active version's own training data) and the studio's plan; a real few-step run trains on it.
let app: App;
let server: Awaited<ReturnType<typeof loopbackServer>>;
let publicId: string;
let assistantId: string;
const turns: { conversationId: string; messageId: string }[] = [];

const QUESTIONS = ["How do I embed the chat?", "Which models can I use?", "How long does training take?", "Can I export conversations?", "Does it work offline?"];
const correctionOf = (i: number) => `Corrected answer number ${i + 1}: see the Atelier documentation.`;

async function waitFor(runId: string, statuses: string[], timeoutMs = 300_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const run = await app.caller().studio.runs.get({ id: runId });
    if (statuses.includes(run.status)) return run;
    if (Date.now() > until) throw new Error(`run ${runId} still ${run.status}: ${run.log.slice(-5).join(" | ")}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  app = await freshApp();
  ({ publicId, assistantId } = await deployDefault(app, ["https://shop.example"], 8));
  server = await loopbackServer();
  for (const [i, q] of QUESTIONS.entries()) {
    const t = await widgetChat(server.url, publicId, `visitor-retrain-${i}`, q);
    await widgetFeedback(server.url, publicId, { visitorId: `visitor-retrain-${i}`, conversationId: t.conversationId, messageId: t.messageId, value: -1 });
    turns.push(t);
  }
  // The first four are corrected now; the fifth later.
  for (let i = 0; i < 4; i++) await app.caller().loop.review({ messageId: turns[i]!.messageId, action: "corrected", correction: correctionOf(i) });
}, 300_000);

afterAll(async () => {
  await server?.close();
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe("Retrain", () => {
  it("plans a run from the active version, trains it, and deleting a conversation then names the trained version", async () => {
    const caller = app.caller();
    const v1 = await caller.loop.createDataset({ assistantId });
    const starterId = (await caller.assistants.get({ id: assistantId })).modelId!;

    const planned = await caller.loop.retrain({ datasetId: v1.id, replayShare: 0.2 });
    // The starter was not trained in Atelier: nothing of its own to replay.
    expect(planned.replay).toMatchObject({ records: 0, fromDatasetId: null });
    expect(planned.replay.note).toMatch(/not trained in Atelier/);
    expect(planned.continuesFrom.modelId).toBe(starterId);
    expect(planned.start).toMatchObject({ datasetId: planned.studioDatasetId, baseModelId: starterId, method: "lora", goal: "answers", assistantId });
    expect(planned.plan.estSeconds).toBeGreaterThan(0);
    const studioDataset = await caller.studio.datasets.get({ id: planned.studioDatasetId });
    expect(studioDataset.recordCount).toBe(4);
    expect(studioDataset.files.map((f) => [f.name, f.records])).toEqual([["improvement-v1.jsonl", 4]]);

    const { runId } = await caller.studio.runs.start({ ...planned.start, advanced: { seqLen: 64, batch: 2, maxSteps: 3 } });
    const run = await waitFor(runId, ["succeeded", "failed"]);
    expect(run.error).toBeNull();
    expect(run.status).toBe("succeeded");
    const trainedId = run.modelId!;

    const [listed] = await caller.loop.datasets({ assistantId });
    expect(listed).toMatchObject({ version: 1, trained: true });
    expect(listed!.trainedModels.map((m) => m.id)).toEqual([trainedId]);

    // The first conversation trained that version: it stays there, and the reply says which version used it.
    const deleted = await caller.loop.deleteConversation({ conversationId: turns[0]!.conversationId });
    expect(deleted.removedFrom).toEqual([]);
    expect(deleted.trainedVersions).toEqual([{ datasetId: v1.id, version: 1, models: [{ id: trainedId, name: run.name }] }]);
    expect((await caller.loop.datasetItems({ datasetId: v1.id })).length).toBe(4);

    // The trained LoRA becomes the active version; the next Retrain continues from it and replays its data.
    await caller.studio.versions.activate({ assistantId, modelId: trainedId });
    await caller.loop.review({ messageId: turns[4]!.messageId, action: "corrected", correction: correctionOf(4) });
    const v2 = await caller.loop.createDataset({ assistantId });
    expect(v2).toMatchObject({ version: 2, recordCount: 4 }); // corrections 2-5 (the first left with its conversation)
    const next = await caller.loop.retrain({ datasetId: v2.id, replayShare: 0.5 });
    expect(next.continuesFrom).toMatchObject({ modelId: trainedId, kind: "lora" });
    // The adapter is merged into the starter; the next adapter trains on the merged weights.
    const merged = (await caller.models.list()).find((m) => m.id === next.start.baseModelId)!;
    expect(merged).toMatchObject({ kind: "finetuned", baseModelId: trainedId });
    expect(next.start.method).toBe("lora");
    // Merging changed the weights: the merged file is not the starter's.
    const fs = await import("node:fs");
    const { eq } = await import("drizzle-orm");
    const { models } = await import("@/server/db/schema");
    const fileOf = (id: string) => app.db.select().from(models).where(eq(models.id, id)).get()!.filePath;
    expect(fs.readFileSync(fileOf(merged.id)).equals(fs.readFileSync(fileOf(starterId)))).toBe(false);
    // share 0.5 → replay = 0.5 / (1 - 0.5) × 4 new records = 4, from the 4 records v1 trained on.
    expect(next.replay).toMatchObject({ records: 4, fromDatasetId: planned.studioDatasetId });
    // The continued run trains (a few steps) on the merged weights and registers a new adapter on them.
    const again = await caller.studio.runs.start({ ...next.start, advanced: { seqLen: 64, batch: 2, maxSteps: 2 } });
    const second = await waitFor(again.runId, ["succeeded", "failed"]);
    expect(second.error).toBeNull();
    expect((await caller.models.list()).find((m) => m.id === second.modelId)).toMatchObject({ kind: "lora", baseModelId: merged.id });
    const mixed = await caller.studio.datasets.get({ id: next.studioDatasetId });
    expect(mixed.files.map((f) => [f.name, f.records])).toEqual([
      ["improvement-v2.jsonl", 4],
      [`replay-${planned.studioDatasetId}.jsonl`, 4],
    ]);
  }, 600_000);
});
