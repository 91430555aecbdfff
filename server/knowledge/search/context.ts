import "server-only";
import { estimateTokens } from "../chunk";
import type { SearchHit } from "./search";

/* Packing the winners of a search into a cited prompt block. */

export type Citation = {
  /** The number used in the prompt: [n]. */
  n: number;
  documentId: string;
  title: string;
  chunkId: number;
  ordinal: number;
  heading: string | null;
  snippet: string;
};

export type BuiltContext = { text: string; citations: Citation[]; tokenEstimate: number };

function cutAtWord(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, maxChars);
  const space = cut.search(/\s\S*$/);
  return `${(space > maxChars * 0.5 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** Counts the tokens of a text: the model's tokenizer when the caller has one, else the estimate. */
export type TokenCounter = (text: string) => number;

/** Trims a passage to about `tokens` estimated tokens, on a word boundary. */
function trimToEstimate(text: string, tokens: number): string {
  let total = 0;
  let end = 0;
  for (const m of text.matchAll(/\S+/g)) {
    const t = estimateTokens(m[0]);
    if (total + t > tokens) break;
    total += t;
    end = m.index + m[0].length;
  }
  return end >= text.length ? text : `${text.slice(0, end)}…`;
}

/**
 * The longest prefix of `text` (cut after a word, or inside one when a single word is too long)
 * that, with an ellipsis, counts at most `tokens` under `count`: a binary search, so about
 * log2(words) tokenizations of at most the passage. "" when not even one word fits.
 */
export function trimToTokens(text: string, tokens: number, count: TokenCounter): string {
  if (count(text) <= tokens) return text;
  const ends = [...text.matchAll(/\S+/g)].map((m) => m.index + m[0].length);
  // A word longer than the budget (a long URL, a hex run): cut it by characters instead.
  const cuts = ends.length > 1 ? ends : Array.from({ length: Math.min(text.length, 4096) }, (_, i) => i + 1);
  let lo = 0;
  let hi = cuts.length - 1;
  let best = "";
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const candidate = `${text.slice(0, cuts[mid]).trimEnd()}…`;
    if (count(candidate) <= tokens) {
      best = candidate;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

/**
 * Packs search hits, best first, into a prompt block within `tokenBudget` tokens, numbering
 * them [1], [2]... for citation. Tokens are counted with `options.count` (the model's tokenizer,
 * so symbol-heavy text is not underestimated) or estimated without one. A passage that does not
 * fit is skipped (a later, shorter one may still fit); if not even the first fits, it is trimmed
 * to fit.
 */
export function buildContext(
  hits: ReadonlyArray<Pick<SearchHit, "chunkId" | "documentId" | "title" | "ordinal" | "heading" | "text">>,
  tokenBudget: number,
  options: { snippetChars?: number; header?: string; count?: TokenCounter } = {},
): BuiltContext {
  const header = options.header ?? "Sources (cite as [n]):";
  const snippetChars = options.snippetChars ?? 240;
  const count = options.count ?? estimateTokens;
  const blocks: string[] = [];
  const citations: Citation[] = [];
  let used = count(header);
  const seen = new Set<number>();
  for (const hit of hits) {
    if (seen.has(hit.chunkId)) continue;
    const n = citations.length + 1;
    // The heading path usually starts with the document's title: do not repeat it.
    const section = hit.heading?.startsWith(`${hit.title} > `) ? hit.heading.slice(hit.title.length + 3) : hit.heading;
    const label = `[${n}] ${hit.title}${section && section !== hit.title ? ` — ${section}` : ""}`;
    // +2: the blank line that separates blocks and the one after the label.
    const labelTokens = count(label) + 2;
    let body = hit.text.trim();
    let cost = labelTokens + count(body);
    if (used + cost > tokenBudget) {
      if (citations.length > 0) continue;
      const room = tokenBudget - used - labelTokens;
      if (room < 16) break;
      body = options.count ? trimToTokens(body, room, options.count) : trimToEstimate(body, room - 1); // -1: the ellipsis may add a token
      if (!body) break;
      cost = labelTokens + count(body);
    }
    seen.add(hit.chunkId);
    blocks.push(`${label}\n${body}`);
    citations.push({
      n,
      documentId: hit.documentId,
      title: hit.title,
      chunkId: hit.chunkId,
      ordinal: hit.ordinal,
      heading: hit.heading,
      snippet: cutAtWord(hit.text.replace(/\s+/g, " ").trim(), snippetChars),
    });
    used += cost;
  }
  if (citations.length === 0) return { text: "", citations, tokenEstimate: 0 };
  return { text: `${header}\n\n${blocks.join("\n\n")}`, citations, tokenEstimate: used };
}
