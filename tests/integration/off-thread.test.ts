import { describe, expect, it } from "vitest";

/*
 * Heavy parsing runs in the parse worker: while a large upload is parsed, the event loop keeps
 * turning (a timer that should fire every 10 ms is never late by 250 ms or more), and the result
 * is the same as parsing in place.
 */

/** Runs `work` while a 10 ms timer measures how late the event loop lets it fire; returns the worst delay. */
async function worstLag<T>(work: () => Promise<T>): Promise<{ result: T; lagMs: number }> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 10);
    last = now;
  }, 10);
  try {
    const result = await work();
    // The gap up to now counts too: a block at the very end fires no timer before this line.
    worst = Math.max(worst, performance.now() - last - 10);
    return { result, lagMs: worst };
  } finally {
    clearInterval(timer);
  }
}

describe("parsing off the main thread", () => {
  it("a 6 MB JSONL training file: records as in place, the event loop never blocked for 250 ms", async () => {
    const { parseTrainingFile, parseTrainingFileHere } = await import("@/server/forge/data/records");
    const lines = Array.from({ length: 60_000 }, (_, i) => JSON.stringify({ messages: [{ role: "user", content: `question ${i} ${"x".repeat(i % 50)}` }, { role: "assistant", content: `answer ${i}` }] }));
    const bytes = new TextEncoder().encode(lines.join("\n"));
    expect(bytes.length).toBeGreaterThan(5 * 1024 * 1024);
    const file = { name: "big.jsonl", bytes, mime: null };
    // Warm the worker first (its start-up compiles the parsers; that, too, happens off-thread).
    await parseTrainingFile({ name: "warm.pdf", bytes: new Uint8Array(8), mime: null }, 1024).catch(() => undefined);
    const off = await worstLag(() => parseTrainingFile(file, 64 * 1024 * 1024));
    expect(off.result.records).toHaveLength(60_000);
    expect(off.lagMs).toBeLessThan(250);
    const here = await parseTrainingFileHere(file, 64 * 1024 * 1024);
    expect(off.result.records.at(-1)).toEqual(here.records.at(-1));
  });

  it("a large Markdown document for the knowledge base", async () => {
    const { parseDocument } = await import("@/server/documents");
    const text = Array.from({ length: 4000 }, (_, i) => `## Section ${i}\n\n${"Moorings are checked every April. ".repeat(60)}`).join("\n\n");
    const bytes = new TextEncoder().encode(`# Handbook\n\n${text}`);
    const { result, lagMs } = await worstLag(() => parseDocument({ fileName: "handbook.md", bytes }));
    expect(result.outline).toHaveLength(4001);
    expect(lagMs).toBeLessThan(250);
  });

  it("parse errors keep their file, line and reason across the thread boundary", async () => {
    const { parseTrainingFile } = await import("@/server/forge/data/records");
    const lines = Array.from({ length: 30_000 }, (_, i) => JSON.stringify({ question: `q${i}`, answer: "a" }));
    lines[20_000] = "{ not json";
    const err = await parseTrainingFile({ name: "broken.jsonl", bytes: new TextEncoder().encode(lines.join("\n")), mime: null }, 64 * 1024 * 1024).then(
      () => null,
      (e: { name: string; fileName: string; line: number; reason: string; message: string }) => e,
    );
    expect(err).toMatchObject({ name: "DocumentParseError", fileName: "broken.jsonl", line: 20_001, reason: "invalid-json" });
    expect(err!.message).toMatch(/^"broken\.jsonl" line 20001: /);
  });
});
