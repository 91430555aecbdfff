import "server-only";
import { eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { hashPassword, verifyPassword } from "./password";
import { users, type UserRow } from "../db/auth-tables";
import { signInGuard } from "./throttle";

/** Every sign-in attempt takes at least this long, right or wrong, so timing tells nothing. */
export const LOGIN_FLOOR_MS = 400;

export const WRONG_CREDENTIALS = "The email or password is wrong.";

export type LoginResult =
  | { ok: true; user: UserRow }
  | { ok: false; reason: "wrong" | "disabled" }
  | { ok: false; reason: "locked"; retryAfterS: number };

let dummyHash: Promise<string> | undefined;

/**
 * Checks an email and password, throttled per account × address, per address and per account
 * (throttle.ts): the attempt is admitted, and counted, before the hash runs. Unknown emails cost
 * a hash like known ones. Nothing is written except the in-memory counters.
 */
export async function checkCredentials(db: AtelierDb, emailInput: string, password: string, ip: string | null): Promise<LoginResult> {
  const started = Date.now();
  try {
    const email = emailInput.trim().toLowerCase();
    const admission = signInGuard().admit(email, ip);
    if (!admission.ok) return { ok: false, reason: "locked", retryAfterS: admission.retryAfterS };
    let right = false;
    try {
      const user = db.select().from(users).where(eq(users.email, email)).get();
      dummyHash ??= hashPassword("not a real password, only spends the same time");
      right = (await verifyPassword(password, user?.passwordHash ?? (await dummyHash))) && !!user;
      if (!user || !right) return { ok: false, reason: "wrong" };
      if (user.disabledAt) return { ok: false, reason: "disabled" };
      return { ok: true, user };
    } finally {
      admission.settle(right ? "right" : "wrong");
    }
  } finally {
    const left = LOGIN_FLOOR_MS - (Date.now() - started);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
  }
}
