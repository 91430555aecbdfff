import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

// The native generation loop built with ASan+UBSan (server/llm/native/build.mjs --sanitize) runs a
// scenario covering batching, sampling, stop handling, cancel, prefix reuse and shutdown; any
// memory error or undefined behaviour in the addon aborts it (server/llm/native/sanitize.mjs).
describe("native loop under ASan+UBSan", () => {
  it("runs the scenario without a sanitizer report", () => {
    const r = spawnSync(process.execPath, [path.resolve("server/llm/native/sanitize.mjs")], { encoding: "utf8", timeout: 400_000 });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(out).not.toMatch(/ERROR: AddressSanitizer|runtime error:/);
    expect(r.status, out.slice(-4000)).toBe(0);
    expect(out).toContain("sanitize scenario: ok");
  }, 420_000);
});
