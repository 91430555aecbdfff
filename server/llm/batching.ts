import "server-only";
import type { BatchItem, LlamaContext, PrioritizedBatchItem } from "node-llama-cpp";

type QueuedDecode = { tokens: readonly number[]; sequenceId: number };

/**
 * How many times in a row a batch may be held back for a generating sequence that has not
 * queued its next token yet. Each hold is one turn of node-llama-cpp's dispatch loop (a few
 * microtasks, no event-loop turn), so this bounds the wait to well under a millisecond.
 */
const MAX_HOLDS = 64;

/**
 * Emits each decode batch in ascending sequence id, and waits for every generating sequence.
 *
 * Order: node-llama-cpp keeps one KV stream per sequence, and llama.cpp then splits a batch into
 * micro-batches that only take sequences whose ids ascend by exactly 1 in batch order. In queue
 * order (whoever sampled first) an 8-sequence step became ~5 graph computes, each streaming the
 * weights again; in id order it is one (c=8: 95 -> 124 tok/s, bench/ENGINE-TUNING.md).
 * Fairness is maximumParallelism's: one token for every waiting sequence, leftovers to prompts.
 *
 * Waiting: node-llama-cpp samples every sequence of a step on the thread pool, then loops to the
 * next decode inside the same lock. The sequence whose sample finished last is still walking
 * through its microtask chain (evaluate's generators) when that loop looks at the queue, so it
 * missed every step's batch and each step took two decodes (c=4: 2.2 tokens per decode). Holding
 * the batch (returning no items: the loop goes round again on microtasks) until every sequence in
 * `generating` has queued makes one decode per step. Holds are bounded by MAX_HOLDS.
 *
 * Reads node-llama-cpp 3.21.1's internal queue (pinned exactly) to learn each item's sequence id;
 * without it the order stays as given and nothing is held, which is only slower.
 */
export function sequenceOrderStrategy(context: () => LlamaContext | undefined, generating?: ReadonlySet<number>) {
  let holds = 0;
  return ({ items, size }: { items: readonly BatchItem[]; size: number }): PrioritizedBatchItem[] => {
    const queued = (context() as unknown as { _queuedDecodes?: QueuedDecode[] } | undefined)?._queuedDecodes;
    const ids = new Map<readonly number[], number>((queued ?? []).map((q) => [q.tokens, q.sequenceId]));
    if (queued && generating && generating.size > 0 && holds < MAX_HOLDS) {
      const waiting = new Set(ids.values());
      for (const id of generating) {
        if (!waiting.has(id)) {
          holds++;
          return [];
        }
      }
    }
    holds = 0;
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

/**
 * Dispatches a decode at once when every generating sequence has queued its token, else on the
 * next event-loop turn (node-llama-cpp's "nextCycle").
 *
 * With "nextCycle" each step waited for a setImmediate after the last token was queued, behind
 * the HTTP work of the token just streamed (tRPC chunk, socket write). Dispatching right away
 * starts the native decode first; that JS work then runs on the other core while ggml computes.
 */
export function generatingDispatchSchedule(context: () => LlamaContext | undefined, generating: ReadonlySet<number>) {
  return (dispatch: () => void): void => {
    const queued = (context() as unknown as { _queuedDecodeSequenceIds?: ReadonlySet<number> } | undefined)?._queuedDecodeSequenceIds;
    if (queued && generating.size > 0 && [...generating].every((id) => queued.has(id))) dispatch();
    else setImmediate(dispatch);
  };
}
