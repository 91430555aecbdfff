import { describe, expect, it } from "vitest";
import { citationHit, citedMarkers, factsHitRate, isRefusal, lcsLength, parseFact, refusalCorrect, rougeL, sourceRetrieved, tokenF1 } from "@/server/evals/metrics";
import { fingerprintsOf, normalizeText, textHash, wordTokens } from "@/server/evals/normalize";
import type { StoredCitation } from "@/server/evals/schema";

// Expected values are hand-computed in the comments (precision P, recall R, F1 = 2PR/(P+R)).

describe("normalisation", () => {
  it("lower-cases, drops punctuation and articles, collapses spaces", () => {
    expect(normalizeText("  The Harbour-Gate,  opens!! ")).toBe("the harbour gate opens");
    expect(wordTokens("The harbour gate, a boat and an oar.")).toEqual(["harbour", "gate", "boat", "and", "oar"]);
    expect(textHash("What is a berth?")).toBe(textHash("what is a   berth"));
  });

  it("fingerprints the whole text and each sentence of 8+ words", () => {
    const long = "The harbour gate opens two hours before high tide every day.";
    const text = `${long} Short one. Boats longer than twelve metres must book a slot by radio.`;
    const fps = fingerprintsOf(text);
    expect(fps).toContain(textHash(text));
    expect(fps).toContain(textHash(long));
    expect(fps).not.toContain(textHash("Short one."));
    expect(fps).toHaveLength(3);
    expect(fingerprintsOf("  ...  ")).toEqual([]);
  });
});

describe("token-F1", () => {
  it("matches hand-computed values", () => {
    // answer tokens: harbour gate opens two hours before high tide (8); reference: gate opens two hours before high tide (7)
    // common 7: P = 7/8, R = 7/7 → F1 = 14/15
    expect(tokenF1("The harbour gate opens two hours before high tide", "The gate opens two hours before high tide")).toBeCloseTo(14 / 15, 12);
    // multiset: {cat:2, dog:1} vs {cat:1, dog:2} share 2 of 3 each way → P = R = 2/3
    expect(tokenF1("cat cat dog", "cat dog dog")).toBeCloseTo(2 / 3, 12);
    expect(tokenF1("Paris", "paris.")).toBe(1);
    expect(tokenF1("", "something")).toBe(0);
    expect(tokenF1("", "")).toBe(1);
    expect(tokenF1("red", "blue")).toBe(0);
  });
});

describe("ROUGE-L", () => {
  it("LCS length on the textbook example (ABCBDAB vs BDCABA = 4)", () => {
    expect(lcsLength([..."ABCBDAB"], [..."BDCABA"])).toBe(4);
    expect(lcsLength([], ["x"])).toBe(0);
  });

  it("matches hand-computed F-measures", () => {
    // [police killed gunman] vs [police kill gunman]: LCS 2 → P = R = 2/3
    expect(rougeL("police killed the gunman", "police kill the gunman")).toBeCloseTo(2 / 3, 12);
    // [w x y z] vs [w y z]: LCS 3 → P = 3/4, R = 1 → F = 6/7
    expect(rougeL("w x y z", "w y z")).toBeCloseTo(6 / 7, 12);
    // order matters for ROUGE-L but not for token-F1
    expect(rougeL("z y x w", "w x y z")).toBeCloseTo(1 / 4, 12);
    expect(tokenF1("z y x w", "w x y z")).toBe(1);
  });
});

describe("required facts", () => {
  it("counts phrases as whole words and regexes as written", () => {
    const answer = "The gate opens at 14:30 and you call on Channel 14.";
    expect(factsHitRate(answer, ["channel 14", "/\\b14:30\\b/", "channel 16"])).toBeCloseTo(2 / 3, 12);
    expect(factsHitRate("A hull of 140 metres", ["14"])).toBe(0);
    expect(factsHitRate("It opens before high-tide.", ["High Tide"])).toBe(1);
    expect(factsHitRate("CASE", ["/case/i"])).toBe(1);
    expect(factsHitRate("CASE", ["/case/"])).toBe(0);
    expect(factsHitRate("anything", [])).toBeNull();
  });

  it("refuses facts it cannot use, with the reason", () => {
    expect(() => parseFact("/(/")).toThrow(/invalid/);
    expect(() => parseFact("/(a+)+$/")).toThrow(/nests quantifiers/);
    expect(() => parseFact("/x/g")).toThrow(/flags/);
    expect(() => parseFact("  ")).toThrow(/empty/);
    expect(() => parseFact("!!!")).toThrow(/no letters or digits/);
    expect(parseFact("/a|b/i")).toMatchObject({ kind: "regex" });
  });
});

describe("citations", () => {
  const cite = (n: number, documentId: string, documentTitle: string): StoredCitation => ({ n, documentId, documentTitle, chunkId: n, heading: null, excerpt: "" });
  const citations = [cite(1, "doc-a", "Harbour handbook"), cite(2, "doc-b", "Fuel guide")];
  const noCollections = () => null;

  it("reads the markers an answer uses", () => {
    expect(citedMarkers("See [1] and [2, 3]; also [10][4]. Not [x] or [].")).toEqual([1, 2, 3, 4, 10]);
  });

  it("hits only when a cited passage is from the expected source", () => {
    expect(citationHit("Diesel only [2].", citations, { kind: "document", id: "doc-b", title: "Fuel guide" }, noCollections)).toBe(1);
    // doc-a was retrieved but not cited
    expect(citationHit("Diesel only [2].", citations, { kind: "document", id: "doc-a", title: "Harbour handbook" }, noCollections)).toBe(0);
    expect(sourceRetrieved(citations, { kind: "document", id: "doc-a", title: "Harbour handbook" }, noCollections)).toBe(1);
    // by title (an imported file names documents by title), case-insensitively
    expect(citationHit("See [1]", citations, { kind: "document", id: null, title: "harbour HANDBOOK" }, noCollections)).toBe(1);
    expect(citationHit("No markers", citations, { kind: "document", id: "doc-a", title: "x" }, noCollections)).toBe(0);
    expect(citationHit("See [1]", citations, null, noCollections)).toBeNull();
  });

  it("matches a whole collection through the documents' collection", () => {
    const lookup = (id: string) => (id === "doc-b" ? { id: "col-1", name: "Marina" } : { id: "col-2", name: "Other" });
    expect(citationHit("[2]", citations, { kind: "collection", id: "col-1", title: "Marina" }, lookup)).toBe(1);
    expect(citationHit("[1]", citations, { kind: "collection", id: "col-1", title: "Marina" }, lookup)).toBe(0);
    expect(citationHit("[2]", citations, { kind: "collection", id: null, title: "marina" }, lookup)).toBe(1);
  });
});

describe("refusals", () => {
  const reply = "I only answer questions about the harbour.";

  it("recognises the out-of-scope reply and common ways of declining", () => {
    expect(isRefusal("I only answer questions about the harbour.", reply)).toBe(true);
    expect(isRefusal("Sorry! I only answer questions about the harbour", reply)).toBe(true);
    expect(isRefusal("I’m sorry, but I can’t help with that.", null)).toBe(true);
    expect(isRefusal("That is outside my domain.", null)).toBe(true);
    expect(isRefusal("I don't know.", null)).toBe(true);
    expect(isRefusal("The gate opens two hours before high tide.", reply)).toBe(false);
  });

  it("is correct when it refuses exactly the out-of-scope questions", () => {
    expect(refusalCorrect("I only answer questions about the harbour.", true, reply)).toBe(1);
    expect(refusalCorrect("Paris is the capital of France.", true, reply)).toBe(0);
    expect(refusalCorrect("I only answer questions about the harbour.", false, reply)).toBe(0);
    expect(refusalCorrect("Diesel, from eight to six.", false, reply)).toBe(1);
  });
});
