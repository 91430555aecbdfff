/** Where a cited passage opens: the document view, scrolled to the chunk. */
export const citationHref = (c: { documentId: string; chunkId: number }) => `/knowledge/doc/${c.documentId}#chunk-${c.chunkId}`;

export const MARKER_PREFIX = "#cite-";

/**
 * Turns the answer's [n] markers for known citations into Markdown links (#cite-n) that the
 * message intercepts to open the passage. Code spans and fenced blocks are left alone, as are
 * numbers with no citation, links ("[1](...)") and reference definitions ("[1]: ...").
 */
export function linkCitationMarkers(text: string, known: ReadonlySet<number>): string {
  if (known.size === 0) return text;
  // Split out code so markers inside it stay literal: ``` fences and `spans`.
  return text
    .split(/(```[\s\S]*?(?:```|$)|`[^`\n]*`)/g)
    .map((part, i) =>
      i % 2 === 1 ? part : part.replace(/\[(\d{1,3})\](?![(:])/g, (m, n: string) => (known.has(Number(n)) ? `[\\[${n}\\]](${MARKER_PREFIX}${n})` : m)),
    )
    .join("");
}

/** The citation number of a clicked marker link's href, or null. */
export function markerNumber(href: string | null): number | null {
  if (!href?.startsWith(MARKER_PREFIX)) return null;
  const n = Number(href.slice(MARKER_PREFIX.length));
  return Number.isInteger(n) ? n : null;
}

/** Text outside ``` fences and `code spans` (where a [1] is code, not a citation). */
function proseOf(text: string): string {
  return text
    .split(/(```[\s\S]*?(?:```|$)|`[^`\n]*`)/g)
    .filter((_, i) => i % 2 === 0)
    .join(" ");
}

/**
 * The source numbers an answer cites: [n] markers, also grouped ("[1, 3]", "[1][2]"), outside
 * code; a number no source has is ignored. A source the answer never cites was only retrieved.
 */
export function citedNumbers(text: string, known: ReadonlySet<number>): Set<number> {
  const out = new Set<number>();
  for (const m of proseOf(text).matchAll(/\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\](?!\()/g)) {
    for (const part of m[1]!.split(/[,;]/)) {
      const n = Number(part.trim());
      if (known.has(n)) out.add(n);
    }
  }
  return out;
}

/** Sources split into those the answer cites ("used") and those it was given but never cites. */
export function splitCitations<T extends { n: number }>(text: string, citations: readonly T[]): { used: T[]; uncited: T[] } {
  const cited = citedNumbers(text, new Set(citations.map((c) => c.n)));
  return { used: citations.filter((c) => cited.has(c.n)), uncited: citations.filter((c) => !cited.has(c.n)) };
}
