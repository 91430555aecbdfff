import { describe, expect, it } from "vitest";
import { chatTurns } from "@/server/loop/datasets";

// A reviewed answer becomes a chat record the studio accepts: alternating turns, starting with the user.
describe("chatTurns", () => {
  it("appends the approved answer after the history window", () => {
    expect(chatTurns([{ role: "user", content: "Q1" }, { role: "assistant", content: "A1" }, { role: "user", content: "Q2" }], "fixed")).toEqual([
      { role: "user", content: "Q1" },
      { role: "assistant", content: "A1" },
      { role: "user", content: "Q2" },
      { role: "assistant", content: "fixed" },
    ]);
  });

  it("drops a leading assistant turn and joins consecutive turns of one role", () => {
    expect(chatTurns([{ role: "assistant", content: "greeting" }, { role: "user", content: "a" }, { role: "user", content: "b" }], "answer")).toEqual([
      { role: "user", content: "a\n\nb" },
      { role: "assistant", content: "answer" },
    ]);
  });
});
