import { describe, expect, it } from "vitest";
import { AsyncQueue } from "@/server/llm/async-queue";

describe("AsyncQueue", () => {
  it("delivers items pushed before and after the consumer waits, in order", async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    const got: number[] = [];
    const consumer = (async () => {
      for await (const n of q) got.push(n);
    })();
    await new Promise((r) => setTimeout(r, 5));
    q.push(2);
    q.push(3);
    q.close();
    await consumer;
    expect(got).toEqual([1, 2, 3]);
  });

  it("rethrows a producer failure after the items already queued", async () => {
    const q = new AsyncQueue<string>();
    q.push("a");
    q.fail(new Error("boom"));
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const s of q) got.push(s);
      })(),
    ).rejects.toThrow("boom");
    expect(got).toEqual(["a"]);
  });
});
