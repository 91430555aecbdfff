import "server-only";
import { createHash, randomBytes } from "node:crypto";
import { and, eq, gt, lt } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { env } from "../env";
import { AtelierError } from "../errors";
import { sessions, users, type Role } from "../db/auth-tables";

export type SessionUser = { id: string; email: string; name: string; role: Role };
export type Session = { user: SessionUser; csrfToken: string; expiresAt: number; tokenHash: string };

const hashToken = (token: string) => createHash("sha256").update(token).digest("base64url");

export function sessionTtlMs(): number {
  return env().ATELIER_SESSION_HOURS * 3_600_000;
}

/** Creates a session and returns the raw token (only ever handed to the cookie). */
export function createSession(db: AtelierDb, userId: string): { token: string; csrfToken: string; expiresAt: number } {
  const token = randomBytes(32).toString("base64url");
  const csrfToken = randomBytes(24).toString("base64url");
  const expiresAt = Date.now() + sessionTtlMs();
  db.delete(sessions).where(lt(sessions.expiresAt, Date.now())).run();
  db.insert(sessions).values({ tokenHash: hashToken(token), userId, csrfToken, expiresAt }).run();
  return { token, csrfToken, expiresAt };
}

/** The live session for a cookie token, or null when unknown, expired or the user is disabled. */
export function sessionFromToken(db: AtelierDb, token: string | undefined): Session | null {
  if (!token) return null;
  const tokenHash = hashToken(token);
  const row = db
    .select({ s: sessions, u: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.tokenHash, tokenHash), gt(sessions.expiresAt, Date.now())))
    .get();
  if (!row || row.u.disabledAt) return null;
  return {
    user: { id: row.u.id, email: row.u.email, name: row.u.name, role: row.u.role },
    csrfToken: row.s.csrfToken,
    expiresAt: row.s.expiresAt,
    tokenHash,
  };
}

export function deleteSession(db: AtelierDb, tokenHash: string): void {
  db.delete(sessions).where(eq(sessions.tokenHash, tokenHash)).run();
}

export function deleteUserSessions(db: AtelierDb, userId: string): void {
  db.delete(sessions).where(eq(sessions.userId, userId)).run();
}

/**
 * The session of a procedure that required a role. The access middleware already refused anonymous
 * callers; this only narrows the type (and fails closed if that ever changes).
 */
export function signedIn(ctx: { session: Session | null }): Session {
  if (!ctx.session) throw new AtelierError("unauthorized:auth", "Sign in to continue.");
  return ctx.session;
}
