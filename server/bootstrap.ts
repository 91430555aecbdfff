import "server-only";
import { ensureDefaultAssistant } from "./assistants";
import { ensureEnvAdmin } from "./auth";
import { markInterruptedAnswers } from "./chat";
import { getDb, type AtelierDb } from "./db/client";
import { env } from "./env";
import { recoverInterruptedIndexing } from "./knowledge";
import { ensureStarterModel } from "./models";
import { startNodeHealth } from "./nodes";
import { recoverStudioRuns, startLeaseSweeper } from "./studio";
import { recoverEvalRuns } from "./evals";
import { startLoop } from "./loop";

/*
 * The process's start-up, composed from each capability's own housekeeping. Only process entry
 * points import this file (route handlers, server components, the tRPC context): a capability
 * that imported it would depend on every other one (the layer rules in .dependency-cruiser.cjs).
 */

/**
 * First-start and every-start housekeeping: the default model and assistant exist, and any
 * generation that was streaming when the previous process died is marked interrupted
 * (its partial text was already persisted).
 */
export async function bootstrap(db: AtelierDb): Promise<void> {
  markInterruptedAnswers(db);
  startLoop();
  recoverInterruptedIndexing(db);
  await recoverStudioRuns(db);
  recoverEvalRuns(db);
  await ensureEnvAdmin(db);
  const starter = await ensureStarterModel(db, env().ATELIER_DEFAULT_MODEL);
  ensureDefaultAssistant(db, starter.id);
  startNodeHealth(db);
  startLeaseSweeper(db);
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
