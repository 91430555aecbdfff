import "server-only";
import { count, eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { env } from "../env";
import { AppError } from "../errors";
import { newId } from "../ids";
import { hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "./password";
import { users, type Role, type UserRow } from "./schema";

export type NewUser = { email: string; name?: string; password: string; role: Role };

export function userCount(db: AtelierDb): number {
  return db.select({ n: count() }).from(users).get()?.n ?? 0;
}

export async function createUser(db: AtelierDb, input: NewUser): Promise<UserRow> {
  const email = input.email.trim().toLowerCase();
  if (input.password.length < PASSWORD_MIN_LENGTH || input.password.length > PASSWORD_MAX_LENGTH) {
    throw new AppError("BAD_REQUEST", `Passwords need ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters.`);
  }
  if (db.select({ id: users.id }).from(users).where(eq(users.email, email)).get()) {
    throw new AppError("CONFLICT", `A user with the email ${email} already exists.`);
  }
  const passwordHash = await hashPassword(input.password);
  return db
    .insert(users)
    .values({ id: newId(), email, name: input.name?.trim() || email.split("@")[0]!, passwordHash, role: input.role })
    .returning()
    .get();
}

/** ATELIER_ADMIN_EMAIL/PASSWORD create the first admin when nobody exists yet (headless installs, CI). */
export async function ensureEnvAdmin(db: AtelierDb): Promise<void> {
  const { ATELIER_ADMIN_EMAIL: email, ATELIER_ADMIN_PASSWORD: password } = env();
  if (!email || !password || userCount(db) > 0) return;
  await createUser(db, { email, password, role: "admin", name: "Admin" });
}
