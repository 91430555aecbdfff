import "server-only";
import { eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { assistants, models, type AssistantRow } from "../db/schema";
import { notFound } from "../errors";

export type AssistantView = AssistantRow & { modelLabel: string | null };

export function getAssistant(db: AtelierDb, id: string): AssistantRow {
  const row = db.select().from(assistants).where(eq(assistants.id, id)).get();
  if (!row) throw notFound("assistant", "Assistant", id);
  return row;
}

/** The row plus the name of the model version it answers with (for lists and headers). */
export function assistantView(db: AtelierDb, row: AssistantRow): AssistantView {
  const model = row.modelId ? db.select({ name: models.name }).from(models).where(eq(models.id, row.modelId)).get() : undefined;
  return { ...row, modelLabel: model?.name ?? null };
}
