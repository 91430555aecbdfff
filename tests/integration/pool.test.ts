import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServingContext } from "@/server/llm/pool";
import { freshApp } from "../helpers/app";
import { starterModelPath } from "../helpers/model";

let serving: ServingContext;

beforeAll(async () => {
  await freshApp({ ATELIER_ENGINE: "node-llama-cpp", ATELIER_SEQUENCES: "4" });
  const { ModelPool } = await import("@/server/llm/pool");
  serving = await ModelPool.instance().nodeLlamaCppServing({ id: "pool-test", label: "starter", modelPath: starterModelPath() });
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe("ServingContext sequence leasing", () => {
  it("leases the lowest free sequence id so concurrent decodes stay one micro-batch", async () => {
    const a = await serving.acquire(undefined, "a");
    const b = await serving.acquire(undefined, "b");
    const c = await serving.acquire(undefined, "c");
    expect([a, b, c].map((s) => serving.sequenceIndex(s))).toEqual([0, 1, 2]);
    serving.release(b, "b");
    const d = await serving.acquire(undefined, "d");
    expect(serving.sequenceIndex(d)).toBe(1);
    for (const [s, k] of [[a, "a"], [c, "c"], [d, "d"]] as const) serving.release(s, k);
    expect(serving.activeSequences).toBe(0);
  });

  it("gives a conversation its own cached sequence back when nothing else runs", async () => {
    const x = await serving.acquire(undefined, "x");
    const y = await serving.acquire(undefined, "y");
    serving.release(x, "x");
    serving.release(y, "y");
    const again = await serving.acquire(undefined, "y");
    expect(serving.sequenceIndex(again)).toBe(serving.sequenceIndex(y));
    serving.release(again, "y");
  });

  it("queues callers when every sequence is busy and honours their abort signal", async () => {
    const held = await Promise.all([0, 1, 2, 3].map(() => serving.acquire()));
    const controller = new AbortController();
    const aborted = serving.acquire(controller.signal);
    const waiting = serving.acquire();
    controller.abort();
    await expect(aborted).rejects.toBeDefined();
    serving.release(held[2]!);
    const got = await waiting;
    expect(serving.sequenceIndex(got)).toBe(2);
    for (const s of [held[0]!, held[1]!, held[3]!, got]) serving.release(s);
    expect(serving.activeSequences).toBe(0);
  });
});
