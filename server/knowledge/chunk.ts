import "server-only";
import { parseDocument, type OutlineEntry, type ParsedDocument, type ParseInput, type ParseOptions } from "../documents";

export type ChunkOptions = {
  /** Tokens a chunk aims for (approximate, see estimateTokens). Default 300. */
  targetTokens?: number;
  /** Share of targetTokens repeated at the start of the next chunk of a section. Default 0.15. */
  overlap?: number;
};

export type Chunk = {
  ordinal: number;
  text: string;
  tokenEstimate: number;
  /** [startOffset, endOffset) in the document's extracted text. */
  startOffset: number;
  endOffset: number;
  /** Heading path ("Install > Linux") in effect, or null before the first heading. */
  heading: string | null;
};

export const DEFAULT_TARGET_TOKENS = 300;
export const DEFAULT_OVERLAP = 0.15;
/** A "word" longer than this many characters (a URL, base64) is cut; the only mid-word split. */
export const MAX_WORD_CHARS = 256;

const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/g;

/** Approximate tokens of one whitespace-free word: ~4 characters a token, CJK one a character. */
function wordTokens(word: string): number {
  const cjk = word.match(CJK)?.length ?? 0;
  const rest = word.length - cjk;
  return cjk + (rest > 0 ? Math.max(1, Math.ceil(rest / 4)) : 0);
}

/**
 * Approximate token count (no tokenizer needed; within ~20% of BPE tokenizers on English
 * prose). Additive over whitespace-separated words, so a chunk's estimate is the sum of its
 * words'.
 */
export function estimateTokens(text: string): number {
  let total = 0;
  for (const m of text.matchAll(/\S+/g)) total += wordTokens(m[0]);
  return total;
}

type Word = { start: number; end: number; tokens: number; /** 0 none, 1 clause, 2 sentence/line, 3 paragraph */ breakAfter: number };

function splitWords(text: string, from: number, to: number): Word[] {
  const words: Word[] = [];
  const re = /\S+/g;
  re.lastIndex = from;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null && m.index < to) {
    let start = m.index;
    const end = Math.min(m.index + m[0].length, to);
    // Over-long runs without spaces: cut at code point boundaries.
    while (end - start > MAX_WORD_CHARS) {
      let cut = start + MAX_WORD_CHARS;
      const c = text.charCodeAt(cut - 1);
      if (c >= 0xd800 && c <= 0xdbff) cut--;
      words.push({ start, end: cut, tokens: wordTokens(text.slice(start, cut)), breakAfter: 0 });
      start = cut;
    }
    words.push({ start, end, tokens: wordTokens(text.slice(start, end)), breakAfter: 0 });
  }
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    const gapEnd = k + 1 < words.length ? words[k + 1]!.start : to;
    const gap = text.slice(w.end, gapEnd);
    const newlines = gap.split("\n").length - 1;
    const last = text.slice(Math.max(w.start, w.end - 3), w.end);
    if (newlines >= 2) w.breakAfter = 3;
    else if (newlines === 1 || /[.!?。！？]["'”’)\]]*$/.test(last)) w.breakAfter = 2;
    else if (/[,;:、，；：—]["'”’)\]]*$/.test(last)) w.breakAfter = 1;
  }
  return words;
}

type Section = { start: number; end: number; heading: string | null; own: OutlineEntry | null };

/** Splits the text at headings; each section carries its heading path. */
function sections(text: string, outline: OutlineEntry[]): Section[] {
  const sorted = [...outline].filter((h) => h.offset >= 0 && h.offset < text.length).sort((a, b) => a.offset - b.offset);
  const out: Section[] = [];
  const stack: OutlineEntry[] = [];
  let start = 0;
  let heading: string | null = null;
  let own: OutlineEntry | null = null;
  for (const h of sorted) {
    if (h.offset > start) out.push({ start, end: h.offset, heading, own });
    while (stack.length > 0 && stack[stack.length - 1]!.level >= h.level) stack.pop();
    stack.push(h);
    heading = stack.map((e) => e.text).join(" > ");
    own = h;
    start = h.offset;
  }
  out.push({ start, end: text.length, heading, own });
  // A heading followed straight by a sub-heading joins the section after it (its path is
  // part of that section's), so no chunk is just a title.
  const merged: Section[] = [];
  let carry: number | null = null;
  for (let k = 0; k < out.length; k++) {
    const s = out[k]!;
    const start2: number = carry ?? s.start;
    const body = text.slice(s.start, s.end).trim();
    if (k < out.length - 1 && (body === "" || body === s.own?.text)) {
      carry = start2;
      continue;
    }
    merged.push({ start: start2, end: s.end, heading: s.heading, own: s.own });
    carry = null;
  }
  return merged.filter((s) => text.slice(s.start, s.end).trim() !== "");
}

/**
 * Heading-aware chunking: a chunk never crosses a heading (tiny sections excepted), ends at
 * the best break (paragraph > sentence/line > clause > word) near the target size, never
 * splits a word (save words over MAX_WORD_CHARS) and the next chunk of the same section
 * repeats ~overlap of it, starting at a sentence start when one is near.
 */
export function chunkText(doc: { text: string; outline: OutlineEntry[] }, options: ChunkOptions = {}): Chunk[] {
  const target = Math.max(16, Math.floor(options.targetTokens ?? DEFAULT_TARGET_TOKENS));
  const overlapTokens = Math.floor(target * Math.min(0.5, Math.max(0, options.overlap ?? DEFAULT_OVERLAP)));
  const { text } = doc;
  const chunks: Chunk[] = [];

  for (const section of sections(text, doc.outline)) {
    const words = splitWords(text, section.start, section.end);
    const n = words.length;
    if (n === 0) continue;
    const prefix = new Array<number>(n + 1);
    prefix[0] = 0;
    for (let k = 0; k < n; k++) prefix[k + 1] = prefix[k]! + words[k]!.tokens;
    const tokensBetween = (a: number, b: number) => prefix[b + 1]! - prefix[a]!; // inclusive word range

    let i = 0;
    while (i < n) {
      // Furthest word that keeps the chunk within target.
      let j = i;
      while (j + 1 < n && tokensBetween(i, j + 1) <= target) j++;
      let end: number;
      const rest = j + 1 < n ? tokensBetween(j + 1, n - 1) : 0;
      if (j === n - 1 || rest <= target * 0.2) {
        // The end of the section, or a tail too small to stand alone (allowed to run ~20% over).
        end = n - 1;
      } else {
        // Best break in the last half of the window; later wins ties.
        end = j;
        let best = -1;
        const floor = i + Math.floor((j - i) / 2);
        for (let k = j; k >= floor; k--) {
          if (words[k]!.breakAfter > best) {
            best = words[k]!.breakAfter;
            end = k;
            if (best === 3) break;
          }
        }
      }
      const first = words[i]!;
      const last = words[end]!;
      const startOffset = first.start;
      const endOffset = last.end;
      chunks.push({
        ordinal: chunks.length,
        text: text.slice(startOffset, endOffset),
        tokenEstimate: tokensBetween(i, end),
        startOffset,
        endOffset,
        heading: section.heading,
      });
      if (end >= n - 1) break;
      // Overlap: back up from end+1 while within overlapTokens, then prefer a sentence start.
      let next = end + 1;
      while (next - 1 > i && tokensBetween(next - 1, end) <= overlapTokens) next--;
      for (let k = next; k <= end; k++) {
        if (k > i && words[k - 1]!.breakAfter >= 2) {
          next = k;
          break;
        }
      }
      i = Math.max(i + 1, next);
    }
  }
  return chunks;
}

export type ChunkPreview = {
  title: string | null;
  format: ParsedDocument["format"];
  encoding: ParsedDocument["encoding"];
  warnings: string[];
  characters: number;
  tokenEstimate: number;
  chunks: Chunk[];
};

/** Parses and chunks a file without storing anything (for "preview before import"). */
export async function previewChunks(input: ParseInput, options: ChunkOptions & ParseOptions = {}): Promise<ChunkPreview> {
  const parsed = await parseDocument(input, options);
  const chunks = chunkText(parsed, options);
  return {
    title: parsed.title,
    format: parsed.format,
    encoding: parsed.encoding,
    warnings: parsed.warnings,
    characters: parsed.text.length,
    tokenEstimate: estimateTokens(parsed.text),
    chunks,
  };
}
