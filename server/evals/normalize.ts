import "server-only";
import { createHash } from "node:crypto";

/*
 * Text normalisation shared by the metrics and the leakage fingerprints. SQuAD-style: Unicode
 * NFKC, lower case, punctuation and symbols become spaces, runs of whitespace collapse. Word
 * tokens additionally drop the English articles (a, an, the), as the SQuAD scorer does, so
 * "the harbour gate" and "harbour gate" score as the same answer.
 */

const PUNCTUATION = /[\p{P}\p{S}]+/gu;
const SPACES = /\s+/gu;
const ARTICLES = new Set(["a", "an", "the"]);

/** Lower-cased text without punctuation, single-spaced. */
export function normalizeText(text: string): string {
  return text.normalize("NFKC").toLowerCase().replace(PUNCTUATION, " ").replace(SPACES, " ").trim();
}

/** Word tokens for token-F1 and ROUGE-L (normalised, articles dropped). */
export function wordTokens(text: string): string[] {
  const norm = normalizeText(text);
  if (!norm) return [];
  return norm.split(" ").filter((w) => !ARTICLES.has(w));
}

/** A short stable hash of normalised text (the fingerprint of a question or an answer). */
export function textHash(text: string): string {
  return createHash("sha256").update(normalizeText(text)).digest("hex").slice(0, 32);
}

/** Sentences shorter than this are too common to fingerprint on their own ("Yes, it does."). */
export const FINGERPRINT_MIN_WORDS = 8;

/** Sentence split that keeps abbreviations like "e.g." mostly intact: ends at . ! ? followed by space and a capital or digit. */
export function sentencesOf(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+(?=[\p{Lu}\p{N}"“(])|\n{2,}/u)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The fingerprints of a text: the whole text, plus every sentence of at least
 * FINGERPRINT_MIN_WORDS words (so a reference passage is found inside a training paragraph
 * that quotes one of its sentences). Empty text has none.
 */
export function fingerprintsOf(text: string): string[] {
  if (!normalizeText(text)) return [];
  const out = new Set([textHash(text)]);
  const parts = sentencesOf(text);
  if (parts.length > 1) for (const s of parts) if (normalizeText(s).split(" ").length >= FINGERPRINT_MIN_WORDS) out.add(textHash(s));
  return [...out];
}
