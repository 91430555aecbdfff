import "server-only";
import { eq } from "drizzle-orm";
import type { AtelierDb } from "../../db/client";
import { assistants, type AssistantRow } from "../../db/schema";
import { findDeployment } from "../deployments";
import { authenticateApiKey } from "../keys";
import type { ApiKeyRow, DeploymentRow } from "../schema";
import { AtelierError } from "../../errors";

export type ApiPrincipal = { key: ApiKeyRow; assistant: AssistantRow; deployment: DeploymentRow };

/**
 * `Authorization: Bearer <key>`: a live per-assistant key; the assistant it belongs to is the only
 * model it sees. Only a POST records the key's use (lastUsedAt): GET /v1/models reads and writes nothing.
 */
export function authenticate(db: AtelierDb, req: Request): ApiPrincipal {
  const header = req.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) {
    throw new AtelierError("unauthorized:api", "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'.", { reason: "missing_api_key" });
  }
  const key = authenticateApiKey(db, match[1]!, { recordUse: req.method === "POST" });
  if (!key) throw new AtelierError("unauthorized:api", "Incorrect API key provided (unknown or revoked).", { reason: "invalid_api_key" });
  const assistant = db.select().from(assistants).where(eq(assistants.id, key.assistantId)).get();
  if (!assistant || assistant.archivedAt) throw new AtelierError("not_found:api", "The assistant behind this key no longer exists.", { reason: "model_not_found" });
  // Creating a key opens the deployment (deploy.createKey), so a key always has one.
  const deployment = findDeployment(db, assistant.id);
  if (!deployment) throw new AtelierError("not_found:api", "The assistant behind this key is not deployed.", { reason: "model_not_found" });
  return { key, assistant, deployment };
}
