import { describe, expect, it } from "vitest";
import { DocumentParseError, parseDocument, type ParsedDocument } from "@/server/documents";
import { chunkText } from "@/server/knowledge/chunk";
import { buildPdf } from "../helpers/pdf";
import { buildDocx, buildZip } from "../helpers/docx";

async function parseError(fileName: string, bytes: Uint8Array, options = {}): Promise<DocumentParseError> {
  try {
    await parseDocument({ fileName, bytes }, options);
  } catch (err) {
    expect(err).toBeInstanceOf(DocumentParseError);
    return err as DocumentParseError;
  }
  throw new Error(`expected ${fileName} to fail`);
}

function expectOutlineConsistent(doc: ParsedDocument): void {
  for (const h of doc.outline) expect(doc.text.slice(h.offset, h.offset + h.text.length)).toBe(h.text);
}

const twoPages = () =>
  buildPdf([
    {
      firstLineSize: 20,
      lines: ["Printer Guide", "The QX-114 code means the toner hopper", "is jammed; open the front cover.", "", "Call support if it persists."],
    },
    { lines: ["Error QX-107 concerns the platen (roller)."] },
  ]);

describe("PDF", () => {
  it("extracts text per page with Page N headings and paragraphs", async () => {
    const bytes = twoPages();
    const before = bytes.slice();
    const doc = await parseDocument({ fileName: "guide.pdf", bytes });
    expect(bytes).toEqual(before); // the caller's bytes are not detached or changed
    expect(doc.format).toBe("pdf");
    expect(doc.title).toBe("Printer Guide");
    expect(doc.text).toBe(
      "Page 1\n\nPrinter Guide\n\nThe QX-114 code means the toner hopper is jammed; open the front cover.\n\n" +
        "Call support if it persists.\n\nPage 2\n\nError QX-107 concerns the platen (roller).",
    );
    expect(doc.outline.map((h) => [h.level, h.text])).toEqual([
      [1, "Page 1"],
      [2, "Printer Guide"],
      [1, "Page 2"],
    ]);
    expectOutlineConsistent(doc);
    expect(doc.warnings).toEqual([]);
  });

  it("chunks carry the page as their heading path", async () => {
    const doc = await parseDocument({ fileName: "guide.pdf", bytes: twoPages() });
    const chunks = chunkText(doc, { targetTokens: 300 });
    const last = chunks.find((c) => c.text.includes("QX-107"))!;
    expect(JSON.stringify(last)).toContain("Page 2");
  });

  it("finds a PDF by MIME type and skips image-only pages with a warning", async () => {
    const bytes = buildPdf([{ lines: ["Intro text."] }, { lines: [] }, { lines: ["Closing text."] }]);
    const doc = await parseDocument({ fileName: "upload", bytes, mime: "application/pdf" });
    expect(doc.format).toBe("pdf");
    expect(doc.outline.map((h) => h.text)).toEqual(["Page 1", "Page 3"]);
    expect(doc.warnings).toEqual(["1 page has no text (images only?): 2."]);
  });

  it("caps the pages read", async () => {
    const bytes = buildPdf([{ lines: ["one"] }, { lines: ["two"] }, { lines: ["three"] }]);
    const doc = await parseDocument({ fileName: "long.pdf", bytes }, { pdf: { maxPages: 2 } });
    expect(doc.text).not.toContain("three");
    expect(doc.warnings).toEqual(["Only the first 2 of 3 pages were read."]);
  });

  it("refuses image-only, encrypted, truncated and fake PDFs by name", async () => {
    const scanned = await parseError("scan.pdf", buildPdf([{ lines: [] }, { lines: [] }]));
    expect(scanned.reason).toBe("no-text");
    expect(scanned.message).toBe('"scan.pdf": the PDF has no extractable text (scanned? run OCR on it first).');

    const locked = await parseError("locked.pdf", buildPdf([{ lines: ["secret"] }], { encrypted: true }));
    expect(locked.reason).toBe("encrypted");
    expect(locked.message).toMatch(/^"locked\.pdf": the PDF is encrypted/);

    const truncated = await parseError("cut.pdf", twoPages().slice(0, 180));
    expect(truncated.reason).toBe("corrupt");
    expect(truncated.message).toMatch(/^"cut\.pdf": the file is not a valid PDF/);

    const random = new Uint8Array(4096).map((_, i) => (i * 7919 + 13) % 251);
    const fake = await parseError("random.pdf", random);
    expect(fake.reason).toBe("corrupt");
    expect(fake.message).toMatch(/^"random\.pdf": the file is not a valid PDF/);
    expect(fake.errorCode).toBe("bad_request:knowledge");

    expect((await parseError("empty.pdf", new Uint8Array(0))).reason).toBe("empty");
    const big = await parseError("big.pdf", twoPages(), { maxBytes: 100 });
    expect(big.reason).toBe("too-large");
    expect(big.errorCode).toBe("too_large:knowledge");
  });
});

describe("DOCX", () => {
  const manual = () =>
    buildDocx([
      { heading: 1, text: "Field Manual" },
      { text: "Read this first & keep it." },
      { heading: 2, text: "Jams" },
      { text: "QX-114 means the toner hopper is jammed." },
      { text: "Open the front cover." },
    ]);

  it("keeps headings and paragraphs (via the HTML path)", async () => {
    const doc = await parseDocument({ fileName: "manual.docx", bytes: manual() });
    expect(doc.format).toBe("docx");
    expect(doc.title).toBe("Field Manual");
    expect(doc.text).toBe("Field Manual\n\nRead this first & keep it.\n\nJams\n\nQX-114 means the toner hopper is jammed.\n\nOpen the front cover.");
    expect(doc.outline.map((h) => [h.level, h.text])).toEqual([
      [1, "Field Manual"],
      [2, "Jams"],
    ]);
    expectOutlineConsistent(doc);
  });

  it("refuses empty, corrupt and non-ZIP files by name", async () => {
    const empty = await parseError("empty.docx", buildDocx([]));
    expect(empty.reason).toBe("no-text");
    expect(empty.message).toBe('"empty.docx": no text found in this DOCX file.');

    const noBody = await parseError("nobody.docx", buildZip({ "hello.txt": "hi" }));
    expect(noBody.reason).toBe("corrupt");
    expect(noBody.message).toMatch(/^"nobody\.docx": the file is not a valid DOCX/);

    const badXml = await parseError("broken.docx", buildDocx([], { "word/document.xml": "<w:document><w:body><w:p>" }));
    expect(badXml.reason).toBe("corrupt");

    const notZip = await parseError("notes.docx", new TextEncoder().encode("just text, renamed"));
    expect(notZip.message).toMatch(/^"notes\.docx": the file is not a valid DOCX \(not a ZIP archive/);

    const truncated = await parseError("cut.docx", manual().slice(0, 300));
    expect(truncated.reason).toBe("corrupt");
  });

  it("reads deflated entries (as Word writes them)", async () => {
    const blocks = [{ heading: 1 as const, text: "Field Manual" }, { text: "QX-114 means the toner hopper is jammed." }];
    const names = ["[Content_Types].xml", "_rels/.rels", "word/_rels/document.xml.rels", "word/styles.xml", "word/document.xml"];
    const doc = await parseDocument({ fileName: "deflated.docx", bytes: buildDocx(blocks, {}, { deflated: names }) });
    expect(doc.text).toBe("Field Manual\n\nQX-114 means the toner hopper is jammed.");
  });

  it("refuses a DOCX whose central directory lies about its size while inflating, not after", async () => {
    const { parseDocx } = await import("@/server/documents/docx");
    // 40 MB of XML whitespace deflates to ~40 KB; the archive claims it is 1,000 bytes.
    const padding = " ".repeat(40 * 1024 * 1024);
    const xml = `<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>x</w:t></w:r></w:p>${padding}</w:body></w:document>`;
    const bomb = buildDocx([], { "word/document.xml": xml }, { deflated: ["word/document.xml"], declaredSize: { "word/document.xml": 1000 } });
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const before = process.memoryUsage().arrayBuffers;
    const err = await parseDocx("bomb.docx", bomb, 4 * 1024 * 1024).then(() => null, (e: unknown) => e as { reason: string; message: string });
    expect(err?.reason).toBe("too-large");
    expect(err?.message).toMatch(/^"bomb\.docx": the DOCX expands to more than 4\.0 MiB/);
    // Inflating stopped at the limit: nowhere near the 40 MB the entry holds was allocated.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });
});
