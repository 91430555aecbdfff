import "server-only";
import { isIPv6 } from "node:net";
import { splitHeldOut } from "../forge";
import { recordText } from "./ingest";
import type { CleaningEffect, CleaningOptions, StudioRecord } from "./types";

/*
 * Dataset cleaning, applied the same way by the preview (to show its effect) and by a run (to
 * build the training files): PII scrubbing → length filters → exact duplicates → near duplicates
 * (MinHash over word 3-gram shingles, LSH banding, estimated Jaccard ≥ NEAR_DUP_JACCARD) → a
 * deterministic held-out split by hash of the normalised text (the same record always lands on
 * the same side, whatever else is in the dataset).
 */

export const NEAR_DUP_JACCARD = 0.75;
export const SPLIT_SEED = "atelier-studio";

// ---------------------------------------------------------------------------------------------
// PII
// ---------------------------------------------------------------------------------------------

export type PiiCounts = CleaningEffect["pii"];
export const PII_PLACEHOLDERS = { email: "[EMAIL]", phone: "[PHONE]", card: "[CARD]", ip: "[IP]" } as const;

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const CARD = /(?<![\d\w])\d(?:[ -]?\d){12,18}(?![\d\w])/g;
const IPV4 = /(?<![\d.\w])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d\w]|\.\d)/g;
const IPV6_CANDIDATE = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|(?:\d{1,3}\.){3}\d{1,3})(?![\w:])/g;
const PHONE = /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,4}){1,5}(?![\w])/g;
const ISO_DATE = /^\d{4}[-.]\d{2}[-.]\d{2}$/;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Replaces e-mails, Luhn-valid card numbers, IPv4/IPv6 addresses and phone numbers with placeholders. */
export function scrubPii(text: string, counts: PiiCounts): string {
  let out = text.replace(EMAIL, () => (counts.email++, PII_PLACEHOLDERS.email));
  out = out.replace(CARD, (m) => {
    const digits = m.replace(/\D/g, "");
    return digits.length >= 13 && digits.length <= 19 && luhnValid(digits) ? (counts.card++, PII_PLACEHOLDERS.card) : m;
  });
  out = out.replace(IPV4, () => (counts.ip++, PII_PLACEHOLDERS.ip));
  out = out.replace(IPV6_CANDIDATE, (m) => (m.includes("::") || m.split(":").length === 8) && isIPv6(m) ? (counts.ip++, PII_PLACEHOLDERS.ip) : m);
  out = out.replace(PHONE, (m) => {
    const digits = m.replace(/\D/g, "").length;
    // 8-15 digits (E.164 allows 15); dates and plain decimals are not phone numbers
    if (digits < 8 || digits > 15 || ISO_DATE.test(m.trim())) return m;
    return counts.phone++, PII_PLACEHOLDERS.phone;
  });
  return out;
}

function scrubRecord(r: StudioRecord, counts: PiiCounts): StudioRecord {
  if (r.kind === "text") return { kind: "text", text: scrubPii(r.text, counts) };
  return {
    kind: "chat",
    ...(r.system ? { system: scrubPii(r.system, counts) } : {}),
    messages: r.messages.map((m) => ({ role: m.role, content: scrubPii(m.content, counts) })),
  };
}

// ---------------------------------------------------------------------------------------------
// Duplicates
// ---------------------------------------------------------------------------------------------

export const normalise = (s: string) => s.toLowerCase().replace(/\s+/g, " ").trim();

const NUM_HASHES = 128;
const BANDS = 32;
const ROWS = NUM_HASHES / BANDS;
const SEEDS = Array.from({ length: NUM_HASHES }, (_, i) => mix32(0x9e3779b9 ^ Math.imul(i + 1, 0x85ebca6b)));

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** MinHash signature of the word 3-gram shingles of a normalised text. */
export function minHash(text: string): Uint32Array {
  const words = normalise(text).replace(/[^\p{L}\p{N}\s]/gu, " ").split(/\s+/).filter(Boolean);
  const shingles = new Set<number>();
  if (words.length < 3) shingles.add(fnv1a(words.join(" ")));
  for (let i = 0; i + 3 <= words.length; i++) shingles.add(fnv1a(`${words[i]} ${words[i + 1]} ${words[i + 2]}`));
  const sig = new Uint32Array(NUM_HASHES).fill(0xffffffff);
  for (const h of shingles) {
    for (let k = 0; k < NUM_HASHES; k++) {
      const v = mix32(h ^ SEEDS[k]!);
      if (v < sig[k]!) sig[k] = v;
    }
  }
  return sig;
}

export function estimatedJaccard(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let k = 0; k < NUM_HASHES; k++) if (a[k] === b[k]) same++;
  return same / NUM_HASHES;
}

// ---------------------------------------------------------------------------------------------
// Pipeline
// ---------------------------------------------------------------------------------------------

export type CleanResult = {
  before: number;
  kept: StudioRecord[];
  train: StudioRecord[];
  heldOut: StudioRecord[];
  effect: CleaningEffect;
  /** what cleaning did to some records, for display (changed first) */
  samples: { before: string; after: string }[];
};

const REMOVED = { exact: "(removed: exact duplicate)", near: "(removed: near duplicate)", short: "(removed: too short)", long: "(removed: too long)" };

export function cleanRecords(records: readonly StudioRecord[], opts: CleaningOptions): CleanResult {
  const effect: CleaningEffect = { exactDuplicates: 0, nearDuplicates: 0, tooShort: 0, tooLong: 0, pii: { email: 0, phone: 0, card: 0, ip: 0 } };
  const changed: { before: string; after: string }[] = [];
  const note = (before: StudioRecord, after: string) => {
    if (changed.length < 50) changed.push({ before: recordText(before), after });
  };
  const kept: StudioRecord[] = [];
  const untouched: { before: string; after: string }[] = [];
  const seen = new Set<string>();
  const buckets = new Map<string, number[]>();
  const signatures: Uint32Array[] = [];
  for (const original of records) {
    const r = opts.scrubPii ? scrubRecord(original, effect.pii) : original;
    const text = recordText(r);
    if (text.length < opts.minChars) {
      effect.tooShort++;
      note(original, REMOVED.short);
      continue;
    }
    if (text.length > opts.maxChars) {
      effect.tooLong++;
      note(original, REMOVED.long);
      continue;
    }
    const key = normalise(text);
    if (opts.dedupe && seen.has(key)) {
      effect.exactDuplicates++;
      note(original, REMOVED.exact);
      continue;
    }
    if (opts.nearDedupe) {
      const sig = minHash(text);
      const candidates = new Set<number>();
      const bandKeys: string[] = [];
      for (let b = 0; b < BANDS; b++) {
        const bk = `${b}:${Array.from(sig.subarray(b * ROWS, (b + 1) * ROWS)).join(",")}`;
        bandKeys.push(bk);
        for (const j of buckets.get(bk) ?? []) candidates.add(j);
      }
      // an exact duplicate is also a near duplicate; with exact dedupe off it must survive here
      const isNear = [...candidates].some((j) => (opts.dedupe || normalise(recordText(kept[j]!)) !== key) && estimatedJaccard(sig, signatures[j]!) >= NEAR_DUP_JACCARD);
      if (isNear) {
        effect.nearDuplicates++;
        note(original, REMOVED.near);
        continue;
      }
      const index = kept.length;
      signatures[index] = sig;
      for (const bk of bandKeys) {
        const list = buckets.get(bk) ?? [];
        list.push(index);
        buckets.set(bk, list);
      }
    }
    seen.add(key);
    if (recordText(original) !== text) note(original, text);
    else if (untouched.length < 5) untouched.push({ before: text, after: text });
    kept.push(r);
  }
  const split = splitHeldOut(kept, { fraction: opts.heldOutFraction, seed: SPLIT_SEED, key: (r) => normalise(recordText(r)) });
  const samples = [...changed.slice(0, 10), ...untouched].slice(0, Math.max(5, Math.min(changed.length, 10)));
  return { before: records.length, kept, train: split.train, heldOut: split.eval, effect, samples };
}
