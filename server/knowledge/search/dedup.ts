import "server-only";

/*
 * Duplicate passages out of a ranked list, before they take source slots. Documentation sets
 * repeat themselves: the same one-line version stub or licence footer in every file, a paragraph
 * copied between two pages with a word changed. Each copy would cost a numbered source and prompt
 * tokens while telling the model nothing new.
 *
 * A passage is dropped when a better-ranked one that is kept already says the same thing:
 *  - exact: the same words once case, punctuation and spacing are ignored;
 *  - near: the word-bigram sets overlap with Jaccard ≥ NEAR_DUPLICATE_JACCARD (a changed word
 *    or date in a long paragraph; for a one-line stub, most of its words);
 *  - contained: at least CONTAINED_FRACTION of its bigrams are in one kept passage (a stub that
 *    is a sentence of a longer passage already chosen).
 * Bigrams rather than longer shingles so short passages still compare meaningfully.
 */

export const NEAR_DUPLICATE_JACCARD = 0.7;
export const CONTAINED_FRACTION = 0.9;

/**
 * Lower case, one space between words, sentence punctuation and quotes dropped; symbols that
 * change meaning in technical text (C++ vs C, $x vs x, a->b) are kept.
 */
export function passageKey(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}+#$%&*/\\<>=@^~|_]+/gu, " ")
    .trim();
}

function bigrams(key: string): Set<string> {
  const words = key ? key.split(" ") : [];
  const out = new Set<string>();
  if (words.length === 1) out.add(words[0]!);
  for (let i = 0; i + 1 < words.length; i++) out.add(`${words[i]} ${words[i + 1]}`);
  return out;
}

function overlap(a: Set<string>, b: Set<string>): number {
  let n = 0;
  const [small, big] = a.size <= b.size ? [a, b] : [b, a];
  for (const x of small) if (big.has(x)) n++;
  return n;
}

export type DuplicateKind = "exact" | "near" | "contained";

/**
 * Keeps the first of each group of duplicates, in the given (ranked) order, and says why each
 * dropped passage went. `text` reads a passage's text.
 */
export function dropDuplicatePassages<T>(ranked: readonly T[], text: (item: T) => string): { kept: T[]; dropped: { item: T; kind: DuplicateKind; keptIndex: number }[] } {
  const kept: T[] = [];
  const keys: string[] = [];
  const grams: Set<string>[] = [];
  const seen = new Map<string, number>();
  const dropped: { item: T; kind: DuplicateKind; keptIndex: number }[] = [];
  for (const item of ranked) {
    const key = passageKey(text(item));
    const exact = seen.get(key);
    if (exact !== undefined) {
      dropped.push({ item, kind: "exact", keptIndex: exact });
      continue;
    }
    const g = bigrams(key);
    let verdict: { kind: DuplicateKind; keptIndex: number } | null = null;
    if (g.size > 0) {
      for (let j = 0; j < kept.length && !verdict; j++) {
        const other = grams[j]!;
        if (other.size === 0) continue;
        const common = overlap(g, other);
        if (common / (g.size + other.size - common) >= NEAR_DUPLICATE_JACCARD) verdict = { kind: "near", keptIndex: j };
        else if (common / g.size >= CONTAINED_FRACTION) verdict = { kind: "contained", keptIndex: j };
      }
    }
    if (verdict) {
      dropped.push({ item, ...verdict });
      continue;
    }
    seen.set(key, kept.length);
    kept.push(item);
    keys.push(key);
    grams.push(g);
  }
  return { kept, dropped };
}
