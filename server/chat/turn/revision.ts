import "server-only";
import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import type { AtelierDb } from "../../db/client";
import type { TurnConfig } from "./config";

/*
 * The revision of what produced an answer besides the model version: a short hash of the persona
 * (prompt, out-of-scope reply, history window, sampling) and one of the knowledge (each collection's
 * documents and their content hashes). Two answers with the same three values came from the same
 * assistant as far as anything stored can tell; the review inbox and experiments filter on them.
 */

const short = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12);

export function personaRevision(config: Pick<TurnConfig, "persona">): string {
  const { systemPrompt, outOfScopeReply, historyWindow, sampling } = config.persona;
  return short(JSON.stringify([systemPrompt, outOfScopeReply ?? null, historyWindow, sampling.temperature, sampling.topP, sampling.topK, sampling.repeatPenalty, sampling.maxTokens]));
}

/** null when knowledge is off (no collections). */
export function knowledgeRevision(db: AtelierDb, collectionIds: readonly string[]): string | null {
  if (!collectionIds.length) return null;
  const rows = db.all<{ c: string; d: string; h: string }>(
    sql`select collection_id as c, id as d, sha256 as h from knowledge_documents
        where collection_id in (${sql.join(collectionIds.map((id) => sql`${id}`), sql`, `)}) order by collection_id, id`,
  );
  return short([...collectionIds].sort().join(",") + "\n" + rows.map((r) => `${r.c}:${r.d}:${r.h}`).join("\n"));
}
