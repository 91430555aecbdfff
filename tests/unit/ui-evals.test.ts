import { describe, expect, it } from "vitest";
import { formatInterval, formatValue, parseFactLines } from "@/app/_lib/eval-format";

describe("evaluation page formatting", () => {
  it("shows a mean with its interval in the metric's unit", () => {
    expect(formatInterval("percent", { mean: 0.8234, low: 0.71, high: 0.9, n: 50 })).toEqual({ mean: "82%", range: "71–90%" });
    expect(formatInterval("ms", { mean: 412.4, low: 380, high: 455.6, n: 50 })).toEqual({ mean: "412 ms", range: "380–456 ms" });
    expect(formatInterval("rate", { mean: 101.26, low: 90, high: 110.04, n: 50 })).toEqual({ mean: "101.3", range: "90.0–110.0" });
    expect(formatValue("number", 36)).toBe("36.0");
  });

  it("reads required facts one per line", () => {
    expect(parseFactLines("3000\n\n  /\\bPORT\\b/i  \n")).toEqual(["3000", "/\\bPORT\\b/i"]);
  });
});
