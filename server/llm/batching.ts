import "server-only";
import type { BatchItem, LlamaContext, PrioritizedBatchItem } from "node-llama-cpp";

type QueuedDecode = { tokens: readonly number[]; sequenceId: number };

/**
 * Emits each decode batch in ascending sequence id.
 *
 * node-llama-cpp keeps one KV stream per sequence, and llama.cpp then splits a batch into
 * micro-batches that only take sequences whose ids ascend by exactly 1 in batch order. In queue
 * order (whoever sampled first) an 8-sequence step became ~5 graph computes, each streaming the
 * weights again; in id order it is one (c=8: 95 -> 124 tok/s, bench/ENGINE-TUNING.md).
 * Fairness is maximumParallelism's: one token for every waiting sequence, leftovers to prompts.
 *
 * Reads node-llama-cpp 3.21.1's internal queue (pinned exactly) to learn each item's sequence id;
 * without it the order stays as given, which is only slower.
 */
export function sequenceOrderStrategy(context: () => LlamaContext | undefined) {
  return ({ items, size }: { items: readonly BatchItem[]; size: number }): PrioritizedBatchItem[] => {
    const queued = (context() as unknown as { _queuedDecodes?: QueuedDecode[] } | undefined)?._queuedDecodes ?? [];
    const ids = new Map<readonly number[], number>(queued.map((q) => [q.tokens, q.sequenceId]));
    const sorted = [...items].sort((a, b) => (ids.get(a.tokens) ?? 0) - (ids.get(b.tokens) ?? 0));
    let left = size;
    const out: PrioritizedBatchItem[] = [];
    for (const item of sorted) {
      if (left <= 0) break;
      out.push({ item, processAmount: 1 });
      left--;
    }
    for (const entry of out) {
      const extra = Math.min(entry.item.tokens.length - entry.processAmount, left);
      entry.processAmount += extra;
      left -= extra;
    }
    return out;
  };
}
