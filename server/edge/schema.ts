import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { assistants } from "../db/schema";
import { users } from "../db/auth-tables";

const now = sql`(cast(unixepoch('subsec') * 1000 as integer))`;

export const WIDGET_POSITIONS = ["right", "left"] as const;
export const WIDGET_SIZES = ["small", "medium", "large"] as const;

/** How the embedded widget looks; null fields fall back to the assistant's own settings. */
export type WidgetAppearance = {
  title: string | null;
  color: string | null;
  position: (typeof WIDGET_POSITIONS)[number];
  greeting: string | null;
  starterQuestions: string[] | null;
  avatar: string | null;
  openOnLoad: boolean;
  size: (typeof WIDGET_SIZES)[number];
};

/**
 * One per assistant: the public face (widget + OpenAI-compatible API). Public endpoints only
 * ever see `publicId`; the internal assistant id never leaves the console.
 */
export const deployments = sqliteTable("deployments", {
  assistantId: text("assistant_id")
    .primaryKey()
    .references(() => assistants.id, { onDelete: "cascade" }),
  publicId: text("public_id").notNull().unique(),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(false),
  /** Exact origins (scheme://host[:port]) allowed to embed the widget; empty = nobody unless anyOrigin. */
  allowedOrigins: text("allowed_origins", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  /** An explicit choice to let any site embed it. */
  anyOrigin: integer("any_origin", { mode: "boolean" }).notNull().default(false),
  /** 0 = unlimited. */
  visitorDailyLimit: integer("visitor_daily_limit").notNull().default(50),
  dailyLimit: integer("daily_limit").notNull().default(1000),
  ipPerMinuteLimit: integer("ip_per_minute_limit").notNull().default(30),
  appearance: text("appearance", { mode: "json" }).$type<WidgetAppearance>().notNull(),
  /** HMAC-SHA256 key the host's backend signs visitor identities with. */
  identitySecret: text("identity_secret").notNull(),
  createdAt: integer("created_at").notNull().default(now),
  updatedAt: integer("updated_at").notNull().default(now),
});
export type DeploymentRow = typeof deployments.$inferSelect;

/** Keys for the OpenAI-compatible API; only the SHA-256 of a key is stored (shown once at creation). */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    assistantId: text("assistant_id")
      .notNull()
      .references(() => assistants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** The first characters of the key, to tell keys apart in the console. */
    prefix: text("prefix").notNull(),
    keyHash: text("key_hash").notNull().unique(),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: integer("created_at").notNull().default(now),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("api_keys_assistant_idx").on(t.assistantId)],
);
export type ApiKeyRow = typeof apiKeys.$inferSelect;

/**
 * Fixed-window counters for quotas and rate limits, bumped with one UPSERT inside a transaction
 * so concurrent requests can never overshoot. `window` is the window's start (ms).
 */
export const usageCounters = sqliteTable(
  "usage_counters",
  {
    scope: text("scope").notNull(),
    subject: text("subject").notNull(),
    window: integer("window").notNull(),
    count: integer("count").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.scope, t.subject, t.window] }), index("usage_counters_window_idx").on(t.window)],
);
