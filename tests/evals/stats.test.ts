import { describe, expect, it } from "vitest";
import { bootstrapMean, comparePaired, formatP, mulberry32, signTest } from "@/server/evals/stats";

describe("mulberry32", () => {
  it("produces the reference stream (values from an independent Python port)", () => {
    const r0 = mulberry32(0);
    expect(r0()).toBe(0.26642920868471265);
    expect(r0()).toBe(0.0003297457005828619);
    const r = mulberry32(1234);
    expect([r(), r(), r()]).toEqual([0.07329497812315822, 0.7034119898453355, 0.9028560190927237]);
  });
});

describe("sign test", () => {
  it("gives the exact two-sided binomial p (fractions computed by hand / with Python's fractions)", () => {
    expect(signTest(9, 1)).toBeCloseTo(11 / 512, 14); // 2·(C(10,0)+C(10,1))/2^10
    expect(signTest(1, 9)).toBeCloseTo(11 / 512, 14);
    expect(signTest(34, 16)).toBeCloseTo(8639411571051 / 562949953421312, 12); // ≈ 0.0153: "better on 34 of 50, p = 0.015"
    expect(signTest(20, 5)).toBeCloseTo(34203 / 8388608, 12);
    expect(signTest(5, 0)).toBeCloseTo(1 / 16, 14); // five wins in a row cannot reach 0.05
    expect(signTest(3, 3)).toBe(1);
    expect(signTest(0, 0)).toBe(1);
  });

  it("formats p the way the verdict prints it", () => {
    expect(formatP(0.0153)).toBe("p = 0.015");
    expect(formatP(0.32)).toBe("p = 0.32");
    expect(formatP(0.0004)).toBe("p < 0.001");
    expect(formatP(0.046)).toBe("p = 0.046");
    expect(formatP(1)).toBe("p = 1");
  });
});

describe("bootstrap interval", () => {
  it("is a point for constant data and for one value", () => {
    const flat = bootstrapMean(Array(20).fill(0.7))!;
    expect(flat.mean).toBeCloseTo(0.7, 12);
    expect([flat.low, flat.high, flat.n]).toEqual([flat.mean, flat.mean, 20]);
    expect(bootstrapMean([3])).toEqual({ mean: 3, low: 3, high: 3, n: 1 });
    expect(bootstrapMean([])).toBeNull();
  });

  it("matches the binomial quantiles for 50 zeros and 50 ones", () => {
    // the resampled mean is Binomial(100, ½)/100, whose 2.5% and 97.5% quantiles are 0.40 and 0.60
    // (P(X ≤ 39) = 0.0176, P(X ≤ 40) = 0.0284); with 20,000 resamples the percentiles land within one step
    const data = [...Array(50).fill(0), ...Array(50).fill(1)];
    const ci = bootstrapMean(data, { seed: 1234, resamples: 20_000 })!;
    expect(ci.mean).toBe(0.5);
    expect(ci.low).toBeGreaterThanOrEqual(0.39);
    expect(ci.low).toBeLessThanOrEqual(0.41);
    expect(ci.high).toBeGreaterThanOrEqual(0.59);
    expect(ci.high).toBeLessThanOrEqual(0.61);
  });

  it("is reproducible with its seed", () => {
    const data = [0.1, 0.5, 0.9, 0.3, 0.7, 0.2, 0.8];
    expect(bootstrapMean(data, { seed: 7 })).toEqual(bootstrapMean(data, { seed: 7 }));
  });
});

describe("paired comparison", () => {
  it("counts wins, ties and losses on rows both sides scored", () => {
    // diffs (a − b): 1, 0, 0.5, −1, 0; the last row has no value on one side
    const c = comparePaired([1, 1, 1, 0, 0.5, null], [0, 1, 0.5, 1, 0.5, 1]);
    expect(c).toMatchObject({ n: 5, wins: 2, ties: 2, losses: 1 });
    expect(c.pValue).toBe(1); // 2·P(Bin(3,½) ≤ 1) = 2·4/8 = 1
    expect(c.difference!.mean).toBeCloseTo(0.1, 12);
  });

  it("flips wins and losses when lower is better", () => {
    expect(comparePaired([100, 200], [150, 150], { higherIsBetter: false })).toMatchObject({ wins: 1, losses: 1, ties: 0 });
    expect(comparePaired([100, 120], [150, 150], { higherIsBetter: false })).toMatchObject({ wins: 2, losses: 0 });
  });

  it("a clearly better side has an interval above zero and a small p", () => {
    const a = Array.from({ length: 40 }, (_, i) => (i % 10 === 0 ? 0 : 1));
    const b = Array.from({ length: 40 }, (_, i) => (i % 10 < 3 ? 1 : 0));
    const c = comparePaired(a, b);
    expect(c.wins).toBeGreaterThan(c.losses);
    expect(c.difference!.low).toBeGreaterThan(0);
    expect(c.pValue).toBeLessThan(0.001);
  });
});
