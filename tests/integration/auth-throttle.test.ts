import { describe, expect, it } from "vitest";
import { LoginThrottle } from "@/server/auth/throttle";

describe("login throttle", () => {
  const opts = { freeFailures: 3, baseLockMs: 1000, maxLockMs: 8000, forgetAfterMs: 60_000 };

  it("locks after the free failures with doubling waits up to the cap", () => {
    let now = 0;
    const t = new LoginThrottle(opts, () => now);
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      t.fail(["email:a"]);
      waits.push(t.lockedFor(["email:a"]));
    }
    expect(waits).toEqual([0, 0, 1000, 2000, 4000, 8000, 8000]);
    expect(t.lockedFor(["email:b"])).toBe(0);
    now += 8000;
    expect(t.lockedFor(["email:a"])).toBe(0);
  });

  it("forgets a quiet key, and success clears it", () => {
    let now = 0;
    const t = new LoginThrottle(opts, () => now);
    for (let i = 0; i < 2; i++) t.fail(["k"]);
    now += 61_000;
    t.fail(["k"]);
    expect(t.lockedFor(["k"])).toBe(0); // counting started over
    for (let i = 0; i < 2; i++) t.fail(["k"]);
    expect(t.lockedFor(["k"])).toBe(1000);
    t.succeed("k");
    expect(t.lockedFor(["k"])).toBe(0);
  });
});
