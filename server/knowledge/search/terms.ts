import "server-only";

/* The words of a query, and a query made of them that FTS5 can never read as syntax. */

const MAX_QUERY_TERMS = 24;

// Function words that match most chunks: they cost time and add nothing to BM25 ranking.
const STOPWORDS = new Set(
  (
    "a about above after again against all am an and any are aren as at be because been before being below between both but by " +
    "can cannot could did do does doing don down during each few for from further had has have having he her here hers herself " +
    "him himself his how i if in into is isn it its itself just let me more most my myself no nor not now of off on once only or " +
    "other ought our ours ourselves out over own same she should so some such than that the their theirs them themselves then " +
    "there these they this those through to too under until up very was we were what when where which while who whom why will " +
    "with would you your yours yourself yourselves s t d ll m re ve tell explain describe please"
  ).split(" "),
);

/** The words of a user's query, normalised, deduplicated, stopwords dropped unless nothing else remains. */
export function queryTerms(text: string): string[] {
  const words = text.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}\p{M}]+/gu) ?? [];
  const unique = [...new Set(words)].filter((w) => w.length <= 64);
  const content = unique.filter((w) => !STOPWORDS.has(w));
  return (content.length > 0 ? content : unique).slice(0, MAX_QUERY_TERMS);
}

/** One term as an FTS5 string: double-quoted, so it is never an operator, column filter or prefix. */
export const quoteTerm = (t: string) => `"${t.replace(/"/g, '""')}"`;

/**
 * Turns free user text into a safe FTS5 query: words are extracted (letters, digits, marks),
 * each is double-quoted (so AND/OR/NEAR/NOT, *, ^, :, parentheses and quotes in the user's
 * text are plain words or nothing) and OR-ed, so BM25 ranks by how many and how rare the
 * matched terms are. Stopwords are dropped unless nothing else remains. Null: nothing to search.
 */
export function buildFtsQuery(text: string): string | null {
  const terms = queryTerms(text);
  return terms.length === 0 ? null : terms.map(quoteTerm).join(" OR ");
}

