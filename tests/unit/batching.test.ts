import type { BatchItem, LlamaContext, Token } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { generatingDispatchSchedule, sequenceOrderStrategy } from "@/server/llm/batching";

const item = (ids: number[]): BatchItem => ({ tokens: ids as Token[], logits: ids.map(() => undefined), evaluationPriority: 5 });

describe("sequenceOrderStrategy", () => {
  it("orders a batch by sequence id and gives every waiting sequence a token before prompts get more", () => {
    const gen3 = item([7]);
    const prompt0 = item([1, 2, 3, 4, 5, 6]);
    const gen1 = item([9]);
    const fakeContext = { _queuedDecodes: [{ tokens: gen3.tokens, sequenceId: 3 }, { tokens: prompt0.tokens, sequenceId: 0 }, { tokens: gen1.tokens, sequenceId: 1 }] };
    const strategy = sequenceOrderStrategy(() => fakeContext as unknown as LlamaContext);
    const out = strategy({ items: [gen3, prompt0, gen1], size: 5 });
    expect(out.map((o) => o.item)).toEqual([prompt0, gen1, gen3]);
    expect(out.map((o) => o.processAmount)).toEqual([3, 1, 1]);
  });

  it("keeps the given order when the context internals are unavailable", () => {
    const a = item([1]);
    const b = item([2]);
    const out = sequenceOrderStrategy(() => undefined)({ items: [a, b], size: 8 });
    expect(out.map((o) => o.item)).toEqual([a, b]);
  });
});

describe("sequenceOrderStrategy with generating sequences", () => {
  it("holds the batch until every generating sequence has queued its token, then decodes them together", () => {
    const gen0 = item([5]);
    const gen1 = item([6]);
    const queued = [{ tokens: gen0.tokens, sequenceId: 0 }];
    const fakeContext = { _queuedDecodes: queued };
    const strategy = sequenceOrderStrategy(() => fakeContext as unknown as LlamaContext, new Set([0, 1]));
    expect(strategy({ items: [gen0], size: 8 })).toEqual([]);
    queued.push({ tokens: gen1.tokens, sequenceId: 1 });
    expect(strategy({ items: [gen1, gen0], size: 8 }).map((o) => o.item)).toEqual([gen0, gen1]);
  });

  it("stops holding after a bounded number of rounds for a sequence that does not come", () => {
    const gen0 = item([5]);
    const fakeContext = { _queuedDecodes: [{ tokens: gen0.tokens, sequenceId: 0 }] };
    const strategy = sequenceOrderStrategy(() => fakeContext as unknown as LlamaContext, new Set([0, 3]));
    let rounds = 0;
    while (strategy({ items: [gen0], size: 8 }).length === 0) rounds++;
    expect(rounds).toBeGreaterThan(0);
    expect(rounds).toBeLessThanOrEqual(64);
    // the next step holds again (the counter restarts after a batch goes out)
    expect(strategy({ items: [gen0], size: 8 })).toEqual([]);
  });
});

describe("generatingDispatchSchedule", () => {
  it("dispatches at once when every generating sequence has queued, else on the next event-loop turn", async () => {
    const queuedIds = new Set([0]);
    const generating = new Set([0, 1]);
    const schedule = generatingDispatchSchedule(() => ({ _queuedDecodeSequenceIds: queuedIds }) as unknown as LlamaContext, generating);
    let calls = 0;
    schedule(() => calls++);
    expect(calls).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(1);
    queuedIds.add(1);
    schedule(() => calls++);
    expect(calls).toBe(2);
  });
});
