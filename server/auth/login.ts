import "server-only";
import { eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { hashPassword, verifyPassword } from "./password";
import { users, type UserRow } from "../db/auth-tables";
import { loginThrottles } from "./throttle";

/** Every sign-in attempt takes at least this long, right or wrong, so timing tells nothing. */
export const LOGIN_FLOOR_MS = 400;

export const WRONG_CREDENTIALS = "The email or password is wrong.";

export type LoginResult =
  | { ok: true; user: UserRow }
  | { ok: false; reason: "wrong" | "disabled" }
  | { ok: false; reason: "locked"; retryAfterS: number };

let dummyHash: Promise<string> | undefined;

/**
 * Checks an email and password, throttled per email and per client address. Unknown emails cost a
 * hash like known ones. Nothing is written except the in-memory failure counters.
 */
export async function checkCredentials(db: AtelierDb, emailInput: string, password: string, ip: string | null): Promise<LoginResult> {
  const started = Date.now();
  try {
    const email = emailInput.trim().toLowerCase();
    const throttles = loginThrottles();
    const emailKey = `email:${email}`;
    const ipKey = ip ? [`ip:${ip}`] : [];
    const wait = Math.max(throttles.email.lockedFor([emailKey]), throttles.ip.lockedFor(ipKey));
    if (wait > 0) return { ok: false, reason: "locked", retryAfterS: Math.ceil(wait / 1000) };

    const user = db.select().from(users).where(eq(users.email, email)).get();
    dummyHash ??= hashPassword("not a real password, only spends the same time");
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyHash));
    if (!user || !ok) {
      throttles.email.fail([emailKey]);
      throttles.ip.fail(ipKey);
      return { ok: false, reason: "wrong" };
    }
    throttles.email.succeed(emailKey);
    if (user.disabledAt) return { ok: false, reason: "disabled" };
    return { ok: true, user };
  } finally {
    const left = LOGIN_FLOOR_MS - (Date.now() - started);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
  }
}
