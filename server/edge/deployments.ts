import "server-only";
import { randomBytes } from "node:crypto";
import { asc, desc, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import type { AtelierDb } from "../db/client";
import { getAssistant } from "../assistants";
import { assistants } from "../db/schema";
import { newIdentitySecret } from "./identity";
import { normalizeOrigin } from "./origins";
import { deployments, WIDGET_POSITIONS, WIDGET_SIZES, type DeploymentRow, type WidgetAppearance } from "./schema";

export const DEFAULT_APPEARANCE: WidgetAppearance = {
  title: null,
  color: null,
  position: "right",
  greeting: null,
  starterQuestions: null,
  avatar: null,
  openOnLoad: false,
  size: "medium",
};

/** Public ids are opaque and unguessable; they say nothing about the internal assistant id. */
const newPublicId = () => `asst_${randomBytes(12).toString("base64url")}`;
export const PUBLIC_ID_PATTERN = /^asst_[A-Za-z0-9_-]{16}$/;

/** The assistant's deployment if it was ever opened (a read: nothing is created). */
export function findDeployment(db: AtelierDb, assistantId: string): DeploymentRow | null {
  getAssistant(db, assistantId);
  return db.select().from(deployments).where(eq(deployments.assistantId, assistantId)).get() ?? null;
}

/** The assistant's deployment, created (disabled, no origins) the first time an owner opens it. */
export function ensureDeployment(db: AtelierDb, assistantId: string): DeploymentRow {
  getAssistant(db, assistantId);
  const existing = db.select().from(deployments).where(eq(deployments.assistantId, assistantId)).get();
  if (existing) return existing;
  return db
    .insert(deployments)
    .values({ assistantId, publicId: newPublicId(), appearance: DEFAULT_APPEARANCE, identitySecret: newIdentitySecret() })
    .onConflictDoNothing()
    .returning()
    .get() ?? db.select().from(deployments).where(eq(deployments.assistantId, assistantId)).get()!;
}

const quota = z.number().int().min(0).max(1_000_000);
const color = z.string().regex(/^#[0-9a-fA-F]{6}$/, "Use a hex color such as #6366f1.");

export const appearanceInput = z.object({
  title: z.string().trim().max(80).nullable(),
  color: color.nullable(),
  position: z.enum(WIDGET_POSITIONS),
  greeting: z.string().trim().max(500).nullable(),
  starterQuestions: z.array(z.string().trim().min(1).max(200)).max(6).nullable(),
  avatar: z.string().trim().max(8).nullable(),
  openOnLoad: z.boolean(),
  size: z.enum(WIDGET_SIZES),
});

export const deploymentPatch = z.object({
  enabled: z.boolean().optional(),
  allowedOrigins: z.array(z.string()).max(100).optional(),
  anyOrigin: z.boolean().optional(),
  visitorDailyLimit: quota.optional(),
  dailyLimit: quota.optional(),
  ipPerMinuteLimit: quota.optional(),
  appearance: appearanceInput.optional(),
});
export type DeploymentPatch = z.infer<typeof deploymentPatch>;

export function updateDeployment(db: AtelierDb, assistantId: string, patch: DeploymentPatch): { before: DeploymentRow; after: DeploymentRow } {
  const before = ensureDeployment(db, assistantId);
  const allowedOrigins = patch.allowedOrigins ? [...new Set(patch.allowedOrigins.filter((o) => o.trim()).map(normalizeOrigin))] : undefined;
  const after = db
    .update(deployments)
    .set({ ...patch, allowedOrigins, updatedAt: Date.now() })
    .where(eq(deployments.assistantId, assistantId))
    .returning()
    .get();
  return { before, after };
}

export function rotateIdentitySecret(db: AtelierDb, assistantId: string): DeploymentRow {
  ensureDeployment(db, assistantId);
  return db.update(deployments).set({ identitySecret: newIdentitySecret(), updatedAt: Date.now() }).where(eq(deployments.assistantId, assistantId)).returning().get();
}

export function deploymentByPublicId(db: AtelierDb, publicId: string): DeploymentRow | undefined {
  if (!PUBLIC_ID_PATTERN.test(publicId)) return undefined;
  return db.select().from(deployments).where(eq(deployments.publicId, publicId)).get();
}

/** Every live assistant and whether its widget is on (no secrets), for the Deploy page. */
export function deploymentSummaries(db: AtelierDb) {
  const deployed = new Map(db.select().from(deployments).all().map((d) => [d.assistantId, d]));
  return db
    .select({ id: assistants.id, name: assistants.name, color: assistants.color, avatar: assistants.avatar })
    .from(assistants)
    .where(isNull(assistants.archivedAt))
    .orderBy(desc(assistants.isDefault), asc(assistants.createdAt))
    .all()
    .map((a) => {
      const d = deployed.get(a.id);
      return { ...a, enabled: d?.enabled ?? false, publicId: d?.publicId ?? null, origins: d ? (d.anyOrigin ? "any" : d.allowedOrigins.length) : 0 };
    });
}
