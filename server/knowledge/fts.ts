import "server-only";
import type { AtelierDb } from "@/server/db/client";

/* FTS5 maintenance (triggers in the migrations keep knowledge_chunks_fts in sync with the chunks). */

/** Merges FTS5 index segments (run after bulk imports; makes queries faster). */
export function optimizeKnowledgeIndex(db: AtelierDb): void {
  db.$client.exec("INSERT INTO knowledge_chunks_fts(knowledge_chunks_fts) VALUES ('optimize')");
}

