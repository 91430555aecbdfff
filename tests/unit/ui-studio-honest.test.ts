import { describe, expect, it } from "vitest";
import { accuracySentence, bitsPerByteChange, estimateError, peakVsEstimate, trainingTiming } from "@/app/_lib/studio-format";
import { defaultHyperparameters, HYPERPARAMETER_BOUNDS, hyperparameterProblem, initialWizard, planInput } from "@/app/_lib/studio-wizard";
import { HYPERPARAMETER_BOUNDS as SERVER_BOUNDS } from "@/server/studio/types";
import { bitsPerByte, heldOutText } from "@/server/studio/bits-per-byte";

const MiB = 1024 * 1024;

describe("honest numbers, as the studio words them", () => {
  it("peak memory: measured beside the estimate, never the estimate in its place", () => {
    expect(peakVsEstimate(166 * MiB, 192 * MiB)).toBe("192 MiB measured — 16% above the 166 MiB estimate.");
    expect(peakVsEstimate(200 * MiB, 150 * MiB)).toBe("150 MiB measured — 25% below the 200 MiB estimate.");
    expect(peakVsEstimate(166 * MiB, 168 * MiB)).toBe("168 MiB measured — in line with the 166 MiB estimate.");
    expect(peakVsEstimate(166 * MiB, null)).toBe("Not measured on this system (estimated 166 MiB).");
    expect(peakVsEstimate(3 * 1024 * MiB, 4.5 * 1024 * MiB)).toBe("4.5 GiB measured — 50% above the 3 GiB estimate.");
  });

  it("time: the trainer's running time against the estimate, the whole wait beside it", () => {
    expect(trainingTiming(130, 160, 185)).toBe("Training took 2 min 40 s — 23% longer than the 2 min 10 s estimate; 3 min 5 s in all with data preparation and evaluation.");
    expect(trainingTiming(100, 101, 101.5)).toBe("Training took 1 min 41 s — in line with the 1 min 40 s estimate.");
    expect(trainingTiming(100, null, 80)).toBe("Took 1 min 20 s — 20% shorter than the 1 min 40 s estimate.");
  });

  it("bits per byte and estimate errors", () => {
    expect(bitsPerByteChange(1.84, 1.21)).toBe("1.84 → 1.21 bits per byte (−34%)");
    expect(bitsPerByteChange(null, 1.21)).toBe("1.21 bits per byte");
    expect(bitsPerByteChange(1, null)).toBeNull();
    expect(estimateError(100, 74)).toBe("−26%");
    expect(estimateError(null, 74)).toBe("—");
  });

  it("the planner's record in one sentence", () => {
    expect(accuracySentence({ method: null, runs: 0, timeFactor: 1, memoryFactor: 1 })).toBeNull();
    expect(accuracySentence({ method: "lora", runs: 4, timeFactor: 0.74, memoryFactor: 1.2 })).toBe(
      "The last 4 LoRA runs on this machine took 0.74× the planner’s uncorrected time and peaked at 1.20× its memory estimate (median); this plan is corrected by those ratios.",
    );
  });

  it("bits per byte by hand: a uniform guess over 256 byte tokens is 8 bits a byte", () => {
    // one row: position 0 is never a target; four targets spelling "abcd" (one byte each)
    const tok = { tokenizer: { detokenize: (t: readonly number[]) => t.map((x) => String.fromCharCode(x)).join("") } } as never;
    const rows = { rowLen: 5, nRows: 1, tokens: new Int32Array([1, 97, 98, 99, 100]), mask: new Uint8Array([0, 1, 1, 1, 1]) };
    const text = heldOutText(rows, tok);
    expect(text).toEqual({ targets: 4, bytes: 4 });
    expect(bitsPerByte(256, text)).toBeCloseTo(8, 10);
    // multi-byte characters: 2 targets spelling "é" + "€" = 2 + 3 bytes
    const utf = heldOutText({ rowLen: 3, nRows: 1, tokens: new Int32Array([1, 0xe9, 0x20ac]), mask: new Uint8Array([0, 1, 1]) }, tok);
    expect(utf).toEqual({ targets: 2, bytes: 5 });
    expect(bitsPerByte(null, text)).toBeNull();
  });
});

describe("studio hyperparameters", () => {
  it("the wizard's bounds are the server's", () => {
    expect(HYPERPARAMETER_BOUNDS).toEqual(SERVER_BOUNDS);
  });

  it("refuses values out of bounds in plain words; empty means the default", () => {
    const h = { learningRate: null, batch: null, seqLen: null, warmupSteps: null };
    expect(hyperparameterProblem(h, 512)).toBeNull();
    expect(hyperparameterProblem({ ...h, learningRate: 0.5 }, 512)).toMatch(/learning rate must be between 0.000001 and 0.1|learning rate must be between 1e-6 and 0.1/);
    expect(hyperparameterProblem({ ...h, batch: 0 }, 512)).toMatch(/batch size must be a whole number between 1 and 256/);
    expect(hyperparameterProblem({ ...h, batch: 2.5 }, 512)).toMatch(/whole number/);
    expect(hyperparameterProblem({ ...h, seqLen: 1024 }, 512)).toMatch(/between 16 and 512 \(the model’s context\)/);
    expect(hyperparameterProblem({ ...h, warmupSteps: -1 }, 512)).toMatch(/Warmup/);
    expect(defaultHyperparameters("lora", 512)).toEqual({ learningRate: 0.002, batch: 8, seqLen: 256, warmupSteps: 5 });
    expect(defaultHyperparameters("full", 128).seqLen).toBe(128);
  });

  it("set knobs go to the plan input; empty ones are left to the server", () => {
    const s = { ...initialWizard(), dataset: { id: "d", name: "D", kind: "text" as const, recordCount: 3 }, baseModelId: "m", goal: "domain" as const };
    expect(planInput(s)!.advanced).toBeUndefined();
    const set = { ...s, hyper: { learningRate: 0.001, batch: 4, seqLen: null, warmupSteps: 0 } };
    expect(planInput(set)!.advanced).toEqual({ learningRate: 0.001, batch: 4, warmupSteps: 0 });
  });
});
