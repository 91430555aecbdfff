import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { auditLog, sessions, users } from "@/server/db/auth-tables";
import { assistants, conversations } from "@/server/db/schema";
import { freshApp } from "../helpers/app";
import { cookieHeader, cookieValue, http } from "./auth-http";

// Sign-in, setup, sign-out and session expiry through the real route handler, as a browser does.
let app: Awaited<ReturnType<typeof freshApp>>;
const ADMIN = { email: "Owner@Example.test", name: "Owner", password: "a long enough secret" };

const sessionCount = () => app.db.select().from(sessions).all().length;

beforeAll(async () => {
  app = await freshApp();
  // freshApp signs an admin in; this file starts from an empty install instead.
  app.db.delete(users).run();
  const { resetLoginThrottlesForTests } = await import("@/server/auth/throttle");
  resetLoginThrottlesForTests();
});

describe("first start", () => {
  it("reports that setup is needed while no user exists", async () => {
    const res = await http("auth.session", { method: "GET" });
    expect(res.json.result?.data).toEqual({ needsSetup: true, user: null });
  });

  it("refuses bad setup input with clear messages and creates nobody", async () => {
    const mismatch = await http("auth.setup", { input: { ...ADMIN, confirm: "something else entirely" } });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.error?.data.zodError).toEqual(["confirm: The two passwords differ."]);
    const short = await http("auth.setup", { input: { ...ADMIN, password: "short", confirm: "short" } });
    expect(short.json.error?.data.zodError).toContain("password: The password needs at least 10 characters.");
    const email = await http("auth.setup", { input: { ...ADMIN, email: "not an email", confirm: ADMIN.password } });
    expect(email.json.error?.data.zodError).toEqual(["email: Enter a valid email address."]);
    const garbage = await http("auth.setup", { body: "{not json" });
    expect(garbage.status).toBe(400);
    expect(app.db.select().from(users).all()).toHaveLength(0);
    expect(mismatch.setCookies).toEqual([]);
  });

  it("creates the admin, signs them in with the two cookies, then is gone", async () => {
    // A conversation from before accounts existed becomes the first admin's.
    const [assistant] = app.db.select().from(assistants).all();
    const orphan = app.db.insert(conversations).values({ id: "pre-accounts", assistantId: assistant!.id, title: "old" }).returning().get();
    const res = await http("auth.setup", { input: { ...ADMIN, confirm: ADMIN.password } });
    expect(res.status).toBe(200);
    expect(res.json.result?.data).toMatchObject({ user: { email: "owner@example.test", name: "Owner", role: "admin" } });
    const [session, csrf] = res.setCookies;
    expect(session).toMatch(/^atelier_session=[^;]+; Path=\/; Max-Age=604800; SameSite=Lax; HttpOnly$/);
    expect(csrf).toMatch(/^atelier_csrf=[^;]+; Path=\/; Max-Age=604800; SameSite=Lax$/);
    const me = await http("auth.session", { method: "GET", cookie: cookieHeader(res.setCookies) });
    expect(me.json.result?.data).toMatchObject({ needsSetup: false, user: { email: "owner@example.test", role: "admin" } });
    const audit = app.db.select().from(auditLog).where(eq(auditLog.action, "user.create")).all();
    expect(audit).toHaveLength(1);
    const admin = app.db.select().from(users).get()!;
    expect(app.db.select().from(conversations).where(eq(conversations.id, orphan.id)).get()?.userId).toBe(admin.id);

    const again = await http("auth.setup", { input: { ...ADMIN, email: "second@example.test", confirm: ADMIN.password } });
    expect(again.status).toBe(409);
    expect(again.json.error?.message).toBe("Atelier is already set up; sign in instead.");
    expect(app.db.select().from(users).all()).toHaveLength(1);
  });
});

describe("sign-in", () => {
  it("says only that the email or password is wrong, slowly, and changes nothing", async () => {
    const before = sessionCount();
    for (const input of [
      { email: ADMIN.email, password: "wrong password!" },
      { email: "nobody@example.test", password: ADMIN.password },
    ]) {
      const t0 = performance.now();
      const res = await http("auth.login", { input, ip: "198.51.100.1" });
      expect(performance.now() - t0).toBeGreaterThanOrEqual(390);
      expect(res.status).toBe(401);
      expect(res.json.error?.message).toBe("The email or password is wrong.");
      expect(res.setCookies).toEqual([]);
    }
    expect(sessionCount()).toBe(before);
  });

  it("rejects malformed input with a clear message", async () => {
    const res = await http("auth.login", { input: { email: "", password: "" } });
    expect(res.status).toBe(400);
    expect(res.json.error?.data.zodError).toEqual(["email: Enter your email.", "password: Enter your password."]);
  });

  it("signs in (email in any case), marks cookies Secure over https, and the session works", async () => {
    const res = await http("auth.login", { input: { email: "  OWNER@example.test ", password: ADMIN.password }, origin: "https://atelier.example" });
    expect(res.status).toBe(200);
    expect(res.setCookies).toHaveLength(2);
    for (const c of res.setCookies) expect(c).toMatch(/; Secure$/);
    const cookie = cookieHeader(res.setCookies);
    const csrf = cookieValue(res.setCookies, "atelier_csrf")!;
    const list = await http("conversations.list", { method: "GET", cookie });
    expect(list.status).toBe(200);
    const [assistant] = (await http("assistants.list", { method: "GET", cookie })).json.result?.data as { id: string }[];
    const created = await http("conversations.create", { cookie, csrf, input: { assistantId: assistant!.id } });
    expect(created.status).toBe(200);
  });

  it("refuses a forged or missing CSRF token with 403 and a clear message", async () => {
    const login = await http("auth.login", { input: { email: ADMIN.email, password: ADMIN.password } });
    const cookie = cookieHeader(login.setCookies);
    const [assistant] = (await http("assistants.list", { method: "GET", cookie })).json.result?.data as { id: string }[];
    const count = () => app.db.query.conversations.findMany().sync().length;
    const before = count();
    for (const csrf of ["forged", undefined]) {
      const res = await http("conversations.create", { cookie, csrf, input: { assistantId: assistant!.id } });
      expect(res.status).toBe(403);
      expect(res.json.error?.message).toBe("Missing or invalid CSRF token; reload the page and try again.");
    }
    expect(count()).toBe(before);
  });
});

describe("sessions end", () => {
  it("sign-out deletes the session row and clears both cookies", async () => {
    const login = await http("auth.login", { input: { email: ADMIN.email, password: ADMIN.password } });
    const cookie = cookieHeader(login.setCookies);
    const csrf = cookieValue(login.setCookies, "atelier_csrf")!;
    const before = sessionCount();
    const forged = await http("auth.logout", { cookie, csrf: "forged" });
    expect(forged.status).toBe(403);
    expect(sessionCount()).toBe(before);

    const res = await http("auth.logout", { cookie, csrf });
    expect(res.status).toBe(200);
    expect(sessionCount()).toBe(before - 1);
    expect(res.setCookies).toEqual([
      "atelier_session=; Path=/; Max-Age=0; SameSite=Lax; HttpOnly",
      "atelier_csrf=; Path=/; Max-Age=0; SameSite=Lax",
    ]);
    const after = await http("conversations.list", { method: "GET", cookie });
    expect(after.status).toBe(401);
  });

  it("an expired session is refused with a sign-in message", async () => {
    const login = await http("auth.login", { input: { email: ADMIN.email, password: ADMIN.password } });
    const cookie = cookieHeader(login.setCookies);
    app.db.update(sessions).set({ expiresAt: Date.now() - 1000 }).run();
    const res = await http("conversations.list", { method: "GET", cookie });
    expect(res.status).toBe(401);
    expect(res.json.error?.message).toMatch(/Sign in to continue \(your session may have expired\)/);
    const me = await http("auth.session", { method: "GET", cookie });
    expect(me.json.result?.data).toEqual({ needsSetup: false, user: null });
  });
});

describe("guessing", () => {
  it("locks an account at an address after 5 failures; then even the right password is refused there", async () => {
    const { PAIR_THROTTLE } = await import("@/server/auth/throttle");
    const email = "owner@example.test";
    for (let i = 0; i < PAIR_THROTTLE.freeFailures; i++) {
      const res = await http("auth.login", { input: { email, password: `guess number ${i}` }, ip: "203.0.113.9" });
      expect(res.status).toBe(401);
    }
    const locked = await http("auth.login", { input: { email, password: ADMIN.password }, ip: "203.0.113.9" });
    expect(locked.status).toBe(429);
    expect(locked.json.error?.message).toMatch(/^Too many failed sign-ins; try again in \d+ s\.$/);
    expect(locked.setCookies).toEqual([]);
  });

  it("locks an address after 20 failures, whatever the email", async () => {
    const { IP_THROTTLE } = await import("@/server/auth/throttle");
    const ip = "192.0.2.77";
    const results = await Promise.all(
      Array.from({ length: IP_THROTTLE.freeFailures }, (_, i) => http("auth.login", { input: { email: `probe${i}@example.test`, password: "a wrong guess" }, ip })),
    );
    expect(results.map((r) => r.status)).toEqual(results.map(() => 401));
    const locked = await http("auth.login", { input: { email: "someone@example.test", password: "a wrong guess" }, ip });
    expect(locked.status).toBe(429);
    const elsewhere = await http("auth.login", { input: { email: "someone@example.test", password: "a wrong guess" }, ip: "192.0.2.78" });
    expect(elsewhere.status).toBe(401);
  });
});
