import { describe, expect, it } from "vitest";
import { changedFields, forTryIt, type Settings } from "@/app/(console)/assistants/_lib/draft";

const saved: Settings = {
  name: "Guide",
  avatar: null,
  color: "#6366f1",
  systemPrompt: "Be brief.",
  greeting: null,
  starterQuestions: ["What is it?"],
  sampling: { temperature: 0.3, topP: 0.9, topK: 40, repeatPenalty: 1.1, maxTokens: 512 },
  outOfScopeReply: null,
  historyWindow: 20,
  modelId: "m1",
  collectionIds: ["b", "a"],
};

describe("assistant editor draft", () => {
  it("reports only what really changed", () => {
    expect(changedFields(saved, { ...saved })).toEqual({});
    // Empty optional text is "none"; blank starter rows and collection order are not changes.
    expect(changedFields(saved, { ...saved, greeting: "  ", avatar: "", starterQuestions: ["What is it?", " "], collectionIds: ["a", "b"] })).toEqual({});
    expect(changedFields(saved, { ...saved, systemPrompt: "Be kind.", sampling: { ...saved.sampling, temperature: 1 } })).toEqual({
      systemPrompt: "Be kind.",
      sampling: { ...saved.sampling, temperature: 1 },
    });
    expect(changedFields(saved, { ...saved, greeting: " Hi! " })).toEqual({ greeting: "Hi!" });
  });

  it("sends try-it only the settings that shape an answer", () => {
    expect(forTryIt({ ...saved, outOfScopeReply: " " })).toEqual({
      systemPrompt: "Be brief.",
      outOfScopeReply: null,
      historyWindow: 20,
      sampling: saved.sampling,
      modelId: "m1",
      collectionIds: ["a", "b"],
    });
  });
});
