import { createHash } from "node:crypto";
import type { ChatRecord } from "./render";

/* The held-out split: by a hash of each unit, so the same data always splits the same way. */

export function unitHash(seed: string | number, key: string): number {
  const h = createHash("sha256").update(`${seed}\u0000${key}`).digest();
  return h.readUInt32BE(0) / 0x100000000;
}

/** Index of the first value that `better` prefers over all others. */
function argExtreme(values: readonly number[], better: (a: number, b: number) => boolean): number {
  let at = 0;
  for (let i = 1; i < values.length; i++) if (better(values[i]!, values[at]!)) at = i;
  return at;
}

/**
 * Deterministic held-out split: an item goes to eval when hash(seed, key) < fraction.
 * Guarantees at least one train item, and one eval item when fraction > 0 and there are ≥ 2 items.
 */
export function splitHeldOut<T>(items: readonly T[], opts: { fraction: number; seed: string | number; key: (item: T) => string }) {
  const hashes = items.map((it) => unitHash(opts.seed, opts.key(it)));
  let isEval = hashes.map((h) => h < opts.fraction);
  if (opts.fraction > 0 && items.length >= 2) {
    // Loops, not Math.min(...hashes): spreading 150k arguments overflows the stack.
    if (!isEval.some(Boolean)) isEval[argExtreme(hashes, (a, b) => a < b)] = true;
    if (isEval.every(Boolean)) isEval[argExtreme(hashes, (a, b) => a > b)] = false;
  } else if (opts.fraction <= 0) {
    isEval = isEval.map(() => false);
  }
  return {
    train: items.filter((_, i) => !isEval[i]),
    eval: items.filter((_, i) => isEval[i]),
  };
}

export const recordKey = (r: ChatRecord) => r.group ?? JSON.stringify([r.system ?? "", r.messages]);

