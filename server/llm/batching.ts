import "server-only";
import type { BatchItem, LlamaContext, PrioritizedBatchItem } from "node-llama-cpp";
import { queuedDecodes, queuedDecodeSequenceIds } from "./internals";

/**
 * Emits each decode batch in ascending sequence id.
 *
 * node-llama-cpp keeps one KV stream per sequence, and llama.cpp then splits a batch into
 * micro-batches that only take sequences whose ids ascend by exactly 1 in batch order. In queue
 * order (whoever sampled first) an 8-sequence step became ~5 graph computes, each streaming the
 * weights again; in id order it is one (c=8: 95 -> 124 tok/s, bench/ENGINE-TUNING.md).
 * Fairness is maximumParallelism's: one token for every waiting sequence, leftovers to prompts.
 *
 * Reads node-llama-cpp's internal queue (internals.ts) to learn each item's sequence id;
 * without it the order stays as given, which is only slower.
 */
export function sequenceOrderStrategy(context: () => LlamaContext | undefined) {
  return ({ items, size }: { items: readonly BatchItem[]; size: number }): PrioritizedBatchItem[] => {
    const queued = queuedDecodes(context()) ?? [];
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

/**
 * Keeps the generating sequences of a context in lockstep: a sequence that got its token waits
 * until every other member got theirs, then all continue together.
 *
 * Why: node-llama-cpp samples a step's sequences on the thread pool and, once the samples are in,
 * loops to the next decode inside its context lock with whatever is queued. Sequences continuing
 * one by one meant (1) the one sampled last missed every step's batch — two decodes per step
 * (c=4: 2.2 tokens per decode, c=8: 4.6) — and (2) the queue was rarely empty, so the lock was
 * held for as long as others generated and a conversation starting meanwhile waited in
 * `adaptStateToTokens` (which erases under that lock) for seconds. Released together, the members
 * queue nothing until the loop has ended (the lock is free for a starting conversation), then all
 * queue in one go and `lockstepDispatchSchedule` sends them as one decode — like llama-server's
 * slot loop.
 *
 * A sequence joins with its first token (its prompt is not waited for) and leaves when it stops.
 */
export class StepBarrier {
  private readonly members = new Set<number>();
  private readonly waiting = new Map<number, () => void>();

  /** Native ids of the sequences in lockstep. */
  get ids(): ReadonlySet<number> {
    return this.members;
  }

  /** Called with each token of sequence `id`; resolves when the whole step may continue. */
  arrive(id: number): Promise<void> {
    this.members.add(id);
    return new Promise<void>((resolve) => {
      this.waiting.set(id, resolve);
      this.releaseIfComplete();
    });
  }

  /** Sequence `id` stopped generating: nobody waits for it any more. */
  leave(id: number): void {
    this.members.delete(id);
    const own = this.waiting.get(id);
    this.waiting.delete(id);
    own?.();
    this.releaseIfComplete();
  }

  private releaseIfComplete(): void {
    if (this.waiting.size === 0) return;
    for (const id of this.members) if (!this.waiting.has(id)) return;
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const resolve of all) resolve();
  }
}

/**
 * Dispatches a decode at once when every lockstep sequence has queued its token, else on the next
 * event-loop turn (node-llama-cpp's "nextCycle"). The decode then starts before the HTTP work of
 * the token just streamed, which runs on the other core while ggml computes.
 */
export function lockstepDispatchSchedule(context: () => LlamaContext | undefined, barrier: StepBarrier) {
  return (dispatch: () => void): void => {
    const queued = queuedDecodeSequenceIds(context());
    if (queued && barrier.ids.size > 0 && [...barrier.ids].every((id) => queued.has(id))) dispatch();
    else setImmediate(dispatch);
  };
}
