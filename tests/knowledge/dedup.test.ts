import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDocument, createCollection, search } from "@/server/knowledge";
import { retrieveFromCollections } from "@/server/knowledge/retrieve";
import { dropDuplicatePassages, passageKey } from "@/server/knowledge/search/dedup";
import { bytes, tempDb } from "./helpers";

/*
 * Duplicate passages never take more than one source slot. The fixture is what a FAQ converted
 * from man pages looks like: every page ends with the same one-line VERSION stub, so a question
 * about the version matched six identical passages and filled every source slot with them.
 */

const STUB = "This document is part of the Harbourfaq collection, version 5.021011.";
const PAGES = [
  ["harbourfaq1.md", "General questions", "The harbour opens at dawn. Mooring lines are inspected by the harbour master every morning."],
  ["harbourfaq2.md", "Tides", "Spring tides rise higher than neap tides; check the tide table before entering the channel."],
  ["harbourfaq3.md", "Fuel", "The fuel dock sells diesel only. Pay at the office before you fill the tank."],
  ["harbourfaq4.md", "Moorings", "Visitors moor on pontoon C. Rafting more than three boats deep is not allowed."],
  ["harbourfaq5.md", "Weather", "Gale warnings are posted at the office and broadcast on channel 16 every four hours."],
  ["harbourfaq6.md", "Version history", "Version 5.021011 of the collection added the fuel dock opening hours and a new tide table."],
] as const;

let ctx: ReturnType<typeof tempDb>;
let collectionId = "";

beforeAll(async () => {
  ctx = tempDb();
  collectionId = createCollection(ctx.db, { name: "Harbour FAQ" }).id;
  for (const [fileName, heading, body] of PAGES) {
    const text = `# ${heading}\n\n${body}\n\n## VERSION\n\n${STUB}\n`;
    await addDocument(ctx.db, { collectionId, fileName, bytes: bytes(text) }, { chunking: { targetTokens: 24 } });
  }
});
afterAll(() => ctx.close());

describe("dropDuplicatePassages (hand-made table)", () => {
  const cases: { name: string; texts: string[]; kept: number[] }[] = [
    { name: "identical", texts: ["Version 5.021011.", "Version 5.021011."], kept: [0] },
    { name: "case, punctuation and spacing ignored", texts: ["Version 5.021011 — see NEWS.", "version  5 021011 see news"], kept: [0] },
    {
      name: "one word changed in a long paragraph",
      texts: [
        "The fuel dock sells diesel only and closes at six in the evening on weekdays and at noon on Sundays in summer.",
        "The fuel dock sells diesel only and closes at seven in the evening on weekdays and at noon on Sundays in summer.",
      ],
      kept: [0],
    },
    {
      name: "a sentence of a passage already kept",
      texts: ["Visitors moor on pontoon C. Rafting more than three boats deep is not allowed. Showers are by the office.", "Rafting more than three boats deep is not allowed."],
      kept: [0],
    },
    {
      name: "the longer passage containing a kept sentence stays (it says more)",
      texts: ["Rafting more than three boats deep is not allowed.", "Visitors moor on pontoon C. Rafting more than three boats deep is not allowed. Showers are by the office."],
      kept: [0, 1],
    },
    { name: "same topic, different content", texts: ["Spring tides rise higher than neap tides.", "Neap tides come a week after spring tides."], kept: [0, 1] },
    { name: "C++ and C are different", texts: ["Use C++ templates.", "Use C templates."], kept: [0, 1] },
    { name: "best-ranked copy wins", texts: ["alpha beta gamma", "delta", "Alpha, beta; gamma!"], kept: [0, 1] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const items = c.texts.map((text, i) => ({ i, text }));
      expect(dropDuplicatePassages(items, (x) => x.text).kept.map((x) => x.i)).toEqual(c.kept);
    });
  }

  it("passageKey folds case, punctuation and spacing", () => {
    expect(passageKey("  Version 5.021011 —\tsee  NEWS! ")).toBe("version 5 021011 see news");
  });
});

describe("search and retrieval drop duplicate passages", () => {
  it("the fixture really has six identical stubs among the matches (kept with keepDuplicates)", async () => {
    const all = await search(ctx.db, "harbourfaq version", { collectionIds: [collectionId], limit: 20, keepDuplicates: true });
    expect(all.hits.filter((h) => h.text.includes(STUB)).length).toBe(6);
  });

  it("search keeps one copy of the stub, and the other passages still come", async () => {
    const res = await search(ctx.db, "harbourfaq version", { collectionIds: [collectionId], limit: 8 });
    expect(res.hits.filter((h) => h.text.includes(STUB)).length).toBe(1);
    expect(res.hits.some((h) => h.text.includes("added the fuel dock opening hours"))).toBe(true);
    const keys = res.hits.map((h) => passageKey(h.text));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("a chat turn's sources hold no two copies of one passage", async () => {
    const r = await retrieveFromCollections(ctx.db, [collectionId], "Which version of the harbourfaq collection is this?", 1500);
    expect(r.citations.length).toBeGreaterThan(1);
    const excerpts = r.citations.map((c) => passageKey(c.excerpt));
    expect(new Set(excerpts).size).toBe(excerpts.length);
    expect(r.citations.filter((c) => c.excerpt.includes(STUB)).length).toBe(1);
  });
});
