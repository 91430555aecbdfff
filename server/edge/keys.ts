import "server-only";
import { createHash, randomBytes } from "node:crypto";
import { and, desc, eq, isNull } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { notFound } from "../errors";
import { newId } from "../ids";
import { apiKeys, type ApiKeyRow } from "./schema";

const hashKey = (key: string) => createHash("sha256").update(key).digest("hex");

export type ApiKeyView = Omit<ApiKeyRow, "keyHash">;
const view = ({ keyHash: _h, ...rest }: ApiKeyRow): ApiKeyView => rest;

/** Creates a key; the plain key is returned this once and only its hash is stored. */
export function createApiKey(db: AtelierDb, assistantId: string, name: string, createdBy: string | null): { key: string; row: ApiKeyView } {
  const key = `atl_${randomBytes(24).toString("base64url")}`;
  const row = db
    .insert(apiKeys)
    .values({ id: newId(), assistantId, name, prefix: key.slice(0, 10), keyHash: hashKey(key), createdBy })
    .returning()
    .get();
  return { key, row: view(row) };
}

export function listApiKeys(db: AtelierDb, assistantId: string): ApiKeyView[] {
  return db.select().from(apiKeys).where(eq(apiKeys.assistantId, assistantId)).orderBy(desc(apiKeys.createdAt)).all().map(view);
}

export function revokeApiKey(db: AtelierDb, assistantId: string, id: string): ApiKeyView {
  const row = db
    .update(apiKeys)
    .set({ revokedAt: Date.now() })
    .where(and(eq(apiKeys.id, id), eq(apiKeys.assistantId, assistantId), isNull(apiKeys.revokedAt)))
    .returning()
    .get();
  if (!row) throw notFound("api", "Active API key", id);
  return view(row);
}

/** The live key row for a presented key, or undefined (unknown or revoked). */
export function authenticateApiKey(db: AtelierDb, key: string, opts: { recordUse: boolean } = { recordUse: true }): ApiKeyRow | undefined {
  if (key.length < 8 || key.length > 200) return undefined;
  const row = db.select().from(apiKeys).where(and(eq(apiKeys.keyHash, hashKey(key)), isNull(apiKeys.revokedAt))).get();
  if (row && opts.recordUse) db.update(apiKeys).set({ lastUsedAt: Date.now() }).where(eq(apiKeys.id, row.id)).run();
  return row;
}
