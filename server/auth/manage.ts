import "server-only";
import { and, asc, count, eq, isNull, ne } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { AtelierError, notFound } from "../errors";
import { recordAudit } from "./audit";
import { hashPassword } from "./password";
import { sessions, users, type Role, type UserRow } from "../db/auth-tables";
import { deleteUserSessions, type Session } from "./sessions";
import { signInGuard } from "./throttle";
import { checkPasswordLength, createUser, type NewUser } from "./users";

/**
 * A user as the console shows it: never the password hash. `signInLocked`: failed guesses used up
 * the account's budget, so attempts from addresses it never signed in from are throttled;
 * `lockedForS`: seconds until the next such attempt is let through (0: now, as a single probe).
 */
export type UserView = Omit<UserRow, "passwordHash"> & { signInLocked: boolean; lockedForS: number };

const view = ({ passwordHash: _, ...rest }: UserRow): UserView => ({
  ...rest,
  signInLocked: signInGuard().accountThrottled(rest.email),
  lockedForS: Math.ceil(signInGuard().accountLockedFor(rest.email) / 1000),
});

export function listUsers(db: AtelierDb): UserView[] {
  return db.select().from(users).orderBy(asc(users.createdAt), asc(users.email)).all().map(view);
}

function getUser(db: AtelierDb, id: string): UserRow {
  const row = db.select().from(users).where(eq(users.id, id)).get();
  if (!row) throw notFound("user", "User", id);
  return row;
}

/** Admins who can still sign in, other than `exceptId`. */
function otherActiveAdmins(db: AtelierDb, exceptId: string): number {
  return (
    db
      .select({ n: count() })
      .from(users)
      .where(and(eq(users.role, "admin"), isNull(users.disabledAt), ne(users.id, exceptId)))
      .get()?.n ?? 0
  );
}

function assertNotLastAdmin(db: AtelierDb, target: UserRow, doing: string): void {
  if (target.role === "admin" && !target.disabledAt && otherActiveAdmins(db, target.id) === 0) {
    throw new AtelierError("conflict:user", `You cannot ${doing} the last admin; make someone else an admin first.`);
  }
}

export async function addUser(db: AtelierDb, actor: Session, input: NewUser): Promise<UserView> {
  const user = await createUser(db, input);
  recordAudit(db, actor, "user.create", { type: "user", id: user.id }, { email: user.email, role: user.role });
  return view(user);
}

export function setUserRole(db: AtelierDb, actor: Session, id: string, role: Role): UserView {
  return db.transaction((tx) => {
    const t = tx as unknown as AtelierDb;
    const target = getUser(t, id);
    if (target.role === role) return view(target);
    if (role !== "admin") assertNotLastAdmin(t, target, "demote");
    const updated = t.update(users).set({ role }).where(eq(users.id, id)).returning().get();
    recordAudit(t, actor, "user.role", { type: "user", id }, { role: [target.role, role] });
    return view(updated);
  });
}

/** Disabling signs the user out everywhere (their sessions are deleted). */
export function setUserDisabled(db: AtelierDb, actor: Session, id: string, disabled: boolean): UserView {
  return db.transaction((tx) => {
    const t = tx as unknown as AtelierDb;
    const target = getUser(t, id);
    if (!!target.disabledAt === disabled) return view(target);
    if (disabled) assertNotLastAdmin(t, target, "disable");
    const updated = t.update(users).set({ disabledAt: disabled ? Date.now() : null }).where(eq(users.id, id)).returning().get();
    if (disabled) deleteUserSessions(t, id);
    recordAudit(t, actor, disabled ? "user.disable" : "user.enable", { type: "user", id });
    return view(updated);
  });
}

/** Sets a new password and ends the user's other sessions (the admin's own stays signed in). */
export async function resetUserPassword(db: AtelierDb, actor: Session, id: string, password: string): Promise<UserView> {
  getUser(db, id);
  checkPasswordLength(password);
  const passwordHash = await hashPassword(password);
  return db.transaction((tx) => {
    const t = tx as unknown as AtelierDb;
    const updated = t.update(users).set({ passwordHash }).where(eq(users.id, id)).returning().get();
    if (!updated) throw notFound("user", "User", id);
    t.delete(sessions).where(and(eq(sessions.userId, id), ne(sessions.tokenHash, actor.tokenHash))).run();
    recordAudit(t, actor, "user.password", { type: "user", id });
    return view(updated);
  });
}

/** Lifts the sign-in lock of an account (failed guesses from anywhere are forgotten). Audited. */
export function unlockUser(db: AtelierDb, actor: Session, id: string): UserView {
  const target = getUser(db, id);
  signInGuard().unlockAccount(target.email);
  recordAudit(db, actor, "user.unlock", { type: "user", id });
  return view(target);
}
