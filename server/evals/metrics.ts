import "server-only";
import type { ExpectedSource, StoredCitation } from "./schema";
import { normalizeText, wordTokens } from "./normalize";

/*
 * The deterministic per-answer metrics. Each returns a number in [0, 1] (1 = good) or null when
 * the row gives it nothing to measure against (no reference, no required facts, no expected
 * source), so an aggregate never averages in a made-up zero.
 */

/** Answers and references are cut to this many tokens before ROUGE-L (its LCS is quadratic). */
export const ROUGE_MAX_TOKENS = 3000;

/** SQuAD token-F1: harmonic mean of precision and recall of the shared word multiset. */
export function tokenF1(answer: string, reference: string): number {
  const a = wordTokens(answer);
  const r = wordTokens(reference);
  if (a.length === 0 && r.length === 0) return 1;
  if (a.length === 0 || r.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const w of r) counts.set(w, (counts.get(w) ?? 0) + 1);
  let common = 0;
  for (const w of a) {
    const c = counts.get(w) ?? 0;
    if (c > 0) {
      common++;
      counts.set(w, c - 1);
    }
  }
  if (common === 0) return 0;
  const p = common / a.length;
  const rec = common / r.length;
  return (2 * p * rec) / (p + rec);
}

/** Length of the longest common subsequence of two token lists (two rolling rows). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = ai === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** ROUGE-L F-measure (β = 1): LCS-based precision and recall over word tokens. */
export function rougeL(answer: string, reference: string): number {
  const a = wordTokens(answer).slice(0, ROUGE_MAX_TOKENS);
  const r = wordTokens(reference).slice(0, ROUGE_MAX_TOKENS);
  if (a.length === 0 && r.length === 0) return 1;
  const lcs = lcsLength(a, r);
  if (lcs === 0) return 0;
  const p = lcs / a.length;
  const rec = lcs / r.length;
  return (2 * p * rec) / (p + rec);
}

// --- required facts ---------------------------------------------------------------------------

export const MAX_FACT_CHARS = 300;
const REGEX_FACT = /^\/(.+)\/([a-z]*)$/s;
/** A quantified group that itself contains a quantifier ((a+)+, (\w*x)*): the shape of catastrophic backtracking. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d+,?\d*\})/;

export type ParsedFact = { kind: "text"; text: string; norm: string } | { kind: "regex"; text: string; re: RegExp };

/** A fact as written: "/pattern/flags" is a regular expression, anything else a phrase. Throws a message when it cannot be used. */
export function parseFact(fact: string): ParsedFact {
  const text = fact.trim();
  if (!text) throw new Error("a required fact is empty");
  if (text.length > MAX_FACT_CHARS) throw new Error(`a required fact is longer than ${MAX_FACT_CHARS} characters`);
  const m = REGEX_FACT.exec(text);
  if (m) {
    const flags = m[2]!;
    if (/[^imsu]/.test(flags)) throw new Error(`the regular expression ${text} has flags other than i, m, s, u`);
    if (NESTED_QUANTIFIER.test(m[1]!)) throw new Error(`the regular expression ${text} nests quantifiers (like (a+)+), which can take exponential time; simplify it`);
    try {
      return { kind: "regex", text, re: new RegExp(m[1]!, flags) };
    } catch (err) {
      throw new Error(`the regular expression ${text} is invalid: ${(err as Error).message}`);
    }
  }
  const norm = normalizeText(text);
  if (!norm) throw new Error(`the required fact "${text}" has no letters or digits`);
  return { kind: "text", text, norm };
}

/** Whether the answer states one fact: a phrase as whole words (case, punctuation and spacing ignored), or a regex match. */
export function factPresent(answer: string, fact: ParsedFact): boolean {
  if (fact.kind === "regex") return fact.re.test(answer);
  return ` ${normalizeText(answer)} `.includes(` ${fact.norm} `);
}

/** Share of the required facts the answer states; null without facts. */
export function factsHitRate(answer: string, facts: readonly string[]): number | null {
  if (facts.length === 0) return null;
  let hit = 0;
  for (const f of facts) if (factPresent(answer, parseFact(f))) hit++;
  return hit / facts.length;
}

// --- citations -------------------------------------------------------------------------------

/** The source numbers an answer cites: [1], [2, 3], [1][4]. */
export function citedMarkers(answer: string): number[] {
  const out = new Set<number>();
  for (const m of answer.matchAll(/\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/g)) for (const n of m[1]!.split(",")) out.add(Number(n.trim()));
  return [...out].sort((a, b) => a - b);
}

/** Whether one passage comes from the expected source (documents by id or title, collections by id or name). */
export function fromExpectedSource(c: Pick<StoredCitation, "documentId" | "documentTitle">, expected: ExpectedSource, collectionOf: (documentId: string) => { id: string; name: string } | null): boolean {
  const title = normalizeText(expected.title);
  if (expected.kind === "document") return (expected.id !== null && c.documentId === expected.id) || (title !== "" && normalizeText(c.documentTitle) === title);
  const col = collectionOf(c.documentId);
  if (!col) return false;
  return (expected.id !== null && col.id === expected.id) || (title !== "" && normalizeText(col.name) === title);
}

/** 1 when a passage the answer cites by [n] is from the expected source; null without an expected source. */
export function citationHit(answer: string, citations: readonly StoredCitation[], expected: ExpectedSource | null, collectionOf: (documentId: string) => { id: string; name: string } | null): number | null {
  if (!expected) return null;
  const cited = new Set(citedMarkers(answer));
  return citations.some((c) => cited.has(c.n) && fromExpectedSource(c, expected, collectionOf)) ? 1 : 0;
}

/** 1 when the expected source was among the passages given to the model (retrieval, not the model's citing). */
export function sourceRetrieved(citations: readonly StoredCitation[], expected: ExpectedSource | null, collectionOf: (documentId: string) => { id: string; name: string } | null): number | null {
  if (!expected) return null;
  return citations.some((c) => fromExpectedSource(c, expected, collectionOf)) ? 1 : 0;
}

// --- refusals --------------------------------------------------------------------------------

const REFUSAL_PATTERNS = [
  /\bi (?:do not|don't|cannot|can't|can ?not|am not able to|am unable to|'m not able to|'m unable to) (?:know|answer|help|say|tell|find|provide|assist)\b/i,
  /\b(?:outside|beyond|not within) (?:my|the|this) (?:domain|scope|area|expertise)\b/i,
  /\bi (?:do not|don't) have (?:any )?(?:information|details|data) (?:on|about)\b/i,
  /\bi(?: am|'m) (?:not sure|sorry, but i)\b/i,
  /\bnot (?:something|a (?:question|topic)) (?:i|that i) can (?:answer|help)/i,
];

/** Whether an answer declines: it gives the assistant's out-of-scope reply, or says it cannot answer. */
export function isRefusal(answer: string, outOfScopeReply: string | null): boolean {
  const reply = outOfScopeReply?.trim();
  if (reply) {
    const norm = normalizeText(reply);
    if (norm && ` ${normalizeText(answer)} `.includes(` ${norm} `)) return true;
    if (tokenF1(answer, reply) >= 0.6) return true;
  }
  return REFUSAL_PATTERNS.some((p) => p.test(answer.replace(/’/g, "'")));
}

/** 1 when the answer refuses exactly when the row says it should (out of scope) and answers otherwise. */
export function refusalCorrect(answer: string, shouldRefuse: boolean, outOfScopeReply: string | null): number {
  return isRefusal(answer, outOfScopeReply) === shouldRefuse ? 1 : 0;
}
