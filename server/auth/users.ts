import "server-only";
import { and, count, eq, isNull } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { conversations } from "../db/schema";
import { env } from "../env";
import { AtelierError } from "../errors";
import { newId } from "../ids";
import { hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "./password";
import { users, type Role, type UserRow } from "../db/auth-tables";

export type NewUser = { email: string; name?: string; password: string; role: Role };

export function userCount(db: AtelierDb): number {
  return db.select({ n: count() }).from(users).get()?.n ?? 0;
}

export function checkPasswordLength(password: string): void {
  if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH) {
    throw new AtelierError("bad_request:user", `Passwords need ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters.`);
  }
}

/** Validates and hashes a new user; the insert is left to the caller so it can be atomic with its checks. */
async function prepareUser(input: NewUser) {
  const email = input.email.trim().toLowerCase();
  checkPasswordLength(input.password);
  const passwordHash = await hashPassword(input.password);
  return { id: newId(), email, name: input.name?.trim() || email.split("@")[0]!, passwordHash, role: input.role };
}

function assertEmailFree(db: AtelierDb, email: string): void {
  if (db.select({ id: users.id }).from(users).where(eq(users.email, email)).get()) {
    throw new AtelierError("conflict:user", `A user with the email ${email} already exists.`);
  }
}

export async function createUser(db: AtelierDb, input: NewUser): Promise<UserRow> {
  checkPasswordLength(input.password);
  assertEmailFree(db, input.email.trim().toLowerCase());
  const row = await prepareUser(input);
  assertEmailFree(db, row.email); // again: another request may have taken it while we hashed
  return db.insert(users).values(row).returning().get();
}

/**
 * The first admin, from the /setup screen. Refused once any user exists; the check and the insert
 * run in one synchronous transaction, so two racing setups cannot both succeed. Conversations from
 * before accounts existed become the first admin's.
 */
export async function setupFirstAdmin(db: AtelierDb, input: Omit<NewUser, "role">): Promise<UserRow> {
  const already = () => new AtelierError("conflict:user", "Atelier is already set up; sign in instead.");
  if (userCount(db) > 0) throw already();
  const row = await prepareUser({ ...input, role: "admin" });
  return db.transaction((tx) => {
    if (userCount(tx as unknown as AtelierDb) > 0) throw already();
    const user = tx.insert(users).values(row).returning().get();
    // Console conversations from before accounts existed become the first admin's.
    tx.update(conversations)
      .set({ userId: user.id })
      .where(and(eq(conversations.channel, "console"), isNull(conversations.userId)))
      .run();
    return user;
  });
}

/** ATELIER_ADMIN_EMAIL/PASSWORD create the first admin when nobody exists yet (headless installs, CI). */
export async function ensureEnvAdmin(db: AtelierDb): Promise<void> {
  const { ATELIER_ADMIN_EMAIL: email, ATELIER_ADMIN_PASSWORD: password } = env();
  if (!email || !password || userCount(db) > 0) return;
  await setupFirstAdmin(db, { email, password, name: "Admin" });
}
