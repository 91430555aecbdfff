import { eq } from "drizzle-orm";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { auditLog } from "@/server/db/auth-tables";
import { freshApp, signedInSession } from "../helpers/app";
import { http } from "./auth-http";

/*
 * Sign-in throttling under concurrency, through the real tRPC route handler with the client
 * address the server stamps (a different address per simulated client). The budgets
 * (server/auth/throttle.ts) are written here by hand: 5 free failures per account × address,
 * 10 per account from addresses it never signed in from, 20 per address.
 */

let app: Awaited<ReturnType<typeof freshApp>>;
const PASSWORD = "correct horse battery";

beforeAll(async () => {
  app = await freshApp();
});

beforeEach(async () => {
  const { resetLoginThrottlesForTests } = await import("@/server/auth/throttle");
  resetLoginThrottlesForTests();
});

async function victim(): Promise<string> {
  const s = await signedInSession(app.db, "editor", `victim-${Math.random().toString(36).slice(2, 8)}@example.test`);
  return s.user.email;
}

afterEach(() => {
  vi.useRealTimers();
});

const login = (email: string, password: string, ip: string) => http("auth.login", { input: { email, password }, ip });

describe("sign-in throttling", () => {
  it("30 guesses at once for one account from one address: at most 5 are evaluated, and the right password in the burst does not sign in", async () => {
    const email = await victim();
    const burst = await Promise.all([
      ...Array.from({ length: 29 }, (_, i) => login(email, `wrong guess ${i}`, "198.51.100.1")),
      login(email, PASSWORD, "198.51.100.1"),
    ]);
    const statuses = burst.map((r) => r.status);
    const evaluated = statuses.filter((s) => s === 401 || s === 200).length;
    expect(evaluated).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30 - evaluated);
    expect(statuses.at(-1)).toBe(429);
    expect(burst.at(-1)!.setCookies).toEqual([]);
  });

  it("per address first: one address is slowed on the account, the owner elsewhere still signs in", async () => {
    const email = await victim();
    const five = await Promise.all(Array.from({ length: 5 }, (_, i) => login(email, `wrong ${i}`, "198.51.100.2")));
    expect(five.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    const again = await login(email, PASSWORD, "198.51.100.2");
    expect(again.status).toBe(429);
    // Backoff, not a long lock: the first wait is about a second.
    expect(again.json.error?.message).toMatch(/^Too many failed sign-ins; try again in [12] s\.$/);
    expect((await login(email, PASSWORD, "203.0.113.50")).status).toBe(200);
  });

  it("guesses spread over many addresses lock the account, except where its owner signed in before; an admin unlocks it", async () => {
    // The clock stands still, so the one-second backoff cannot pass while the test runs.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const email = await victim();
    expect((await login(email, PASSWORD, "203.0.113.60")).status).toBe(200);
    // Ten addresses, one wrong guess each: the account's own budget is used up.
    const ten = await Promise.all(Array.from({ length: 10 }, (_, i) => login(email, `wrong ${i}`, `192.0.2.${100 + i}`)));
    expect(ten.map((r) => r.status)).toEqual(Array(10).fill(401));
    expect((await login(email, PASSWORD, "192.0.2.200")).status).toBe(429);
    // The owner's own address is not locked out by strangers' guesses.
    expect((await login(email, PASSWORD, "203.0.113.60")).status).toBe(200);

    const admin = await app.callerAs("admin");
    const [locked] = (await admin.users.list()).filter((u) => u.email === email);
    expect(locked!.signInLocked).toBe(true);
    expect(locked!.lockedForS).toBeGreaterThan(0);
    const unlocked = await admin.users.unlock({ id: locked!.id });
    expect(unlocked).toMatchObject({ signInLocked: false, lockedForS: 0 });
    expect((await login(email, PASSWORD, "192.0.2.201")).status).toBe(200);
    expect(app.db.select().from(auditLog).where(eq(auditLog.action, "user.unlock")).all().map((r) => r.entityId)).toContain(locked!.id);
  });

  it("unlock is admin-only", async () => {
    const email = await victim();
    const editor = await app.callerAs("editor");
    const id = (await (await app.callerAs("admin")).users.list()).find((u) => u.email === email)!.id;
    await expect(editor.users.unlock({ id })).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("an address spraying many accounts is stopped after 20 failures, whatever the account", async () => {
    const ip = "198.51.100.99";
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => login(`nobody${i}@example.test`, "a wrong guess", ip)));
    const evaluated = results.filter((r) => r.status === 401).length;
    expect(evaluated).toBe(20);
    expect(results.filter((r) => r.status === 429)).toHaveLength(10);
  });
});
