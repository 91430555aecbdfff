// The studio's numbers, told honestly, on real runs (real SQLite, the real starter model, the real
// native trainer): a held-out file chosen instead of a random split, the per-rule PII report,
// hyperparameters reaching the trainer, peak memory measured from the trainer process (not the
// estimate repeated), bits per byte next to perplexity, a scratch model's "before" marked as
// untrained, tokenizers told apart, and estimates corrected by what finished runs measured.
import fs from "node:fs";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assistants, models } from "@/server/db/schema";
import { readAtds } from "@/server/forge";
import { createDataset } from "@/server/studio";
import { studioRuns } from "@/server/studio/schema";
import { freshApp } from "../helpers/app";

let app: Awaited<ReturnType<typeof freshApp>>;
let starterId = "";
let datasetId = "";
let trainFileId = "";
let testFileId = "";

const CLEAN = { dedupe: true, nearDedupe: true, scrubPii: true, minChars: 0, maxChars: 100_000, heldOutFraction: 0.2 };

/** 450 distinct passages about a harbour (enough tokens that training, not the knowledge base, is advised); the test file has its own ten. */
const passage = (i: number, topic: string) =>
  `Passage ${i} about the ${topic}: the harbour master logs boat ${i * 7} at berth ${i % 9}, checks its lines and notes the tide at ${(i * 13) % 24} hours before the ferry leaves.`;
const PII_LINE = "Write to marta.kowalska@harbourworks.pl or call +44 20 7946 0958; docs at user@example.com; built 1997-2010.";
const TRAIN = [PII_LINE, ...Array.from({ length: 450 }, (_, i) => passage(i, "moorings"))].join("\n\n") + "\n";
const TEST_PASSAGES = Array.from({ length: 10 }, (_, i) => passage(5000 + i * 31, "ferries"));
const TEST = TEST_PASSAGES.join("\n\n") + "\n";

async function waitFor(runId: string, timeoutMs = 300_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const run = await app.caller().studio.runs.get({ id: runId });
    if (["succeeded", "failed", "cancelled"].includes(run.status)) return run;
    if (Date.now() > until) throw new Error(`run ${runId} still ${run.status}: ${run.log.slice(-5).join(" | ")}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  app = await freshApp({ ATELIER_TRAIN_THREADS: "1" });
  starterId = app.db.select().from(assistants).get()!.modelId!;
  const enc = (s: string) => new TextEncoder().encode(s);
  const r = await createDataset(app.db, { name: "Harbour", files: [{ name: "train.md", bytes: enc(TRAIN) }, { name: "test.md", bytes: enc(TEST) }] }, null);
  datasetId = r.dataset.id;
  const detail = await app.caller().studio.datasets.get({ id: datasetId });
  trainFileId = detail.files.find((f) => f.name === "train.md")!.id;
  testFileId = detail.files.find((f) => f.name === "test.md")!.id;
});

afterAll(async () => {
  const { runnerFor } = await import("@/server/studio/runner");
  await runnerFor(app.db).drained();
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe("preview", () => {
  it("holds out the chosen file instead of a random share, and refuses a bad choice", async () => {
    const p = await app.caller().studio.datasets.preview({ id: datasetId, baseModelId: starterId, cleaning: { ...CLEAN, heldOutFileIds: [testFileId] } });
    expect(p.heldOutRecords).toBe(10);
    expect(p.trainRecords + p.heldOutRecords).toBe(p.kept);
    const random = await app.caller().studio.datasets.preview({ id: datasetId, baseModelId: starterId, cleaning: CLEAN });
    expect(random.heldOutRecords + random.trainRecords).toBe(p.kept);
    expect(random.heldOutRecords).toBeGreaterThan(10); // a 20% hash split of 461 records, not the test file
    await expect(app.caller().studio.datasets.preview({ id: datasetId, baseModelId: starterId, cleaning: { ...CLEAN, heldOutFileIds: ["nope"] } })).rejects.toThrow(/not part of this dataset/);
    await expect(
      app.caller().studio.datasets.preview({ id: datasetId, baseModelId: starterId, cleaning: { ...CLEAN, heldOutFileIds: [trainFileId, testFileId] } }),
    ).rejects.toThrow(/nothing is left to train on/);
  });

  it("reports each PII rule with counts and examples; a rule switched off leaves its matches", async () => {
    const p = await app.caller().studio.datasets.preview({ id: datasetId, baseModelId: starterId, cleaning: { ...CLEAN, piiRules: { phone: false } } });
    expect(p.effect.pii).toEqual({ email: 1, phone: 0, card: 0, ip: 0 });
    expect(p.effect.piiReport.email).toMatchObject({ found: 1, kept: 1 });
    expect(p.effect.piiReport.email.examples[0]!.match).toBe("marta.kowalska@harbourworks.pl");
    expect(p.effect.piiReport.email.keptExamples[0]!.match).toBe("user@example.com");
    expect(p.effect.piiReport.phone.found).toBe(1); // would replace, but the rule is off
    expect(p.samples.some((s) => s.after.includes("[EMAIL]") && s.after.includes("+44 20 7946 0958") && s.after.includes("1997-2010"))).toBe(true);
  });
});

describe("runs", () => {
  let loraRunId = "";

  it("says what the planner predicts for LoRA and for a full fine-tune, and recommends by it", async () => {
    const plan = await app.caller().studio.plan({
      datasetId, baseModelId: starterId, goal: "domain", method: "lora", epochs: 1, cleaning: { ...CLEAN, heldOutFileIds: [testFileId] },
      advanced: { seqLen: 32, batch: 2, maxSteps: 4 },
    });
    const full = plan.alternatives.find((a) => a.method === "full");
    expect(full, "the starter is small: the full fine-tune is measured for comparison").toBeTruthy();
    expect(plan.reasons.join(" ")).toMatch(/Measured on this machine, a LoRA adapter would take about .* and a full fine-tune about/);
    // the rule, written here by hand: full when it fits and is predicted at least 1.5× faster
    const expected = full!.fits && full!.estSeconds * 1.5 < plan.estSeconds ? "full" : "lora";
    expect(plan.recommendation).toBe(expected);
    if (expected === "full") expect(plan.reasons.join(" ")).toMatch(/LoRA is the slower one here/);
    expect(plan.accuracy).toMatchObject({ runs: 0, timeFactor: 1, memoryFactor: 1 });
    expect(plan.estSeconds).toBeCloseTo(plan.raw.estSeconds, 6);
  }, 300_000);

  it("a LoRA run: hyperparameters reach the trainer; peak memory is measured from the process; bits per byte beside perplexity", async () => {
    const { runId } = await app.caller().studio.runs.start({
      datasetId, baseModelId: starterId, goal: "domain", method: "lora", epochs: 1, loraRank: 4, cleaning: { ...CLEAN, heldOutFileIds: [testFileId] },
      name: "harbour lora", advanced: { seqLen: 32, batch: 2, maxSteps: 4, learningRate: 0.004, warmupSteps: 2 },
    });
    loraRunId = runId;
    const run = await waitFor(runId);
    expect(run.status, run.log.join("\n")).toBe("succeeded");
    const row = app.db.select().from(studioRuns).where(eq(studioRuns.id, runId)).get()!;
    const config = JSON.parse(fs.readFileSync(`${row.workDir}/ckpt/run.json`, "utf8")) as Record<string, unknown>;
    expect(config).toMatchObject({ lr: 0.004, warmup_steps: 2, batch: 2 });

    // Peak memory: the trainer's resident high-water mark, not its estimate. It holds at least the
    // base model's weights (independent lower bound) and differs from the estimate it used to copy.
    const starterBytes = fs.statSync(app.db.select().from(models).where(eq(models.id, starterId)).get()!.filePath).size;
    expect(run.actual!.peakMemoryBytes).not.toBeNull();
    expect(run.actual!.peakMemoryBytes!).toBeGreaterThan(starterBytes);
    expect(run.actual!.peakMemoryBytes).not.toBe(run.estimate.peakMemoryBytes);
    expect(run.log.join("\n")).toMatch(/peak memory \d+ MiB/);

    // Bits per byte from the perplexity, recomputed here from the held-out file: ln(ppl) · targets / (bytes · ln 2),
    // with targets counted in eval.atds and bytes taken from the test file's own text (rows start with one untargeted token).
    const m = run.metrics!;
    expect(m.beforeUntrained).toBe(false);
    const evalRows = readAtds(`${row.workDir}/eval.atds`);
    const targets = evalRows.mask.reduce((n, v) => n + v, 0);
    const bytes = Buffer.byteLength(TEST_PASSAGES.join("\n\n"), "utf8");
    for (const [ppl, bpb] of [[m.pplBefore, m.bpbBefore], [m.pplAfter, m.bpbAfter]] as const) {
      expect(bpb).not.toBeNull();
      const expected = (Math.log(ppl!) * targets) / (bytes * Math.LN2);
      expect(Math.abs(bpb! - expected) / expected).toBeLessThan(0.03);
    }
    const model = (await app.caller().studio.versions.list()).find((v) => v.id === run.modelId)!;
    expect(model.meta.bpbAfter).toBe(m.bpbAfter);
    expect(model.tokenizer.key).toBe(starterId); // a LoRA keeps its base's tokenizer
  }, 600_000);

  it("the next plan is corrected by the measured ratio and shows the run beside its estimate", async () => {
    const done = app.db.select().from(studioRuns).where(eq(studioRuns.id, loraRunId)).get()!;
    const rawBefore = (done.settings as { plan: { rawSeconds: number; rawPeakBytes: number } }).plan;
    const plan = await app.caller().studio.plan({
      datasetId, baseModelId: starterId, goal: "domain", method: "lora", epochs: 1, loraRank: 4, cleaning: { ...CLEAN, heldOutFileIds: [testFileId] },
      advanced: { seqLen: 32, batch: 2, maxSteps: 4 },
    });
    const clamp = (x: number) => Math.min(5, Math.max(0.2, x));
    expect(plan.accuracy.runs).toBe(1);
    expect(plan.accuracy.method).toBe("lora");
    // like for like: the trainer's own running time (data preparation and evaluations come on top)
    const trainSeconds = (done.settings as { measured: { trainSeconds: number } }).measured.trainSeconds;
    expect(trainSeconds).toBeGreaterThan(0);
    expect(trainSeconds).toBeLessThan(done.actualSeconds!);
    expect(plan.accuracy.timeFactor).toBeCloseTo(clamp(trainSeconds / rawBefore.rawSeconds), 6);
    expect(plan.accuracy.memoryFactor).toBeCloseTo(clamp(done.actualPeakBytes! / rawBefore.rawPeakBytes), 6);
    expect(plan.estSeconds).toBeCloseTo(plan.raw.estSeconds * plan.accuracy.timeFactor, 6);
    expect(plan.peakMemoryBytes).toBeCloseTo(plan.raw.peakMemoryBytes * plan.accuracy.memoryFactor, 0);
    expect(plan.accuracy.recent[0]).toMatchObject({ runId: loraRunId, estimatedSeconds: done.estimateSeconds, actualSeconds: trainSeconds, actualPeakBytes: done.actualPeakBytes });
    expect((await app.caller().studio.runs.get({ id: loraRunId })).actual).toMatchObject({ seconds: done.actualSeconds, trainSeconds });
  }, 300_000);

  it("a scratch model's 'before' is labelled untrained, and it has its own tokenizer", async () => {
    const { runId } = await app.caller().studio.runs.start({
      datasetId, baseModelId: null, goal: "scratch", method: "scratch", scratchSize: "tiny", epochs: 1, cleaning: { ...CLEAN, heldOutFileIds: [testFileId] },
      name: "harbour scratch", advanced: { seqLen: 32, batch: 2, maxSteps: 6, learningRate: 0.01 },
    });
    const run = await waitFor(runId);
    expect(run.status, run.log.join("\n")).toBe("succeeded");
    expect(run.metrics!.beforeUntrained).toBe(true);
    // a uniform guess over the new model's vocabulary (read from its GGUF)
    const { readGgufFileInfo } = await import("node-llama-cpp");
    const file = app.db.select().from(models).where(eq(models.id, run.modelId!)).get()!.filePath;
    const info = await readGgufFileInfo(file);
    expect(run.metrics!.pplBefore).toBe(info.metadata.tokenizer.ggml.tokens.length);
    expect(run.log.join("\n")).toMatch(/\(untrained\) →/);
    const versions = await app.caller().studio.versions.list();
    const scratch = versions.find((v) => v.id === run.modelId)!;
    expect(scratch.meta.beforeUntrained).toBe(true);
    expect(scratch.tokenizer.key).toBe(scratch.id);
    expect(new Set(versions.map((v) => v.tokenizer.key)).size).toBeGreaterThan(1);
  }, 600_000);
});
