import "server-only";
import fs from "node:fs";
import path from "node:path";
import { and, eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { models, type ModelRow } from "../db/schema";
import { env } from "../env";
import { AtelierError } from "../errors";
import { mergeLora } from "../forge";
import { addLocalModel, getModelRow } from "../models";

/*
 * Continuing a LoRA version: its adapter is merged into its base model (forge merge) and the next
 * adapter trains on those merged weights, so what the first adapter learned is where the new run
 * starts (W + B₁A₁, then + B₂A₂). The merged model is registered once per adapter as a fine-tuned
 * version whose lineage points at the adapter, and reused by later retrains.
 */

export async function mergedBaseFor(db: AtelierDb, adapter: ModelRow): Promise<ModelRow> {
  const source = `merge:${adapter.id}`;
  const existing = db.select().from(models).where(and(eq(models.source, source), eq(models.status, "ready"))).get();
  if (existing && fs.existsSync(existing.filePath)) return existing;
  if (!adapter.baseModelId) throw new AtelierError("bad_request:loop", `The LoRA version ${adapter.name} has no base model recorded.`);
  const base = getModelRow(db, adapter.baseModelId);
  const out = path.resolve(env().ATELIER_DATA_DIR, "loop", "merged", `${adapter.id}.gguf`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  try {
    await mergeLora({ base: base.filePath, lora: adapter.filePath, out });
  } catch (err) {
    throw new AtelierError("internal:loop", `Could not merge ${adapter.name} into ${base.name} to continue training from it: ${(err as Error).message}`, { cause: err });
  }
  const view = await addLocalModel(db, { path: out, name: `${adapter.name} (merged)`, baseModelId: adapter.id });
  return db
    .update(models)
    .set({ kind: "finetuned", source, meta: { mergedFrom: { adapterId: adapter.id, baseModelId: base.id } } })
    .where(eq(models.id, view.id))
    .returning()
    .get();
}
