import { describe, expect, it } from "vitest";
import { chunkText, estimateTokens, MAX_WORD_CHARS, previewChunks, type Chunk } from "@/server/knowledge/chunk";
import { parseDocument } from "@/server/documents";
import { bytes } from "./helpers";

/** Deterministic prose: sentences of varied length, paragraphs, headings. */
function makeMarkdown(seed: number, sections: number): string {
  const vocab =
    "river stone harvest lantern copper meadow signal orbit pattern candle glacier harbor violet engine ledger tunnel falcon " +
    "orchard quartz timber compass velvet beacon canyon ember fabric gravel hollow island jasmine kettle lumber marble needle";
  const words = vocab.split(" ");
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const sentence = () => {
    const n = 4 + Math.floor(rnd() * 18);
    const w = Array.from({ length: n }, () => words[Math.floor(rnd() * words.length)]!);
    w[0] = w[0]![0]!.toUpperCase() + w[0]!.slice(1);
    return `${w.join(rnd() < 0.15 ? ", " : " ")}${rnd() < 0.1 ? "?" : "."}`;
  };
  const out: string[] = ["# Handbook", ""];
  for (let k = 0; k < sections; k++) {
    out.push(`## Section ${k + 1}`, "");
    if (k % 3 === 1) out.push(`### Detail ${k + 1}`, "");
    const paragraphs = 1 + Math.floor(rnd() * 6);
    for (let p = 0; p < paragraphs; p++) {
      out.push(Array.from({ length: 1 + Math.floor(rnd() * 8) }, sentence).join(" "), "");
    }
  }
  return out.join("\n");
}

function sectionStarts(outline: { offset: number }[]): number[] {
  return outline.map((h) => h.offset);
}

function checkInvariants(text: string, outline: { offset: number; level: number; text: string }[], chunks: Chunk[], target: number) {
  expect(chunks.length).toBeGreaterThan(0);
  const isSpace = (c: string | undefined) => c === undefined || /\s/.test(c);
  chunks.forEach((c, i) => {
    expect(c.ordinal).toBe(i);
    expect(c.text).toBe(text.slice(c.startOffset, c.endOffset));
    // Word boundaries on both sides, no leading/trailing whitespace.
    expect(isSpace(text[c.startOffset - 1])).toBe(true);
    expect(isSpace(text[c.endOffset])).toBe(true);
    expect(c.text).toBe(c.text.trim());
    expect(c.tokenEstimate).toBe(estimateTokens(c.text));
    // ~target; a small section tail may be folded in (+20%).
    expect(c.tokenEstimate).toBeLessThanOrEqual(Math.ceil(target * 1.2) + 1);
  });
  // Every word of the text is in some chunk.
  const covered = new Uint8Array(text.length);
  for (const c of chunks) covered.fill(1, c.startOffset, c.endOffset);
  const missed = [...text.matchAll(/\S+/g)].filter((m) => covered[m.index] !== 1).map((m) => m[0]);
  expect(missed).toEqual([]);
  // No chunk spans two sections, except that a bare heading line (a heading followed
  // straight by a sub-heading) joins the section after it.
  const starts = sectionStarts(outline);
  for (const c of chunks) {
    const inside = starts.filter((s) => s > c.startOffset && s < c.endOffset);
    for (const s of inside) {
      const before = text.slice(c.startOffset, s).trim();
      expect(outline.some((h) => h.text === before)).toBe(true);
    }
  }
}

describe("chunking", () => {
  it("invariants on a long heading-structured document, several targets", async () => {
    for (const seed of [1, 2, 3]) {
      const doc = await parseDocument({ fileName: "handbook.md", bytes: bytes(makeMarkdown(seed, 25)) });
      for (const target of [64, 150, 300]) {
        const chunks = chunkText(doc, { targetTokens: target });
        checkInvariants(doc.text, doc.outline, chunks, target);
      }
    }
  });

  it("consecutive chunks of one section overlap by about 15%", () => {
    const para = Array.from({ length: 400 }, (_, i) => `Sentence number ${i} talks about item ${i % 17}.`).join(" ");
    const chunks = chunkText({ text: para, outline: [] }, { targetTokens: 200, overlap: 0.15 });
    expect(chunks.length).toBeGreaterThan(5);
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1]!;
      const cur = chunks[i]!;
      expect(cur.startOffset).toBeGreaterThan(prev.startOffset);
      expect(cur.startOffset).toBeLessThan(prev.endOffset); // overlaps
      const shared = estimateTokens(para.slice(cur.startOffset, prev.endOffset));
      expect(shared).toBeGreaterThan(0);
      expect(shared).toBeLessThanOrEqual(30); // 15% of 200
      // The overlap starts at a sentence when one is near.
      expect(para.slice(cur.startOffset).startsWith("Sentence")).toBe(true);
    }
    const none = chunkText({ text: para, outline: [] }, { targetTokens: 200, overlap: 0 });
    for (let i = 1; i < none.length; i++) expect(none[i]!.startOffset).toBeGreaterThanOrEqual(none[i - 1]!.endOffset);
  });

  it("headings: path recorded, chunks restart at each section", async () => {
    const md = "# Guide\n\n## Install\n\nRun the installer and follow the prompts.\n\n### Linux\n\nUse the tarball.\n\n## Usage\n\nOpen the app.";
    const doc = await parseDocument({ fileName: "guide.md", bytes: bytes(md) });
    const chunks = chunkText(doc, { targetTokens: 300 });
    expect(chunks.map((c) => [c.heading, c.text])).toEqual([
      ["Guide > Install", "Guide\n\nInstall\n\nRun the installer and follow the prompts."],
      ["Guide > Install > Linux", "Linux\n\nUse the tarball."],
      ["Guide > Usage", "Usage\n\nOpen the app."],
    ]);
  });

  it("prefers paragraph, then sentence breaks", () => {
    const p1 = "Alpha beta gamma delta. ".repeat(15).trim(); // 105 tokens
    const p2 = "Epsilon zeta eta theta. ".repeat(20).trim();
    const text = `${p1}\n\n${p2}`;
    const chunks = chunkText({ text, outline: [] }, { targetTokens: 120, overlap: 0 });
    expect(chunks[0]!.text).toBe(p1);
    for (const c of chunks) expect(c.text.endsWith(".")).toBe(true);
  });

  it("never splits a word, except runs longer than MAX_WORD_CHARS", () => {
    const long = "x".repeat(MAX_WORD_CHARS * 3 + 10);
    const text = `start ${long} end`;
    const chunks = chunkText({ text, outline: [] }, { targetTokens: 40, overlap: 0 });
    const joined = chunks.map((c) => c.text).join("");
    expect(joined.replace(/\s/g, "")).toBe(text.replace(/\s/g, ""));
    // A short tail may be folded into the last piece.
    for (const c of chunks) expect(c.text.length).toBeLessThanOrEqual(MAX_WORD_CHARS + 20);
    // Surrogate pairs are never cut.
    const emoji = "😀".repeat(400);
    for (const c of chunkText({ text: emoji, outline: [] }, { targetTokens: 64 })) {
      expect(c.text).toBe(c.text.toWellFormed());
    }
  });

  it("small and edge inputs", () => {
    expect(chunkText({ text: "", outline: [] })).toEqual([]);
    expect(chunkText({ text: "   \n\n ", outline: [] })).toEqual([]);
    const one = chunkText({ text: "Just one line.", outline: [] });
    expect(one).toEqual([{ ordinal: 0, text: "Just one line.", tokenEstimate: 4, startOffset: 0, endOffset: 14, heading: null }]);
    // CJK counts a token per character.
    expect(estimateTokens("東京都 is big")).toBe(3 + 1 + 1);
  });

  it("preview parses and chunks without storing", async () => {
    const p = await previewChunks({ fileName: "guide.md", bytes: bytes(makeMarkdown(9, 4)) }, { targetTokens: 100 });
    expect(p.format).toBe("markdown");
    expect(p.title).toBe("Handbook");
    expect(p.chunks.length).toBeGreaterThan(1);
    expect(p.tokenEstimate).toBeGreaterThan(100);
  });
});
