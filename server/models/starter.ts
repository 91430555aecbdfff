import "server-only";
import fs from "node:fs";
import path from "node:path";
import { eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { models, type ModelRow } from "../db/schema";
import { newId } from "../ids";
import { inspectGguf } from "../llm/inspect";
import { factsToColumns } from "./registry";

/**
 * The model row of the default model file (ATELIER_DEFAULT_MODEL), registered on first start.
 * A missing or unreadable file is registered as an error row with the reason, so the console can
 * say what to do instead of failing to start.
 */
export async function ensureStarterModel(db: AtelierDb, starterPath: string): Promise<ModelRow> {
  const existing = db.select().from(models).where(eq(models.filePath, starterPath)).get();
  if (existing) return existing;
  const base = { id: newId(), name: path.basename(starterPath, ".gguf"), kind: "base" as const, source: starterPath, filePath: starterPath };
  if (!fs.existsSync(starterPath)) {
    return db
      .insert(models)
      .values({ ...base, status: "error", error: `The starter model ${starterPath} is missing. Run \`npm run setup\` to craft it.` })
      .returning()
      .get();
  }
  try {
    const facts = await inspectGguf(starterPath);
    return db
      .insert(models)
      .values({ ...base, name: facts.name ?? base.name, status: "ready", ...factsToColumns(facts), meta: { fitsInMemory: facts.fitsInMemory, starter: true } })
      .returning()
      .get();
  } catch (err) {
    return db.insert(models).values({ ...base, status: "error", error: (err as Error).message }).returning().get();
  }
}
