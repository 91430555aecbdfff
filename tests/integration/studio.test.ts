// Training studio end to end: real SQLite, the real starter model, the real native trainer (tiny
// settings). Upload through the HTTP route handler → preview with the cleaning effect → plan →
// LoRA on the starter and a tiny scratch model through the queue → perplexity falls → activate for
// an assistant, chat with it, roll back. Plus bad uploads, queueing, cancel/resume, restart recovery.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assistants } from "@/server/db/schema";
import { studioDatasets, studioRuns } from "@/server/studio/schema";
import type { RunEvent } from "@/server/studio/types";
import { collect, freshApp } from "../helpers/app";
import { chatJsonl, NOTES_MD } from "../studio/corpus";

let app: Awaited<ReturnType<typeof freshApp>>;
const CLEAN = { dedupe: true, nearDedupe: true, scrubPii: true, minChars: 0, maxChars: 100_000, heldOutFraction: 0.15 };

async function upload(name: string, files: { name: string; body: string | Uint8Array<ArrayBuffer> }[], opts: { csrf?: string | null } = {}) {
  const { POST } = await import("@/app/api/studio/datasets/route");
  const form = new FormData();
  form.set("name", name);
  for (const f of files) form.append("files", new File([f.body], f.name));
  const headers = new Headers({ cookie: `atelier_session=${app.admin.token}` });
  if (opts.csrf !== null) headers.set("x-atelier-csrf", opts.csrf ?? app.admin.csrfToken);
  const res = await POST(new Request("http://localhost/api/studio/datasets", { method: "POST", body: form, headers }));
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function waitFor(runId: string, statuses: string[], timeoutMs = 240_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const run = await app.caller().studio.runs.get({ id: runId });
    if (statuses.includes(run.status)) return run;
    if (Date.now() > until) throw new Error(`run ${runId} still ${run.status}: ${run.log.slice(-5).join(" | ")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let starterId: string;
let assistantId: string;
let chatDatasetId: string;

beforeAll(async () => {
  app = await freshApp({ ATELIER_MAX_UPLOAD_MB: "1", ATELIER_TRAIN_THREADS: "1" });
  const a = app.db.select().from(assistants).get()!;
  assistantId = a.id;
  starterId = a.modelId!;
  // short answers keep chat and compare quick
  app.db.update(assistants).set({ sampling: { ...a.sampling, maxTokens: 24, temperature: 0 } }).where(eq(assistants.id, a.id)).run();
});

afterAll(async () => {
  const { runnerFor } = await import("@/server/studio/runner");
  await runnerFor(app.db).drained();
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe("upload", () => {
  it("stores a dataset with provenance through the route (CSRF and role checked)", async () => {
    expect((await upload("x", [{ name: "a.md", body: NOTES_MD }], { csrf: null })).status).toBe(403);
    const r = await upload("Printer", [
      { name: "chats.jsonl", body: chatJsonl() },
      { name: "notes.md", body: NOTES_MD },
    ]);
    expect(r.status).toBe(200);
    expect(r.body.dataset).toMatchObject({ name: "Printer", format: "chat", recordCount: 72 + 6 });
    expect(r.body.dataset.tokenCount).toBeGreaterThan(1000);
    expect(r.body.files).toEqual([{ name: "chats.jsonl", records: 72, warnings: [] }, { name: "notes.md", records: 6, warnings: [] }]);
    chatDatasetId = r.body.dataset.id;
    const [ds] = await app.caller().studio.datasets.list();
    expect(ds!.files.map((f) => f.name)).toEqual(["chats.jsonl", "notes.md"]);
    expect(ds!.files[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    const detail = await app.caller().studio.datasets.get({ id: chatDatasetId });
    expect(detail.samples).toHaveLength(5);
    expect(detail.stats.chatRecords).toBe(72);
  });

  it("refuses garbage, empty, oversized and malformed files with file and line, storing nothing", async () => {
    const before = app.db.select().from(studioDatasets).all().length;
    const bad = [
      { files: [{ name: "ok.jsonl", body: chatJsonl() }, { name: "bad.jsonl", body: '{"question":"a","answer":"b"}\n{"question":"c","answer":"d"}\n{"question": nope}\n' }], status: 400, file: "bad.jsonl", line: 3 },
      { files: [{ name: "empty.txt", body: "" }], status: 400, file: "empty.txt", message: /empty/ },
      { files: [{ name: "junk.txt", body: new Uint8Array(Array.from({ length: 4000 }, (_, i) => (i * 7919) % 256)) }], status: 400, file: "junk.txt", message: /binary|not valid UTF-8/ },
      { files: [{ name: "big.txt", body: "word ".repeat(260_000) }], status: 413, message: /limit/ },
      { files: [{ name: "model.pdf", body: "%PDF-1.4 ..." }], status: 400, file: "model.pdf", message: /PDF/ },
    ];
    for (const b of bad) {
      const r = await upload("bad", b.files);
      expect(r.status, JSON.stringify(r.body)).toBe(b.status);
      if (b.file) expect(r.body.error.file).toBe(b.file);
      if (b.line) expect(r.body.error.line).toBe(b.line);
      if (b.message) expect(r.body.error.message).toMatch(b.message);
    }
    expect(app.db.select().from(studioDatasets).all().length).toBe(before);
  });
});

describe("preview and plan", () => {
  it("shows the cleaning effect and counts tokens with the base model's tokenizer", async () => {
    const p = await app.caller().studio.datasets.preview({ id: chatDatasetId, baseModelId: starterId, cleaning: CLEAN });
    expect(p.tokenizer).toBe("model");
    expect(p.records).toBe(78);
    expect(p.effect.exactDuplicates).toBeGreaterThanOrEqual(1);
    expect(p.effect.nearDuplicates).toBeGreaterThanOrEqual(1);
    expect(p.effect.pii).toMatchObject({ email: 1, phone: 1, card: 1, ip: 2 });
    expect(p.samples.some((s) => s.before.includes("help@quillfeather.example") && s.after.includes("[EMAIL]") && !s.after.includes("@"))).toBe(true);
    expect(p.trainTokens + p.heldOutTokens).toBe(p.tokens);
    expect(p.heldOutRecords).toBeGreaterThan(0);
    const raw = await app.caller().studio.datasets.preview({ id: chatDatasetId, baseModelId: starterId, cleaning: { ...CLEAN, scrubPii: false, dedupe: false, nearDedupe: false } });
    expect(raw.kept).toBe(78);
    expect(raw.effect.pii.email).toBe(0);
  });

  it("plans with a calibrated speed (cached the second time) and plain-words advice", async () => {
    const input = { datasetId: chatDatasetId, baseModelId: starterId, goal: "answers" as const, method: "lora" as const, epochs: 1, cleaning: CLEAN, advanced: { seqLen: 64, batch: 4, maxSteps: 30 } };
    const plan = await app.caller().studio.plan(input);
    expect(plan.params).toBe(1237632);
    expect(plan.trainableParams).toBeGreaterThan(0);
    expect(plan.trainableParams).toBeLessThan(plan.params / 5);
    expect(plan.flops).toBeCloseTo((4 * plan.params + 6 * plan.trainableParams) * plan.trainingTokens, -3);
    expect(plan.calibration.tokensPerSecond).toBeGreaterThan(0);
    expect(plan.estSeconds).toBeGreaterThan(0);
    expect(plan.peakMemoryBytes).toBeGreaterThan(0);
    expect(plan.fits).toBe(true);
    expect(plan.recommendation).toBe("lora");
    expect((await app.caller().studio.plan(input)).calibration.cached).toBe(true);

    const tiny = await upload("tiny", [{ name: "t.txt", body: "A few words about printers.\n\nAnd a few more." }]);
    const small = await app.caller().studio.plan({ ...input, datasetId: tiny.body.dataset.id, goal: "domain", cleaning: { ...CLEAN, heldOutFraction: 0 }, advanced: { seqLen: 16, batch: 1, maxSteps: 2 } });
    expect(small.recommendation).toBe("knowledge");
    expect(small.reasons[0]).toMatch(/too little to train on.*knowledge base/);
  });
});

describe("training through the queue", () => {
  let loraModelId: string;

  it("trains a LoRA on the starter and a tiny scratch model; the second waits its turn; perplexity falls", async () => {
    const lora = await app.caller().studio.runs.start({
      datasetId: chatDatasetId, baseModelId: starterId, goal: "answers", method: "lora", epochs: 1, loraRank: 8, cleaning: CLEAN, assistantId,
      name: "printer lora", advanced: { seqLen: 64, batch: 4, maxSteps: 30, learningRate: 1e-2, evalEvery: 10, precision: "f32" },
    });
    const scratch = await app.caller().studio.runs.start({
      datasetId: chatDatasetId, baseModelId: null, goal: "scratch", method: "scratch", scratchSize: "tiny", epochs: 1, cleaning: CLEAN,
      name: "printer scratch", advanced: { seqLen: 64, batch: 4, maxSteps: 40, learningRate: 1e-2 },
    });
    expect(lora.queuedBehind).toBe(0);
    expect(scratch.queuedBehind).toBe(1);
    expect((await app.caller().studio.runs.get({ id: scratch.runId })).status).toBe("queued");

    const events: RunEvent[] = await collect(await app.caller().studio.runs.watch({ id: lora.runId }));
    expect(events.some((e) => e.type === "progress")).toBe(true);
    const done = events.find((e) => e.type === "done") as Extract<RunEvent, { type: "done" }>;
    expect(done).toBeTruthy();
    expect(events.at(-1)).toMatchObject({ type: "status", status: "succeeded" });
    expect(done.pplAfter!).toBeLessThan(done.pplBefore!);
    loraModelId = done.modelId;

    const run = await app.caller().studio.runs.get({ id: lora.runId });
    expect(run.status).toBe("succeeded");
    expect(run.points.length).toBeGreaterThan(1);
    expect(run.points.some((p) => p.evalLoss !== undefined)).toBe(true);
    expect(run.estimate.seconds).toBeGreaterThan(0);
    expect(run.actual!.seconds).toBeGreaterThan(0);
    expect(run.log.join("\n")).toMatch(/registered as model/);
    expect(run.log.join("\n")).toMatch(/trainer started: .*precision f32/); // the studio's precision reached the trainer

    const s = await waitFor(scratch.runId, ["succeeded", "failed"]);
    expect(s.error).toBeNull();
    expect(s.metrics!.pplAfter!).toBeLessThan(s.metrics!.pplBefore!);

    const versions = await app.caller().studio.versions.list();
    const lv = versions.find((v) => v.id === loraModelId)!;
    expect(lv).toMatchObject({ kind: "lora", baseModelId: starterId, datasetId: chatDatasetId, runId: lora.runId });
    expect(lv.meta.pplAfter).toBe(done.pplAfter);
    expect(versions.find((v) => v.id === s.modelId)).toMatchObject({ kind: "base", baseModelId: null, runId: scratch.runId });
  }, 600_000);

  it("activates the new version for an assistant, chats with it, compares, and rolls back", async () => {
    const { previousModelId } = await app.caller().studio.versions.activate({ assistantId, modelId: loraModelId });
    expect(previousModelId).toBe(starterId);
    const conv = await app.caller().conversations.create({ assistantId });
    const events = await collect(await app.caller().chat.send({ kind: "send", conversationId: conv.id, content: "What does error QX-107 mean on the Quillfeather?" }));
    const end = events.at(-1) as { type: string; message: { modelId: string; content: string; status: string } };
    expect(end.type).toBe("done");
    expect(end.message.modelId).toBe(loraModelId);
    expect(end.message.content.length).toBeGreaterThan(0);

    await app.caller().studio.evalPrompts.set({ assistantId, prompts: ["What is Atelier?"] });
    expect(await app.caller().studio.evalPrompts.get({ assistantId })).toEqual(["What is Atelier?"]);
    const cmp = await collect(await app.caller().studio.compare({ assistantId, candidateModelId: starterId }));
    expect(cmp.at(-1)).toEqual({ type: "done" });
    expect(new Set(cmp.filter((e) => e.type === "answer").map((e) => (e as { side: string }).side))).toEqual(new Set(["current", "candidate"]));

    const mine = await app.caller().studio.versions.list({ assistantId });
    expect(mine.find((v) => v.id === loraModelId)?.activeFor).toEqual([assistantId]);
    expect(mine.some((v) => v.id === starterId)).toBe(true);
    expect((await app.caller().studio.versions.activate({ assistantId, modelId: starterId })).previousModelId).toBe(loraModelId);
    expect(app.db.select().from(assistants).where(eq(assistants.id, assistantId)).get()!.modelId).toBe(starterId);
  }, 300_000);

  it("cancels with a checkpoint, queues a second start, resumes; restart recovery resumes or fails with a reason", async () => {
    const base = { datasetId: chatDatasetId, baseModelId: starterId, goal: "answers" as const, method: "lora" as const, epochs: 1, cleaning: CLEAN };
    const long = await app.caller().studio.runs.start({ ...base, name: "long", advanced: { seqLen: 64, batch: 4, maxSteps: 3000, saveEvery: 1000 } });
    const second = await app.caller().studio.runs.start({ ...base, name: "second", advanced: { seqLen: 64, batch: 4, maxSteps: 5 } });
    expect(second.queuedBehind).toBe(1);
    // let it take a few steps, then cancel: SIGTERM → checkpoint
    for await (const ev of await app.caller().studio.runs.watch({ id: long.runId })) if (ev.type === "progress" && ev.step >= 3) break;
    await app.caller().studio.runs.cancel({ id: long.runId });
    const cancelled = await waitFor(long.runId, ["cancelled"]);
    expect(cancelled.canResume).toBe(true);
    await app.caller().studio.runs.cancel({ id: second.runId }).catch(() => undefined); // may already run; either is fine
    const { runnerFor, recoverStudioRuns } = await import("@/server/studio/runner");
    await runnerFor(app.db).drained();

    // simulate a server that died mid-run: the row says running, a checkpoint exists
    const { readCheckpointInfo } = await import("@/server/forge/trainer");
    const ckptStep = readCheckpointInfo(`${app.db.select().from(studioRuns).where(eq(studioRuns.id, long.runId)).get()!.workDir}/ckpt`)!.step;
    expect(ckptStep).toBeGreaterThanOrEqual(3);
    app.db.update(studioRuns).set({ status: "running", settings: { ...cancelled.settings, train: { ...(cancelled.settings.train as object) } } }).where(eq(studioRuns.id, long.runId)).run();
    // and one that died while preparing (no checkpoint)
    app.db.update(studioRuns).set({ status: "running", step: 0 }).where(eq(studioRuns.id, second.runId)).run();
    const { rmSync } = await import("node:fs");
    rmSync(`${app.db.select().from(studioRuns).where(eq(studioRuns.id, second.runId)).get()!.workDir}/ckpt`, { recursive: true, force: true });

    const rec = await recoverStudioRuns(app.db, { kick: false });
    expect(rec).toEqual({ resumed: [long.runId], failed: [second.runId] });
    const failed = await app.caller().studio.runs.get({ id: second.runId });
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/server stopped while this run was preparing/);
    const resumed = await app.caller().studio.runs.get({ id: long.runId });
    expect(resumed.status).toBe("queued");
    expect(resumed.log.at(-1)).toMatch(new RegExp(`resuming from the checkpoint at step ${ckptStep}`));

    // the resumed run continues from its checkpoint; cancel it again right away to keep the test short
    runnerFor(app.db).kick();
    for await (const ev of await app.caller().studio.runs.watch({ id: long.runId })) {
      if (ev.type === "progress") {
        expect(ev.step).toBeGreaterThan(ckptStep);
        break;
      }
    }
    await app.caller().studio.runs.cancel({ id: long.runId });
    await waitFor(long.runId, ["cancelled"]);
  }, 300_000);
});
