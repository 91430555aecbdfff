import type { Token } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { StopTextMatcher, StopTokenMatcher } from "@/server/llm/token-text";

function feed(m: StopTextMatcher, pieces: string[]) {
  let shown = "";
  for (const p of pieces) {
    const r = m.push(p);
    shown += r.text;
    if (r.stopped) return { shown, stopped: true };
  }
  return { shown: shown + m.flush(), stopped: false };
}

describe("StopTextMatcher", () => {
  it("stops at a trigger split over pieces and never shows any of it", () => {
    const m = new StopTextMatcher(["<|im_end|>"]);
    expect(m.push("Hello <|").text).toBe("Hello ");
    expect(m.push("im_").text).toBe("");
    expect(m.push("end|> more")).toEqual({ text: "", stopped: true });
  });

  it("releases held text once it stops matching, and at the end of the stream", () => {
    expect(feed(new StopTextMatcher(["<|im_end|>"]), ["a <", "|x", " b <|im"])).toEqual({ shown: "a <|x b <|im", stopped: false });
  });

  it("stops at the earliest of several triggers, including one inside a single piece", () => {
    expect(feed(new StopTextMatcher(["STOP", "\nUser:"]), ["one two\nUser: three STOP"])).toEqual({ shown: "one two", stopped: true });
    expect(feed(new StopTextMatcher(["ab"]), ["xa", "a", "b"])).toEqual({ shown: "xa", stopped: true });
  });

  it("passes text straight through without triggers", () => {
    expect(feed(new StopTextMatcher([""]), ["<|im", "_end|>"])).toEqual({ shown: "<|im_end|>", stopped: false });
  });
});

describe("StopTokenMatcher", () => {
  it("matches single- and multi-token triggers on the generated tail", () => {
    const m = new StopTokenMatcher([[7 as Token], [3, 4, 5] as Token[]]);
    expect([1, 3, 4].map((t) => m.push(t as Token))).toEqual([false, false, false]);
    expect(m.push(5 as Token)).toBe(true);
    expect(new StopTokenMatcher([[7 as Token]]).push(7 as Token)).toBe(true);
    expect(new StopTokenMatcher([]).push(7 as Token)).toBe(false);
  });
});
