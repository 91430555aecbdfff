import { describe, expect, it } from "vitest";
import { chatReducer, initialChatState } from "@/app/_lib/chat-state";
import type { Message } from "@/app/_lib/types";
import { sectionOf } from "@/app/(console)/chat/_components/citations";
import { citationHref, linkCitationMarkers, markerNumber } from "@/app/(console)/chat/_components/citation-markers";
import { segmentsOf } from "@/app/(console)/knowledge/_components/document-text";
import { chunkFromHash } from "@/app/(console)/knowledge/_components/document-view";
import { progressShare } from "@/app/(console)/knowledge/_components/index-progress";

describe("citation markers", () => {
  it("links known [n] markers only, outside code and existing links", () => {
    const known = new Set([1, 2]);
    expect(linkCitationMarkers("Open at 8 [1]. Also [2][1] but not [3].", known)).toBe(
      "Open at 8 [\\[1\\]](#cite-1). Also [\\[2\\]](#cite-2)[\\[1\\]](#cite-1) but not [3].",
    );
    expect(linkCitationMarkers("`a[1]` and\n```\nx[2]\n```\n[1]", known)).toBe("`a[1]` and\n```\nx[2]\n```\n[\\[1\\]](#cite-1)");
    expect(linkCitationMarkers("[1](https://x) [1]: ref", known)).toBe("[1](https://x) [1]: ref");
    expect(linkCitationMarkers("[1]", new Set())).toBe("[1]");
    expect(markerNumber("#cite-2")).toBe(2);
    expect(markerNumber("https://x")).toBeNull();
    expect(markerNumber(null)).toBeNull();
    expect(citationHref({ documentId: "d1", chunkId: 7 })).toBe("/knowledge/doc/d1#chunk-7");
  });
});

describe("document reader", () => {
  it("splits text at chunk starts, overlaps going to the chunk that starts them", () => {
    const text = "Title\n\nAAAA BBBB CCCC";
    const chunks = [
      { id: 11, ordinal: 1, heading: null, startOffset: 12, endOffset: 21 },
      { id: 10, ordinal: 0, heading: null, startOffset: 7, endOffset: 16 },
    ];
    const segs = segmentsOf(text, chunks);
    expect(segs.map((s) => [s.chunk?.id ?? null, s.text])).toEqual([
      [null, "Title\n\n"],
      [10, "AAAA "],
      [11, "BBBB CCCC"],
    ]);
    expect(segs.map((s) => s.text).join("")).toBe(text);
    expect(segmentsOf("abc", [])).toEqual([{ chunk: null, text: "abc" }]);
    expect(chunkFromHash("#chunk-42")).toBe(42);
    expect(chunkFromHash("#chunk-x")).toBeNull();
  });

  it("progress runs monotonically through the phases", () => {
    const steps = [
      progressShare({ phase: "parsing", done: 0, total: 1 }),
      progressShare({ phase: "chunking", done: 0, total: 1 }),
      progressShare({ phase: "embedding", done: 0, total: 10 }),
      progressShare({ phase: "embedding", done: 5, total: 10 }),
      progressShare({ phase: "storing", done: 0, total: 10 }),
      progressShare({ phase: "done", done: 10, total: 10 }),
    ];
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
    expect(steps.at(-1)).toBe(1);
  });
});

describe("citations in the chat state", () => {
  it("attach to the streaming answer and survive its tokens", () => {
    const citation = { n: 1, documentId: "d1", documentTitle: "Handbook", chunkId: 3, heading: "Handbook > Tides", excerpt: "The gate opens" };
    const placeholder = { id: "a1", conversationId: "c1", role: "assistant", content: "", status: "streaming", error: null, modelId: null, modelLabel: null, promptTokens: null, completionTokens: null, ttftMs: null, durationMs: null, tokensPerSecond: null, createdAt: 1 } satisfies Message;
    let s = chatReducer(initialChatState(), { type: "event", event: { type: "citations", citations: [citation] } });
    expect(s).toEqual(initialChatState()); // nothing streaming yet: ignored
    s = chatReducer(s, { type: "event", event: { type: "start", message: placeholder, model: { id: "m", label: "M" } } });
    s = chatReducer(s, { type: "event", event: { type: "citations", citations: [citation] } });
    s = chatReducer(s, { type: "event", event: { type: "token", text: "At 8 [1]" } });
    expect(s.messages[0]).toMatchObject({ content: "At 8 [1]", citations: [citation] });
    expect(sectionOf(citation)).toBe("Tides");
    expect(sectionOf({ documentTitle: "Handbook", heading: "Handbook" })).toBeNull();
    expect(sectionOf({ documentTitle: "Handbook", heading: null })).toBeNull();
  });
});
