import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDocument, createCollection, getDocument, listChunks, parseDocument, renameDocument, search } from "@/server/knowledge";
import { bytes, tempDb } from "./helpers";

/*
 * Document titles: the first heading that names the document. Man-page style Markdown (NAME,
 * SYNOPSIS, DESCRIPTION) used to title every page "NAME".
 */

const parseTitle = async (fileName: string, text: string) => (await parseDocument({ fileName, bytes: bytes(text) })).title;

describe("titles from headings (hand-made table)", () => {
  const cases: [string, string, string | null][] = [
    ["man page: the NAME line is the title", "# NAME\n\nperlfaq4 - Data Manipulation\n\n# DESCRIPTION\n\nThis section of the FAQ answers questions about numbers.\n", "perlfaq4 - Data Manipulation"],
    ["NAME followed by a paragraph too long to be a title", `# NAME\n\n${"word ".repeat(60)}\n\n# Working with dates\n\nText.\n`, "Working with dates"],
    ["boilerplate sections skipped to the first meaningful heading", "# SYNOPSIS\n\n    tide --today\n\n# DESCRIPTION\n\nPrints tides.\n\n## Reading the tide table\n\nText.\n", "Reading the tide table"],
    ["only boilerplate: no title (the file name is used)", "# SYNOPSIS\n\n    tide --today\n\n# OPTIONS\n\n--today\n", null],
    ["an ordinary H1 stays", "# Harbour handbook\n\n## Tides\n\nText.\n", "Harbour handbook"],
    ["front matter title wins", "---\ntitle: Harbour rules\n---\n# NAME\n\nharbour - rules\n", "Harbour rules"],
    ["case and trailing colon ignored", "# Table of Contents:\n\n1. Tides\n\n# Tides and currents\n\nText.\n", "Tides and currents"],
    ["HTML: an Untitled <title> falls back to the first real heading", "<html><head><title>Untitled</title></head><body><h1>Index</h1><h2>Ferry timetable</h2><p>Hourly.</p></body></html>", "Ferry timetable"],
  ];
  for (const [name, text, expected] of cases) {
    it(name, async () => {
      expect(await parseTitle(name.startsWith("HTML") ? "page.html" : "page.md", text)).toBe(expected);
    });
  }
});

describe("stored documents", () => {
  let ctx: ReturnType<typeof tempDb>;
  let collectionId = "";
  beforeAll(() => {
    ctx = tempDb();
    collectionId = createCollection(ctx.db, { name: "FAQ" }).id;
  });
  afterAll(() => ctx.close());

  it("nine man-page FAQ files get nine different titles; a file without one is titled by its name", async () => {
    const titles: string[] = [];
    for (let i = 1; i <= 9; i++) {
      const { document } = await addDocument(ctx.db, {
        collectionId,
        fileName: `perlfaq${i}.md`,
        bytes: bytes(`# NAME\n\nperlfaq${i} - Part ${i} of the FAQ\n\n# DESCRIPTION\n\nQuestions of part ${i}.\n`),
      });
      titles.push(document.title);
    }
    expect(titles).toEqual(Array.from({ length: 9 }, (_, k) => `perlfaq${k + 1} - Part ${k + 1} of the FAQ`));
    const { document } = await addDocument(ctx.db, { collectionId, fileName: "tide-cli.md", bytes: bytes("# SYNOPSIS\n\n    tide --today\n") });
    expect(document.title).toBe("tide-cli");
  });

  it("the owner renames a document; search hits and new citations carry the new title; chunks are untouched", async () => {
    const { document } = await addDocument(ctx.db, { collectionId, fileName: "ferry.md", bytes: bytes("# OPTIONS\n\nThe ferry to the island leaves every hour from pier four.\n") });
    const chunksBefore = listChunks(ctx.db, document.id);
    const renamed = renameDocument(ctx.db, document.id, "  Ferry   timetable ");
    expect(renamed.title).toBe("Ferry timetable");
    expect(getDocument(ctx.db, document.id).title).toBe("Ferry timetable");
    expect(listChunks(ctx.db, document.id)).toEqual(chunksBefore);
    const res = await search(ctx.db, "ferry island pier", { collectionIds: [collectionId] });
    expect(res.hits[0]?.title).toBe("Ferry timetable");
    expect(() => renameDocument(ctx.db, document.id, "   ")).toThrow(/Give the document a title/);
    expect(() => renameDocument(ctx.db, document.id, "x".repeat(301))).toThrow(/301 characters long; the limit is 300/);
    expect(() => renameDocument(ctx.db, "nope", "Title")).toThrow(/not found|does not exist/i);
  });
});
