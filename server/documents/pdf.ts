import { getDocumentProxy } from "unpdf";
import { TextBuilder } from "./builder";
import { DocumentParseError, type OutlineEntry } from "./types";

/*
 * PDF → text with PDF.js (the serverless build bundled by unpdf: pure JS, no canvas, no
 * worker). Each page becomes a "Page N" heading (level 1) so chunks and citations can name
 * their page; lines are rebuilt from text positions, joined into paragraphs where the
 * vertical gap is small, and lines set clearly larger than the body text become level-2
 * headings (PDFs carry no semantic headings).
 */

export const MAX_PDF_PAGES = 2000;
export const PDF_TIME_LIMIT_MS = 60_000;

export type PdfLimits = { maxPages?: number; timeLimitMs?: number };

type TextItem = { str: string; transform: number[]; width: number; height: number; hasEOL: boolean };
type Line = { y: number; size: number; text: string; endX: number };

function isTextItem(item: unknown): item is TextItem {
  return typeof item === "object" && item !== null && "str" in item && "transform" in item;
}

/** Groups positioned text runs into lines (top to bottom, in content order). */
function linesOf(items: TextItem[]): Line[] {
  const lines: Line[] = [];
  let cur: Line | null = null;
  for (const item of items) {
    const size = Math.hypot(item.transform[2] ?? 0, item.transform[3] ?? 0) || item.height || 12;
    const x = item.transform[4] ?? 0;
    const y = item.transform[5] ?? 0;
    if (item.str !== "") {
      if (cur && Math.abs(cur.y - y) < Math.max(cur.size, size) * 0.5) {
        // Same baseline: add a space where the runs are visibly apart and none is there.
        const gap = x - cur.endX;
        if (gap > size * 0.15 && !/\s$/.test(cur.text) && !/^\s/.test(item.str)) cur.text += " ";
        cur.text += item.str;
        cur.size = Math.max(cur.size, size);
        cur.endX = x + item.width;
      } else {
        cur = { y, size, text: item.str, endX: x + item.width };
        lines.push(cur);
      }
    }
    if (item.hasEOL) cur = null;
  }
  return lines.filter((l) => l.text.trim() !== "");
}

/** Body text size: the size most characters are set in. */
function bodySize(lines: Line[]): number {
  const chars = new Map<number, number>();
  for (const l of lines) chars.set(Math.round(l.size), (chars.get(Math.round(l.size)) ?? 0) + l.text.length);
  let best = 12;
  let most = -1;
  for (const [size, n] of chars) if (n > most) [best, most] = [size, n];
  return best;
}

function addPage(b: TextBuilder, page: number, lines: Line[], body: number): void {
  b.heading(1, `Page ${page}`);
  let para = "";
  const flush = () => {
    if (para.trim() !== "") b.inline(para);
    b.paragraph();
    para = "";
  };
  lines.forEach((line, i) => {
    const text = line.text.replace(/\s+/g, " ").trim();
    const prev = lines[i - 1];
    const isHeading = line.size >= body * 1.25 && text.length <= 120;
    if (isHeading) {
      flush();
      b.heading(2, text);
      return;
    }
    const newParagraph =
      !prev ||
      prev.size >= body * 1.25 ||
      prev.y - line.y > line.size * 1.5 || // a blank line's worth of space
      line.y > prev.y; // moved up: a new column or a block placed out of order
    if (newParagraph) flush();
    if (para === "") para = text;
    else if (/[A-Za-z]-$/.test(para) && /^[a-z]/.test(text)) para = para.slice(0, -1) + text; // de-hyphenate
    else para += ` ${text}`;
  });
  flush();
}

function pdfError(fileName: string, err: unknown): DocumentParseError {
  const name = err instanceof Error ? err.name : "";
  const message = err instanceof Error ? err.message : String(err);
  if (name === "PasswordException" || /password/i.test(message)) {
    return new DocumentParseError(fileName, "encrypted", "the PDF is encrypted (password-protected); remove the password and upload it again.");
  }
  return new DocumentParseError(fileName, "corrupt", `the file is not a valid PDF (${message.replace(/\.$/, "")}).`);
}

/** Extracts the text of a PDF page by page. Throws DocumentParseError naming the file. */
export async function parsePdf(
  fileName: string,
  bytes: Uint8Array,
  limits: PdfLimits = {},
): Promise<{ title: string | null; text: string; outline: OutlineEntry[]; warnings: string[] }> {
  const maxPages = limits.maxPages ?? MAX_PDF_PAGES;
  const deadline = Date.now() + (limits.timeLimitMs ?? PDF_TIME_LIMIT_MS);
  let doc: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // PDF.js takes ownership of (detaches) the buffer it is given: pass a copy, the caller
    // still hashes and stores the original bytes.
    doc = await getDocumentProxy(bytes.slice(), {
      verbosity: 0,
      isEvalSupported: false,
      useSystemFonts: false,
      disableFontFace: true,
      stopAtErrors: false,
    });
  } catch (err) {
    throw pdfError(fileName, err);
  }
  try {
    const warnings: string[] = [];
    const pageCount = Math.min(doc.numPages, maxPages);
    if (doc.numPages > maxPages) warnings.push(`Only the first ${maxPages} of ${doc.numPages} pages were read.`);
    const pages: Line[][] = [];
    for (let n = 1; n <= pageCount; n++) {
      if (Date.now() > deadline) {
        throw new DocumentParseError(fileName, "timeout", `reading the PDF took too long (stopped at page ${n} of ${doc.numPages}); split it into smaller files.`);
      }
      let items: TextItem[];
      try {
        const page = await doc.getPage(n);
        items = (await page.getTextContent()).items.flatMap((item) => (isTextItem(item) ? [item] : []));
        page.cleanup();
      } catch (err) {
        throw pdfError(fileName, err);
      }
      pages.push(linesOf(items));
    }
    const all = pages.flat();
    if (all.length === 0) {
      throw new DocumentParseError(fileName, "no-text", "the PDF has no extractable text (scanned? run OCR on it first).");
    }
    const body = bodySize(all);
    const b = new TextBuilder();
    const empty: number[] = [];
    pages.forEach((lines, i) => {
      if (lines.length === 0) empty.push(i + 1);
      else addPage(b, i + 1, lines, body);
    });
    if (empty.length > 0) {
      const list = empty.length > 10 ? `${empty.slice(0, 10).join(", ")}…` : empty.join(", ");
      warnings.push(`${empty.length} page${empty.length === 1 ? " has" : "s have"} no text (images only?): ${list}.`);
    }
    let title: string | null = null;
    try {
      const meta = await doc.getMetadata();
      const info = meta.info as { Title?: unknown } | undefined;
      if (typeof info?.Title === "string" && info.Title.trim() !== "") title = info.Title.trim();
    } catch {
      // Metadata is optional; the text is what matters.
    }
    title ??= b.outline.find((h) => h.level === 2)?.text ?? null;
    return { title, ...b.build(), warnings };
  } finally {
    await doc.destroy();
  }
}
