import type { BatchItem, LlamaContext, Token } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { lockstepDispatchSchedule, sequenceOrderStrategy, StepBarrier } from "@/server/llm/batching";

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

/** Makes `ids` lockstep members, each having taken one step. */
async function members(barrier: StepBarrier, ids: number[]) {
  await barrier.arrive(ids[0]!); // alone: released at once
  const rest = ids.slice(1).map((id) => barrier.arrive(id)); // new members wait for the others' next tokens
  await Promise.all([...rest, barrier.arrive(ids[0]!)]);
}
const turn = () => new Promise((r) => setImmediate(r));

describe("StepBarrier", () => {
  it("releases a step only when every member has its token; a stopped member is not waited for", async () => {
    const barrier = new StepBarrier();
    await members(barrier, [0, 1]);
    const released: string[] = [];
    const a = barrier.arrive(0).then(() => released.push("0"));
    await turn();
    expect(released).toEqual([]); // waits for 1
    const b = barrier.arrive(1).then(() => released.push("1"));
    await Promise.all([a, b]);
    expect(released.sort()).toEqual(["0", "1"]);
    const c = barrier.arrive(0).then(() => released.push("0 again"));
    await turn();
    expect(released).toHaveLength(2);
    barrier.leave(1); // 1 stopped
    await c;
    expect([...barrier.ids]).toEqual([0]);
  });

  it("lets a waiting member go when it leaves", async () => {
    const barrier = new StepBarrier();
    await members(barrier, [0, 1]);
    const waiting = barrier.arrive(0);
    barrier.leave(0);
    await waiting;
    expect([...barrier.ids]).toEqual([1]);
  });
});

describe("lockstepDispatchSchedule", () => {
  it("dispatches at once when every lockstep sequence has queued, else on the next event-loop turn", async () => {
    const barrier = new StepBarrier();
    await members(barrier, [0, 1]);
    const queuedIds = new Set([0]);
    const schedule = lockstepDispatchSchedule(() => ({ _queuedDecodeSequenceIds: queuedIds }) as unknown as LlamaContext, barrier);
    let calls = 0;
    schedule(() => calls++);
    expect(calls).toBe(0);
    await turn();
    expect(calls).toBe(1);
    queuedIds.add(1);
    schedule(() => calls++);
    expect(calls).toBe(2);
  });
});
