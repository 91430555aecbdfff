import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { auditLog, sessions } from "@/server/db/auth-tables";
import { freshApp, signedInSession } from "../helpers/app";

let app: Awaited<ReturnType<typeof freshApp>>;

beforeAll(async () => {
  app = await freshApp();
});

const audits = (action: string, id: string) =>
  app.db.select().from(auditLog).where(and(eq(auditLog.action, action), eq(auditLog.entityId, id))).all();

describe("users (admin)", () => {
  it("creates a user with a role, refuses duplicates and bad input, never returns hashes", async () => {
    const u = await app.caller().users.create({ email: " Ed@Example.test ", name: "Ed", role: "editor", password: "a long enough secret" });
    expect(u).toMatchObject({ email: "ed@example.test", name: "Ed", role: "editor", disabledAt: null });
    expect(u).not.toHaveProperty("passwordHash");
    expect(audits("user.create", u.id)[0]?.detail).toEqual({ email: "ed@example.test", role: "editor" });
    await expect(app.caller().users.create({ email: "ed@example.test", role: "viewer", password: "a long enough secret" })).rejects.toMatchObject({
      code: "CONFLICT",
      message: "A user with the email ed@example.test already exists.",
    });
    await expect(app.caller().users.create({ email: "x@example.test", role: "viewer", password: "short" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(app.caller().users.create({ email: "x@example.test", role: "owner" as "admin", password: "a long enough secret" })).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
    const list = await app.caller().users.list();
    expect(list.map((x) => x.email)).toContain("ed@example.test");
    expect(list.every((x) => !("passwordHash" in x))).toBe(true);
  });

  it("changes roles (audited) and takes effect on the live session at once", async () => {
    const v = await signedInSession(app.db, "viewer");
    const updated = await app.caller().users.setRole({ id: v.user.id, role: "editor" });
    expect(updated.role).toBe("editor");
    expect(audits("user.role", v.user.id)[0]?.detail).toEqual({ role: ["viewer", "editor"] });
    const { sessionFromToken } = await import("@/server/auth/sessions");
    expect(sessionFromToken(app.db, v.token)?.user.role).toBe("editor");
  });

  it("cannot demote or disable the last admin", async () => {
    const me = app.admin.user.id;
    await expect(app.caller().users.setRole({ id: me, role: "editor" })).rejects.toMatchObject({
      code: "CONFLICT",
      message: "You cannot demote the last admin; make someone else an admin first.",
    });
    await expect(app.caller().users.setDisabled({ id: me, disabled: true })).rejects.toMatchObject({
      code: "CONFLICT",
      message: "You cannot disable the last admin; make someone else an admin first.",
    });
    expect(audits("user.role", me)).toHaveLength(0);
    // With a second admin, the first may step down.
    const other = await signedInSession(app.db, "admin");
    await app.caller().users.setDisabled({ id: other.user.id, disabled: true });
    await expect(app.caller().users.setRole({ id: me, role: "viewer" })).rejects.toMatchObject({ code: "CONFLICT" }); // a disabled admin does not count
    await app.caller().users.setDisabled({ id: other.user.id, disabled: false });
    const after = await app.caller().users.setRole({ id: other.user.id, role: "viewer" });
    expect(after.role).toBe("viewer");
  });

  it("disabling deletes the user's sessions; enabling lets them sign in again", async () => {
    const v = await signedInSession(app.db, "viewer");
    const { sessionFromToken } = await import("@/server/auth/sessions");
    const { checkCredentials } = await import("@/server/auth/login");
    await app.caller().users.setDisabled({ id: v.user.id, disabled: true });
    expect(app.db.select().from(sessions).where(eq(sessions.userId, v.user.id)).all()).toHaveLength(0);
    expect(sessionFromToken(app.db, v.token)).toBeNull();
    expect(await checkCredentials(app.db, v.user.email, "correct horse battery", null)).toEqual({ ok: false, reason: "disabled" });
    expect(audits("user.disable", v.user.id)).toHaveLength(1);
    await app.caller().users.setDisabled({ id: v.user.id, disabled: false });
    expect((await checkCredentials(app.db, v.user.email, "correct horse battery", null)).ok).toBe(true);
    expect(audits("user.enable", v.user.id)).toHaveLength(1);
  });

  it("resets a password: the old one stops working and the user's sessions end", async () => {
    const v = await signedInSession(app.db, "viewer");
    const { checkCredentials } = await import("@/server/auth/login");
    await expect(app.caller().users.resetPassword({ id: v.user.id, password: "short" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await app.caller().users.resetPassword({ id: v.user.id, password: "a brand new password" });
    expect((await checkCredentials(app.db, v.user.email, "correct horse battery", null)).ok).toBe(false);
    expect((await checkCredentials(app.db, v.user.email, "a brand new password", null)).ok).toBe(true);
    expect(app.db.select().from(sessions).where(eq(sessions.userId, v.user.id)).all()).toHaveLength(0);
    expect(audits("user.password", v.user.id)[0]?.detail).toBeNull();
    await expect(app.caller().users.resetPassword({ id: "nobody", password: "a brand new password" })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
