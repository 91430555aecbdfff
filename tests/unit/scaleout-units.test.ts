// Small pieces of the scale-out work checked against hand-computed values: the circuit breaker's
// states, the router's choice, llama's Q/K row un-permutation and the half/bfloat16 encoders.
import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "@/server/nodes/breaker";
import { unpermuteRows } from "@/server/forge/export/hf-layout";
import { floatToBf16, floatToHalf } from "@/server/forge/export/safetensors";

describe("circuit breaker", () => {
  it("opens after the threshold, waits the cooldown, half-opens on a good probe, admits one trial, closes on success", () => {
    let t = 1000;
    const b = new CircuitBreaker(() => 2, () => 500, () => t);
    expect(b.allows()).toBe(true);
    b.failure("x");
    expect(b.view().state).toBe("closed");
    b.failure("y");
    expect(b.view()).toMatchObject({ state: "open", openUntil: 1500, lastError: "y" });
    expect(b.allows()).toBe(false);
    b.probeSucceeded(); // too early: stays open
    expect(b.view().state).toBe("open");
    t = 1500;
    expect(b.dueForProbe()).toBe(true);
    b.probeSucceeded();
    expect(b.view().state).toBe("half-open");
    expect(b.allows()).toBe(true);
    b.begin();
    expect(b.allows()).toBe(false); // one trial at a time
    b.failure("trial failed");
    expect(b.view()).toMatchObject({ state: "open", openUntil: 1500 + 1000 }); // cooldown doubled
    t = 2500;
    b.probeSucceeded();
    b.begin();
    b.success();
    expect(b.view()).toMatchObject({ state: "closed", failures: 0, openUntil: null });
  });
});

describe("llama Q/K un-permutation", () => {
  it("moves GGUF row 2i+t of each head to HF row t·d/2+i (2 heads of 4 rows, 1 column)", () => {
    // GGUF rows per head h: [h.pair0.first, h.pair0.second, h.pair1.first, h.pair1.second] = values below
    const gguf = Float32Array.from([10, 11, 12, 13, 20, 21, 22, 23]);
    // HF rotate_half layout per head: all "first" halves, then all "second" halves
    expect([...unpermuteRows(gguf, 8, 1, 2)]).toEqual([10, 12, 11, 13, 20, 22, 21, 23]);
    // rows of several columns move whole
    const wide = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...unpermuteRows(wide, 4, 2, 1)]).toEqual([0, 1, 4, 5, 2, 3, 6, 7]);
    expect(unpermuteRows(wide, 4, 2, 0)).toBe(wide);
  });
});

describe("float encoders", () => {
  it("half: exact values, rounding to nearest even, overflow, subnormals", () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(70000)).toBe(0x7c00);
    expect(floatToHalf(2 ** -24)).toBe(0x0001);
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and the next half: ties to even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalf(0.1)).toBe(0x2e66);
  });

  it("bfloat16: the upper 16 bits, rounded to nearest even", () => {
    expect(floatToBf16(1)).toBe(0x3f80);
    expect(floatToBf16(-3.5)).toBe(0xc060);
    expect(floatToBf16(0.1)).toBe(0x3dcd);
  });
});
