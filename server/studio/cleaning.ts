import "server-only";
import { splitHeldOut } from "../forge";
import { recordText } from "./ingest";
import { emptyPiiReport, PII_RULES, scrubPersonalData, type PiiReport, type PiiRule, type PiiRuleSwitches } from "./pii";
import type { CleaningEffect, CleaningOptions, StudioRecord } from "./types";

/*
 * Dataset cleaning, applied the same way by the preview (to show its effect) and by a run (to
 * build the training files): PII scrubbing (per-rule switches, pii.ts) → length filters → exact duplicates → near duplicates
 * (MinHash over word 3-gram shingles, LSH banding, estimated Jaccard ≥ NEAR_DUP_JACCARD) → a
 * deterministic held-out split by hash of the normalised text (the same record always lands on
 * the same side, whatever else is in the dataset).
 */

export const NEAR_DUP_JACCARD = 0.75;
export const SPLIT_SEED = "atelier-studio";

// ---------------------------------------------------------------------------------------------
// PII (the rules are in pii.ts)
// ---------------------------------------------------------------------------------------------

export type PiiCounts = CleaningEffect["pii"];
export { luhnValid, PII_PLACEHOLDERS } from "./pii";

/** The switches in effect: every rule off when scrubbing is off, else each rule's own switch (default on). */
export function piiSwitches(opts: Pick<CleaningOptions, "scrubPii" | "piiRules">): PiiRuleSwitches {
  const on = (rule: PiiRule) => opts.scrubPii && (opts.piiRules?.[rule] ?? true);
  return { email: on("email"), phone: on("phone"), card: on("card"), ip: on("ip") };
}

/** Replaces e-mails, phone numbers, card numbers and IP addresses (every rule on) and counts them. */
export function scrubPii(text: string, counts: PiiCounts, rules: PiiRuleSwitches = { email: true, phone: true, card: true, ip: true }): string {
  const report = emptyPiiReport();
  const out = scrubPersonalData(text, rules, report);
  for (const rule of PII_RULES) if (rules[rule]) counts[rule] += report[rule].found;
  return out;
}

function scrubRecord(r: StudioRecord, rules: PiiRuleSwitches, report: PiiReport): StudioRecord {
  const scrub = (t: string) => scrubPersonalData(t, rules, report);
  if (r.kind === "text") return { kind: "text", text: scrub(r.text) };
  return {
    kind: "chat",
    ...(r.system ? { system: scrub(r.system) } : {}),
    messages: r.messages.map((m) => ({ role: m.role, content: scrub(m.content) })),
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

/**
 * `fileIds[i]` is the file record i came from; with `opts.heldOutFileIds`, the records of those
 * files are the held-out set and the others train (no random split).
 */
export function cleanRecords(records: readonly StudioRecord[], opts: CleaningOptions, fileIds?: readonly string[]): CleanResult {
  const rules = piiSwitches(opts);
  const piiReport = emptyPiiReport();
  const effect: CleaningEffect = { exactDuplicates: 0, nearDuplicates: 0, tooShort: 0, tooLong: 0, pii: { email: 0, phone: 0, card: 0, ip: 0 }, piiReport };
  const changed: { before: string; after: string }[] = [];
  const note = (before: StudioRecord, after: string) => {
    if (changed.length < 50) changed.push({ before: recordText(before), after });
  };
  const kept: StudioRecord[] = [];
  const keptFiles: (string | undefined)[] = [];
  const untouched: { before: string; after: string }[] = [];
  const seen = new Set<string>();
  const buckets = new Map<string, number[]>();
  const signatures: Uint32Array[] = [];
  for (const [index, original] of records.entries()) {
    // Every record goes through the rules, even with scrubbing off: the preview says what each rule would do.
    const r = scrubRecord(original, rules, piiReport);
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
    keptFiles.push(fileIds?.[index]);
  }
  for (const rule of PII_RULES) if (rules[rule]) effect.pii[rule] = piiReport[rule].found;
  const heldOutFiles = new Set(opts.heldOutFileIds ?? []);
  const split =
    heldOutFiles.size > 0
      ? {
          train: kept.filter((_, i) => !heldOutFiles.has(keptFiles[i] ?? "")),
          eval: kept.filter((_, i) => heldOutFiles.has(keptFiles[i] ?? "")),
        }
      : splitHeldOut(kept, { fraction: opts.heldOutFraction, seed: SPLIT_SEED, key: (r) => normalise(recordText(r)) });
  const samples = [...changed.slice(0, 10), ...untouched].slice(0, Math.max(5, Math.min(changed.length, 10)));
  return { before: records.length, kept, train: split.train, heldOut: split.eval, effect, samples };
}
