import { createHmac } from "node:crypto";
import { eq } from "drizzle-orm";
import type { freshApp } from "../helpers/app";
import { assistants } from "@/server/db/schema";

export type App = Awaited<ReturnType<typeof freshApp>>;

/** The default assistant, deployed for `origins`, answering in at most `maxTokens` tokens. */
export async function deployDefault(app: App, origins: string[], maxTokens = 12) {
  const a = app.db.select().from(assistants).get()!;
  app.db.update(assistants).set({ sampling: { ...a.sampling, maxTokens } }).where(eq(assistants.id, a.id)).run();
  const caller = app.caller();
  await caller.deploy.get({ assistantId: a.id });
  const d = await caller.deploy.update({ assistantId: a.id, patch: { enabled: true, allowedOrigins: origins } });
  return { assistantId: a.id, publicId: d.publicId, secret: d.identitySecret };
}

/** What a host site's backend does: HMAC-SHA256 over `userId.expiry`, base64url. */
export function signToken(secret: string, userId: string, expiresAtSec: number) {
  const payload = `${userId}.${expiresAtSec}`;
  return `${payload}.${createHmac("sha256", secret).update(payload).digest("base64url")}`;
}

export type NdEvent = { type: string; [k: string]: unknown };

export async function readNdjson(res: Response): Promise<NdEvent[]> {
  const text = await res.text();
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as NdEvent);
}
