import { createHash } from "node:crypto";
import type { ChatRecord } from "./render";

/* The held-out split: by a hash of each unit, so the same data always splits the same way. */

export function unitHash(seed: string | number, key: string): number {
  const h = createHash("sha256").update(`${seed}\u0000${key}`).digest();
  return h.readUInt32BE(0) / 0x100000000;
}

/**
 * Deterministic held-out split: an item goes to eval when hash(seed, key) < fraction.
 * Guarantees at least one train item, and one eval item when fraction > 0 and there are ≥ 2 items.
 */
export function splitHeldOut<T>(items: readonly T[], opts: { fraction: number; seed: string | number; key: (item: T) => string }) {
  const hashes = items.map((it) => unitHash(opts.seed, opts.key(it)));
  let isEval = hashes.map((h) => h < opts.fraction);
  if (opts.fraction > 0 && items.length >= 2) {
    if (!isEval.some(Boolean)) isEval[hashes.indexOf(Math.min(...hashes))] = true;
    if (isEval.every(Boolean)) isEval[hashes.indexOf(Math.max(...hashes))] = false;
  } else if (opts.fraction <= 0) {
    isEval = isEval.map(() => false);
  }
  return {
    train: items.filter((_, i) => !isEval[i]),
    eval: items.filter((_, i) => isEval[i]),
  };
}

export const recordKey = (r: ChatRecord) => r.group ?? JSON.stringify([r.system ?? "", r.messages]);

