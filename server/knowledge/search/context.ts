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

/** Trims a passage to about `tokens` tokens, on a word boundary. */
function trimToTokens(text: string, tokens: number): string {
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
 * Packs search hits, best first, into a prompt block within `tokenBudget` (approximate
 * tokens), numbering them [1], [2]... for citation. A passage that does not fit is skipped
 * (a later, shorter one may still fit); if not even the first fits, it is trimmed to fit.
 */
export function buildContext(
  hits: ReadonlyArray<Pick<SearchHit, "chunkId" | "documentId" | "title" | "ordinal" | "heading" | "text">>,
  tokenBudget: number,
  options: { snippetChars?: number; header?: string } = {},
): BuiltContext {
  const header = options.header ?? "Sources (cite as [n]):";
  const snippetChars = options.snippetChars ?? 240;
  const blocks: string[] = [];
  const citations: Citation[] = [];
  let used = estimateTokens(header);
  const seen = new Set<number>();
  for (const hit of hits) {
    if (seen.has(hit.chunkId)) continue;
    const n = citations.length + 1;
    // The heading path usually starts with the document's title: do not repeat it.
    const section = hit.heading?.startsWith(`${hit.title} > `) ? hit.heading.slice(hit.title.length + 3) : hit.heading;
    const label = `[${n}] ${hit.title}${section && section !== hit.title ? ` — ${section}` : ""}`;
    const labelTokens = estimateTokens(label) + 2;
    let body = hit.text.trim();
    let cost = labelTokens + estimateTokens(body);
    if (used + cost > tokenBudget) {
      if (citations.length > 0) continue;
      const room = tokenBudget - used - labelTokens;
      if (room < 16) break;
      body = trimToTokens(body, room - 1); // -1: the ellipsis may add a token
      cost = labelTokens + estimateTokens(body);
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
