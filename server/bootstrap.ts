import "server-only";
import fs from "node:fs";
import path from "node:path";
import { eq } from "drizzle-orm";
import { getDb, type AtelierDb } from "./db/client";
import { assistants, messages, models, type SamplingSettings } from "./db/schema";
import { env } from "./env";
import { newId } from "./ids";
import { inspectGguf } from "./llm/inspect";
import { ensureEnvAdmin } from "./auth/users";
import { recoverInterruptedIndexing } from "./knowledge";
import { factsToColumns } from "./models/registry";
import { recoverStudioRuns } from "./studio/runner";
import { recoverEvalRuns } from "./evals";

export const DEFAULT_SAMPLING: SamplingSettings = { temperature: 0.3, topP: 0.9, topK: 40, repeatPenalty: 1.1, maxTokens: 512 };

/** The prompt the starter model was trained with (server/forge/starter/recipe.ts); it answers best under it. */
export const DEFAULT_SYSTEM_PROMPT = "You are Atelier's guide. Answer questions about Atelier briefly.";

/**
 * First-start and every-start housekeeping: the default model and assistant exist, and any
 * generation that was streaming when the previous process died is marked interrupted
 * (its partial text was already persisted).
 */
export async function bootstrap(db: AtelierDb): Promise<void> {
  db.update(messages)
    .set({ status: "interrupted", error: "The server stopped while this answer was being generated." })
    .where(eq(messages.status, "streaming"))
    .run();
  recoverInterruptedIndexing(db);
  await recoverStudioRuns(db);
  recoverEvalRuns(db);
  await ensureEnvAdmin(db);

  const starterPath = env().ATELIER_DEFAULT_MODEL;
  let starter = db.select().from(models).where(eq(models.filePath, starterPath)).get();
  if (!starter) {
    const base = { id: newId(), name: path.basename(starterPath, ".gguf"), kind: "base" as const, source: starterPath, filePath: starterPath };
    if (fs.existsSync(starterPath)) {
      try {
        const facts = await inspectGguf(starterPath);
        starter = db
          .insert(models)
          .values({ ...base, name: facts.name ?? base.name, status: "ready", ...factsToColumns(facts), meta: { fitsInMemory: facts.fitsInMemory, starter: true } })
          .returning()
          .get();
      } catch (err) {
        starter = db.insert(models).values({ ...base, status: "error", error: (err as Error).message }).returning().get();
      }
    } else {
      starter = db
        .insert(models)
        .values({ ...base, status: "error", error: `The starter model ${starterPath} is missing. Run \`npm run setup\` to craft it.` })
        .returning()
        .get();
    }
  }

  const hasAssistant = db.select({ id: assistants.id }).from(assistants).limit(1).get();
  if (!hasAssistant) {
    db.insert(assistants)
      .values({
        id: newId(),
        name: "Atelier Guide",
        systemPrompt: DEFAULT_SYSTEM_PROMPT,
        greeting: "Hi! I'm Atelier's guide, running on a tiny model Atelier trained itself. Ask me about Atelier.",
        starterQuestions: ["What is Atelier?", "How do I train a model?", "How do I embed the chat widget?"],
        color: "#6366f1",
        modelId: starter.id,
        sampling: DEFAULT_SAMPLING,
        isDefault: true,
      })
      .run();
  }
}

const globalForBoot = globalThis as unknown as { atelierBoot?: Promise<AtelierDb> };

/** The database, bootstrapped once per process. */
export function ready(): Promise<AtelierDb> {
  globalForBoot.atelierBoot ??= (async () => {
    const db = getDb();
    await bootstrap(db);
    return db;
  })().catch((err: unknown) => {
    globalForBoot.atelierBoot = undefined;
    throw err;
  });
  return globalForBoot.atelierBoot;
}

export function resetReadyForTests(): void {
  globalForBoot.atelierBoot = undefined;
}
