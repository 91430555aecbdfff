import "server-only";
import type { AtelierDb } from "../db/client";
import { getDocumentText, listChunks, listDocuments } from "../knowledge";
import { normalizeText, sentencesOf } from "./normalize";
import type { ExpectedSource, RowProvenance } from "./schema";

/*
 * Candidate rows from a knowledge collection's own structure, no model needed:
 *  - FAQ pairs: a line that asks a question ("Q: …?", "How do I …?", a heading ending in "?")
 *    and the text that answers it;
 *  - headings: each section's heading phrased as a question, its first paragraphs the reference;
 *  - definitions: a paragraph that opens "X is a …" / "X means …" becomes "What is X?".
 * Each candidate names its document as the expected source and keeps the passage it came from.
 * They are candidates: a reviewer accepts, edits or drops each before it counts.
 */

export type Candidate = {
  question: string;
  reference: string;
  facts: string[];
  expectedSource: ExpectedSource;
  /** the text the candidate was taken from (given to a generator model, shown in review) */
  passage: string;
  provenance: RowProvenance;
};

const REFERENCE_CHARS = 600;
const PASSAGE_CHARS = 1500;
const FAQ_HEADINGS = /^(?:faq|faqs|frequently asked questions|questions(?: and answers)?|q ?& ?a)$/i;
const PRONOUNS = new Set(["it", "this", "that", "there", "these", "those", "he", "she", "they", "we", "you", "i", "here", "what", "which", "who", "one", "each", "all", "some"]);
const STOP_AFTER_NUMBER = new Set(["by", "on", "in", "at", "to", "and", "or", "the", "a", "an", "of", "for", "with", "from", "is", "are", "was", "before", "after", "per"]);

type Doc = { id: string; title: string; content: string; outline: { offset: number; level: number; text: string }[] };
type Section = { heading: string | null; level: number; start: number; body: string };

function sectionsOf(doc: Doc): Section[] {
  const out: Section[] = [];
  const heads = [...doc.outline].sort((a, b) => a.offset - b.offset);
  const firstAt = heads[0]?.offset ?? doc.content.length;
  if (firstAt > 0) out.push({ heading: null, level: 0, start: 0, body: doc.content.slice(0, firstAt).trim() });
  heads.forEach((h, i) => {
    const end = heads[i + 1]?.offset ?? doc.content.length;
    let bodyStart = h.offset;
    if (doc.content.startsWith(h.text, h.offset)) bodyStart += h.text.length;
    out.push({ heading: h.text.trim(), level: h.level, start: bodyStart, body: doc.content.slice(bodyStart, end).trim() });
  });
  return out.filter((s) => s.heading || s.body);
}

const paragraphsOf = (text: string) => text.split(/\n{2,}/).map((p) => p.trim()).filter(Boolean);

function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const sentences = sentencesOf(text);
  let out = "";
  for (const s of sentences) {
    if (out && out.length + 1 + s.length > max) break;
    out = out ? `${out} ${s}` : s;
  }
  return out.length > 0 && out.length <= max ? out : `${text.slice(0, max - 1).trimEnd()}…`;
}

/** Numbers (with their unit word) and quoted terms of a reference: the facts a correct answer should repeat. */
export function factsFrom(reference: string): string[] {
  const out: string[] = [];
  for (const m of reference.matchAll(/(?<![\w.])(\d+(?:[.,:]\d+)*)(?:\s+([A-Za-z%]+))?/g)) {
    const unit = m[2];
    out.push(unit && !STOP_AFTER_NUMBER.has(unit.toLowerCase()) ? `${m[1]} ${unit}` : m[1]!);
  }
  for (const m of reference.matchAll(/["“]([^"”\n]{2,60})["”]/g)) out.push(m[1]!.trim());
  const seen = new Set<string>();
  return out.filter((f) => {
    const k = normalizeText(f);
    if (!k || seen.has(k)) return false;
    seen.add(k);
    return true;
  }).slice(0, 3);
}

const lowerFirst = (s: string) => (/^[A-Z][a-z]/.test(s) && !/^[A-Z][a-z]+[A-Z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s);

/** A heading phrased as a question: "How to rent a berth" → "How do I rent a berth?", "Tides" → "What should I know about tides?" */
export function headingQuestion(heading: string): string {
  const h = heading.trim().replace(/[.:]+$/, "");
  if (h.endsWith("?")) return h;
  const howTo = /^how to\s+(.+)$/i.exec(h);
  if (howTo) return `How do I ${howTo[1]}?`;
  if (/^(what|why|when|where|who|which|how|can|do|does|is|are|should|will)\b/i.test(h)) return `${h}?`;
  if (/^[A-Za-z]+ing\b/.test(h)) return `How does ${lowerFirst(h)} work?`;
  return `What should I know about ${lowerFirst(h)}?`;
}

const QUESTION_LINE = /^(?:[-*•]\s*|\d+[.)]\s*)?(?:q(?:uestion)?\s*[:.)-]\s*)?(.{6,300}\?)\s*$/i;
const ANSWER_PREFIX = /^(?:a(?:nswer)?\s*[:.)-]\s*)/i;

/** FAQ pairs inside a section body: a question line and the lines (or paragraph) after it. */
function faqPairs(body: string): { question: string; answer: string; at: number }[] {
  const out: { question: string; answer: string; at: number }[] = [];
  const lines = body.split("\n");
  let offset = 0;
  const starts = lines.map((l) => {
    const s = offset;
    offset += l.length + 1;
    return s;
  });
  for (let i = 0; i < lines.length; i++) {
    const q = QUESTION_LINE.exec(lines[i]!.trim());
    if (!q) continue;
    const answer: string[] = [];
    let j = i + 1;
    while (j < lines.length && lines[j]!.trim() === "") j++; // the answer may follow a blank line
    for (; j < lines.length; j++) {
      const t = lines[j]!.trim();
      if (!t) {
        if (answer.length) break;
        continue;
      }
      if (QUESTION_LINE.test(t)) break;
      answer.push(t.replace(ANSWER_PREFIX, ""));
    }
    const a = answer.join(" ").trim();
    if (a.length >= 10) out.push({ question: q[1]!.trim(), answer: a, at: starts[i]! });
  }
  return out;
}

const DEFINITION = /^((?:an?|the)\s+)?([A-Za-z][\w'’-]*(?:\s+[\w'’-]+){0,4}?)\s+(is|are|means|refers to)\s+\w/i;

/** Whether `term` is written with a capital inside sentences too (a name such as "Atelier", not "Perplexity"). */
function isProperName(term: string, context: string): boolean {
  const esc = term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`[a-z,;:(] ${esc}\\b`).test(context);
}

/** "A berth is a place …" → What is a berth? (first sentence of a paragraph only; pronoun subjects are not terms) */
export function definitionQuestion(sentence: string, context = ""): string | null {
  if (sentence.length < 25 || sentence.length > 300 || sentence.endsWith("?")) return null;
  const m = DEFINITION.exec(sentence);
  if (!m) return null;
  const article = m[1]?.trim().toLowerCase();
  const term = m[2]!.trim();
  const first = term.split(/\s+/)[0]!.toLowerCase();
  if (PRONOUNS.has(first)) return null;
  if (/^(not|also|only|very)$/i.test(term.split(/\s+/).at(-1)!)) return null;
  const verb = m[3]!.toLowerCase();
  const t = `${article ? `${article} ` : ""}${article || isProperName(term, context) || /^[A-Z0-9]{2,}\b/.test(term) ? term : lowerFirst(term)}`;
  return verb === "means" || verb === "refers to" ? `What does ${t} mean?` : `What ${verb} ${t}?`;
}

function chunkAt(chunks: { id: number; startOffset: number; endOffset: number }[], offset: number): number | undefined {
  return chunks.find((c) => offset >= c.startOffset && offset < c.endOffset)?.id;
}

/** Candidates from every ready document of a collection, up to `limit`, FAQ pairs first (they are the best questions). */
export function extractCandidates(db: AtelierDb, collectionId: string, limit: number): Candidate[] {
  const docs: Doc[] = listDocuments(db, collectionId)
    .filter((d) => d.status === "ready")
    .sort((x, y) => x.createdAt - y.createdAt)
    .map((d) => {
      const { text, outline } = getDocumentText(db, d.id);
      return { id: d.id, title: d.title, content: text, outline };
    });
  const faq: Candidate[] = [];
  const headings: Candidate[] = [];
  const definitions: Candidate[] = [];
  for (const doc of docs) {
    const chunks = listChunks(db, doc.id);
    const source: ExpectedSource = { kind: "document", id: doc.id, title: doc.title };
    const make = (rule: string, question: string, reference: string, passage: string, at: number): Candidate => ({
      question,
      reference,
      facts: factsFrom(reference),
      expectedSource: source,
      passage: clip(passage, PASSAGE_CHARS),
      provenance: { documentId: doc.id, chunkId: chunkAt(chunks, at), rule },
    });
    for (const s of sectionsOf(doc)) {
      const pairs = faqPairs(s.body);
      for (const p of pairs) faq.push(make("faq", p.question, clip(p.answer, REFERENCE_CHARS), `${p.question}\n${p.answer}`, s.start + p.at));
      const paras = paragraphsOf(s.body);
      if (s.heading && s.heading.endsWith("?") && paras.length) {
        faq.push(make("faq", s.heading, clip(paras[0]!, REFERENCE_CHARS), `${s.heading}\n${s.body}`, s.start));
      } else if (s.heading && pairs.length === 0 && !FAQ_HEADINGS.test(s.heading) && !(s.level === 1 && normalizeText(s.heading) === normalizeText(doc.title))) {
        const reference = clip(paras.join(" "), REFERENCE_CHARS);
        if (reference.length >= 40) headings.push(make("heading", headingQuestion(s.heading), reference, `${s.heading}\n${s.body}`, s.start));
      }
      let at = 0;
      for (const p of paras) {
        const first = sentencesOf(p)[0];
        const q = first && pairs.length === 0 ? definitionQuestion(first, doc.content) : null;
        if (q) definitions.push(make("definition", q, first!, p, s.start + Math.max(0, s.body.indexOf(p, at))));
        at += p.length;
      }
    }
  }
  const seen = new Set<string>();
  const out: Candidate[] = [];
  // interleave the rules so a small limit still gets some of each
  const lists = [faq, headings, definitions];
  for (let i = 0; out.length < limit && lists.some((l) => i < l.length); i++) {
    for (const l of lists) {
      const c = l[i];
      if (!c || out.length >= limit) continue;
      const key = normalizeText(c.question);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(c);
    }
  }
  return out;
}
