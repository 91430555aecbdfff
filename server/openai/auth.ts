import "server-only";
import { eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { assistants, type AssistantRow } from "../db/schema";
import { ensureDeployment } from "../widget/deployments";
import { authenticateApiKey } from "../widget/keys";
import type { ApiKeyRow, DeploymentRow } from "../widget/schema";
import { OpenAIError } from "./errors";

export type ApiPrincipal = { key: ApiKeyRow; assistant: AssistantRow; deployment: DeploymentRow };

/** `Authorization: Bearer <key>`: a live per-assistant key; the assistant it belongs to is the only model it sees. */
export function authenticate(db: AtelierDb, req: Request): ApiPrincipal {
  const header = req.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) {
    throw new OpenAIError(401, "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'.", "invalid_request_error", "missing_api_key");
  }
  const key = authenticateApiKey(db, match[1]!);
  if (!key) throw new OpenAIError(401, "Incorrect API key provided (unknown or revoked).", "invalid_request_error", "invalid_api_key");
  const assistant = db.select().from(assistants).where(eq(assistants.id, key.assistantId)).get();
  if (!assistant || assistant.archivedAt) throw new OpenAIError(404, "The assistant behind this key no longer exists.", "invalid_request_error", "model_not_found");
  return { key, assistant, deployment: ensureDeployment(db, assistant.id) };
}
