import { describe, expect, it } from "vitest";
import { lossChart } from "@/app/_lib/studio-chart";
import {
  describeSettings,
  estimateVsActual,
  formatCount,
  formatEta,
  formatFlops,
  formatRelativeChange,
  formatSeconds,
  formatUploadProblem,
  perplexityVerdict,
} from "@/app/_lib/studio-format";
import { applyWatchEvent, liveFromSnapshot, mergeSnapshot, type RunSnapshot } from "@/app/_lib/studio-live";
import { parseUploadResponse } from "@/app/_lib/studio-upload";
import { blockedReason, chooseGoal, clampCleaning, defaultCleaning, initialWizard, planInput, selectDataset } from "@/app/_lib/studio-wizard";

describe("studio formatting", () => {
  it("formats wall time and ETA in plain words", () => {
    expect(formatSeconds(42.4)).toBe("42 s");
    expect(formatSeconds(190)).toBe("3 min 10 s");
    expect(formatSeconds(3900)).toBe("1 h 5 min");
    expect(formatSeconds(null)).toBe("—");
    expect(formatEta(2)).toBe("almost done");
    expect(formatEta(40)).toBe("less than a minute left");
    expect(formatEta(121)).toBe("about 3 min left");
    expect(formatEta(3 * 3600 + 60)).toBe("about 3 h 1 min left");
    expect(formatEta(null)).toBe("estimating time left…");
  });

  it("formats counts and compute", () => {
    expect(formatCount(12345)).toBe("12,345");
    expect(formatCount(2_500_000)).toBe("2.5M");
    expect(formatFlops(3.4e12)).toEqual({ short: "3.4 TFLOP", words: "about 3.4 trillion calculations" });
    expect(formatFlops(null).short).toBe("—");
  });

  it("tells perplexity changes honestly, including a rise", () => {
    expect(formatRelativeChange(40, 30)).toBe("−25%");
    expect(formatRelativeChange(40, 41)).toBe("+2.5%");
    const better = perplexityVerdict(45.2, 31);
    expect(better).toMatchObject({ before: "45.2", after: "31", change: "−31%", direction: "better" });
    expect(perplexityVerdict(40700.75, 2356.31)).toMatchObject({ before: "40,701", after: "2,356", change: "−94%" });
    expect(perplexityVerdict(3.4712, 2.9)).toMatchObject({ before: "3.47", after: "2.90" });
    const worse = perplexityVerdict(20, 24);
    expect(worse?.direction).toBe("worse");
    expect(worse?.sentence).toMatch(/did not help/);
    expect(perplexityVerdict(20, 20.1)?.direction).toBe("same");
    expect(perplexityVerdict(null, 3)).toBeNull();
  });

  it("compares the estimate with the actual time", () => {
    expect(estimateVsActual(130, 160)).toBe("Took 2 min 40 s — 23% longer than the 2 min 10 s estimate.");
    expect(estimateVsActual(100, 80)).toBe("Took 1 min 20 s — 20% shorter than the 1 min 40 s estimate.");
    expect(estimateVsActual(100, 102)).toMatch(/in line with/);
    expect(estimateVsActual(100, null)).toBeNull();
  });

  it("puts the file and line first in upload problems", () => {
    expect(formatUploadProblem({ code: "BAD_REQUEST", message: "invalid JSON", file: "qa.jsonl", line: 3 })).toBe("qa.jsonl, line 3: invalid JSON");
    expect(formatUploadProblem({ code: "X", message: "empty", file: "a.txt" })).toBe("a.txt: empty");
    expect(formatUploadProblem({ code: "X", message: "no files" })).toBe("no files");
    expect(formatUploadProblem({ code: "X", message: '"qa.jsonl" line 3: invalid JSON', file: "qa.jsonl", line: 3 })).toBe('"qa.jsonl" line 3: invalid JSON');
  });
});

describe("upload response", () => {
  it("accepts a dataset", () => {
    const body = { dataset: { id: "d1", name: "n", format: "text", recordCount: 2, tokenCount: 10 }, files: [{ name: "a.txt", records: 2, warnings: [] }] };
    const out = parseUploadResponse(200, JSON.stringify(body));
    expect(out.ok && out.result.dataset.id).toBe("d1");
  });
  it("reads the error with its file and line, and an errors list", () => {
    const one = parseUploadResponse(400, JSON.stringify({ error: { code: "BAD_REQUEST", message: "invalid JSON", file: "qa.jsonl", line: 7 } }));
    expect(one).toEqual({ ok: false, problems: [{ code: "BAD_REQUEST", message: "invalid JSON", file: "qa.jsonl", line: 7 }] });
    const many = parseUploadResponse(
      400,
      JSON.stringify({ error: { code: "BAD_REQUEST", message: "m1 (1 more file failed too)", file: "a", line: 1, problems: [{ file: "a", line: 1, message: "m1" }, { file: "b", message: "m2" }] } }),
    );
    expect(!many.ok && many.problems).toEqual([
      { code: "BAD_REQUEST", message: "m1", file: "a", line: 1 },
      { code: "BAD_REQUEST", message: "m2", file: "b" },
    ]);
  });
  it("explains failures without a JSON body", () => {
    const out = parseUploadResponse(403, "<html>");
    expect(!out.ok && out.problems[0]?.message).toMatch(/editor role/);
    const net = parseUploadResponse(0, "");
    expect(!net.ok && net.problems[0]?.message).toMatch(/did not reach/);
  });
});

describe("loss chart geometry", () => {
  const box = { width: 400, height: 200, pad: { l: 40, r: 10, t: 10, b: 20 } };
  it("draws train and eval series on a shared scale, growing toward totalSteps", () => {
    const g = lossChart(
      [
        { step: 1, loss: 4 },
        { step: 2, loss: 3, evalLoss: 3.5 },
        { step: 2, loss: 3 }, // repeated by the stream: kept once, eval kept
        { step: 3, loss: 2.5 },
      ],
      10,
      box,
    );
    expect(g.trainCount).toBe(3);
    expect(g.evalCount).toBe(1);
    expect(g.trainPath.startsWith("M")).toBe(true);
    expect(g.trainPath.split("L")).toHaveLength(3);
    // Step 3 of 10 sits about 30% across the plot.
    expect(g.lastTrain!.x).toBeCloseTo(40 + 0.3 * 350, 0);
    // Lower loss is drawn higher up.
    expect(g.evalDots[0]!.y).toBeLessThan(200);
    expect(g.yTicks.length).toBeGreaterThanOrEqual(2);
    expect(g.xTicks[0]!.label).toBe("0");
  });
  it("copes with no points and with a flat line", () => {
    expect(lossChart([], 0, box)).toMatchObject({ trainPath: "", evalPath: "", trainCount: 0, lastTrain: null });
    const flat = lossChart([{ step: 1, loss: 2 }, { step: 2, loss: 2 }], 2, box);
    expect(flat.trainPath).not.toMatch(/NaN/);
  });
});

describe("live run state", () => {
  const snap: RunSnapshot = {
    status: "queued",
    error: null,
    progress: { step: 0, totalSteps: 10, fraction: 0, etaSeconds: null },
    points: [],
    modelId: null,
    metrics: null,
  };
  it("folds progress, status and done events", () => {
    let live = liveFromSnapshot(snap);
    live = applyWatchEvent(live, { type: "progress", step: 1, totalSteps: 10, loss: 3, lr: 1e-3, tokensPerSecond: 100, etaSeconds: 90 });
    expect(live.status).toBe("running");
    expect(live.progress).toEqual({ step: 1, totalSteps: 10, fraction: 0.1, etaSeconds: 90 });
    live = applyWatchEvent(live, { type: "progress", step: 2, totalSteps: 10, loss: 2.5, evalLoss: 2.8, lr: 1e-3, tokensPerSecond: 100, etaSeconds: 80 });
    expect(live.points).toHaveLength(2);
    live = applyWatchEvent(live, { type: "done", modelId: "m1", pplBefore: 30, pplAfter: 20 });
    expect(live).toMatchObject({ status: "succeeded", modelId: "m1", pplBefore: 30, pplAfter: 20 });
    expect(live.progress.fraction).toBe(1);
  });
  it("keeps streamed points when an older snapshot arrives", () => {
    let live = liveFromSnapshot({ ...snap, status: "running" });
    live = applyWatchEvent(live, { type: "progress", step: 3, totalSteps: 10, loss: 2, lr: 1e-3, tokensPerSecond: 100, etaSeconds: 50 });
    const merged = mergeSnapshot(live, { ...snap, status: "running", points: [{ step: 1, loss: 3 }], progress: { step: 1, totalSteps: 10, fraction: 0.1, etaSeconds: 70 } });
    expect(merged.points.map((p) => p.step)).toEqual([1, 3]);
    expect(merged.progress.step).toBe(3);
  });
  it("reports a failure from a status event", () => {
    const live = applyWatchEvent(liveFromSnapshot(snap), { type: "status", status: "failed", error: "out of memory" });
    expect(live).toMatchObject({ status: "failed", error: "out of memory" });
  });
});

describe("training wizard", () => {
  const text = { id: "d1", name: "Handbook", kind: "text" as const, recordCount: 12 };
  it("scrubs PII by default for raw text only", () => {
    expect(defaultCleaning("text").scrubPii).toBe(true);
    expect(defaultCleaning("chat").scrubPii).toBe(false);
    const s = selectDataset(initialWizard(), { ...text, kind: "chat" });
    expect(s.cleaning.scrubPii).toBe(false);
    expect(s.name).toMatch(/^Handbook — /);
  });
  it("walks the steps only when each decision is made", () => {
    let s = initialWizard();
    expect(blockedReason(s, 0)).toMatch(/Upload/);
    s = selectDataset(s, text);
    expect(blockedReason(s, 0)).toBeNull();
    expect(blockedReason(s, 1)).toMatch(/base model/);
    s = { ...s, baseModelId: "base1" };
    expect(blockedReason(s, 1)).toBeNull();
    expect(blockedReason({ ...s, cleaning: { ...s.cleaning, minChars: 50, maxChars: 10 } }, 1)).toMatch(/minimum/);
    expect(blockedReason(s, 2)).toMatch(/Choose/);
    expect(planInput(s)).toBeNull();
    s = chooseGoal(s, "domain");
    expect(planInput(s)).toMatchObject({ datasetId: "d1", baseModelId: "base1", goal: "domain", method: "lora", loraRank: 8 });
    expect(planInput(s, { method: "full" })).not.toHaveProperty("loraRank");
    expect(planInput(s)).not.toHaveProperty("advanced");
    expect(planInput({ ...s, maxSteps: 6 })?.advanced).toEqual({ maxSteps: 6 });
    // precision: "auto" is the server's default and is not sent; an explicit choice is
    expect(planInput({ ...s, precision: "bf16" })?.advanced).toEqual({ precision: "bf16" });
    expect(planInput({ ...s, maxSteps: 6, precision: "f32" })?.advanced).toEqual({ maxSteps: 6, precision: "f32" });
  });
  it("crafting from scratch drops the base model and uses the scratch method", () => {
    const s = chooseGoal({ ...selectDataset(initialWizard(), text), baseModelId: "base1" }, "scratch");
    expect(planInput(s)).toMatchObject({ baseModelId: null, method: "scratch", scratchSize: "tiny" });
    expect(chooseGoal(s, "answers").method).toBe("lora");
    expect(chooseGoal({ ...s, method: "full" }, "answers").method).toBe("full");
  });
  it("clamps cleaning numbers", () => {
    expect(clampCleaning({ ...defaultCleaning("text"), minChars: -3, heldOutFraction: 0.9 })).toMatchObject({ minChars: 0, heldOutFraction: 0.5 });
  });
});

describe("version lineage", () => {
  it("summarises training settings in one line", () => {
    expect(describeSettings({ method: "lora", loraRank: 8, epochs: 2, learningRate: 0.0002 })).toBe("LoRA rank 8 · 2 epochs · lr 0.0002");
    expect(describeSettings({ method: "scratch", epochs: 1, maxSteps: 40 })).toBe("from scratch · 1 epoch · 40 steps");
    expect(describeSettings(null)).toBe("—");
    expect(describeSettings({})).toBe("—");
  });
});
