import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

const now = sql`(cast(unixepoch('subsec') * 1000 as integer))`;

/** Ordered from least to most privileged; a role may do everything the roles before it may. */
export const ROLES = ["viewer", "editor", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  /** Lower-cased; the login name. */
  email: text("email").notNull().unique(),
  name: text("name").notNull(),
  /** "scrypt$N$r$p$salt$hash" (base64url parts), see server/auth/password.ts. */
  passwordHash: text("password_hash").notNull(),
  role: text("role", { enum: ROLES }).notNull(),
  disabledAt: integer("disabled_at"),
  createdAt: integer("created_at").notNull().default(now),
});
export type UserRow = typeof users.$inferSelect;

/** Only the SHA-256 of a session token is stored, so a leaked database cannot be replayed as cookies. */
export const sessions = sqliteTable(
  "sessions",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** Double-submit CSRF secret: also sent in a readable cookie and echoed in a header on writes. */
    csrfToken: text("csrf_token").notNull(),
    createdAt: integer("created_at").notNull().default(now),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);
export type SessionRow = typeof sessions.$inferSelect;

/** Who changed what, when: every console write that changes configuration appends a row. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: text("user_id").references(() => users.id, { onDelete: "set null" }),
    /** e.g. "assistant.update", "model.activate". */
    action: text("action").notNull(),
    entityType: text("entity_type").notNull(),
    entityId: text("entity_id"),
    /** What changed: { field: [before, after] } or any small JSON. */
    detail: text("detail", { mode: "json" }).$type<Record<string, unknown>>(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("audit_entity_idx").on(t.entityType, t.entityId, t.createdAt)],
);
export type AuditRow = typeof auditLog.$inferSelect;
