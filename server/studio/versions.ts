import "server-only";
import { desc, eq, isNotNull } from "drizzle-orm";
import { recordAudit } from "../auth";
import type { Session } from "../auth";
import type { AtelierDb } from "../db/client";
import { assistants, models, type ModelRow } from "../db/schema";
import { AtelierError, notFound } from "../errors";
import { checkActivation, recordActivationCheck } from "../evals";
import { getModelRow, servingSpecFor } from "../models";
import { studioActivations, studioEvalPrompts, studioRuns } from "./schema";
import type { VersionView } from "./types";

/** Asked of both models in a comparison when the assistant has no prompts of its own. */
export const DEFAULT_EVAL_PROMPTS = [
  "What can you help me with?",
  "Explain the most important idea in your domain in two sentences.",
  "A customer is confused and a bit annoyed. How do you answer them?",
];

function assistantRow(db: AtelierDb, id: string) {
  const row = db.select().from(assistants).where(eq(assistants.id, id)).get();
  if (!row) throw notFound("studio", "Assistant", id);
  return row;
}

/** The assistant's prompts; default: its starter questions, else a few generic ones. */
export function getEvalPrompts(db: AtelierDb, assistantId: string): string[] {
  const a = assistantRow(db, assistantId);
  const stored = db.select().from(studioEvalPrompts).where(eq(studioEvalPrompts.assistantId, assistantId)).get();
  if (stored) return stored.prompts;
  return a.starterQuestions.length > 0 ? a.starterQuestions.slice(0, 5) : DEFAULT_EVAL_PROMPTS;
}

export function setEvalPrompts(db: AtelierDb, input: { assistantId: string; prompts: string[] }, session: Session | null): string[] {
  assistantRow(db, input.assistantId);
  const prompts = input.prompts.map((p) => p.trim()).filter(Boolean);
  db.insert(studioEvalPrompts)
    .values({ assistantId: input.assistantId, prompts, updatedAt: Date.now() })
    .onConflictDoUpdate({ target: studioEvalPrompts.assistantId, set: { prompts, updatedAt: Date.now() } })
    .run();
  recordAudit(db, session, "assistant.evalPrompts", { type: "assistant", id: input.assistantId }, { count: prompts.length });
  return prompts;
}

function num(meta: Record<string, unknown> | null, key: string): number | null {
  const v = meta?.[key];
  return typeof v === "number" ? v : null;
}

function toVersion(row: ModelRow, activeFor: string[]): VersionView {
  const meta = row.meta ?? null;
  const settings = meta && typeof meta.settings === "object" && meta.settings !== null ? (meta.settings as Record<string, unknown>) : null;
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    status: row.status,
    baseModelId: row.baseModelId,
    datasetId: row.datasetId,
    runId: row.runId,
    createdAt: row.createdAt,
    meta: { settings, pplBefore: num(meta, "pplBefore"), pplAfter: num(meta, "pplAfter") },
    activeFor,
  };
}

/**
 * Model versions, newest first. With an assistant: the versions that concern it (its current
 * model, every model it was ever switched to, those trained for it, and their base models).
 */
export function listVersions(db: AtelierDb, assistantId?: string): VersionView[] {
  const activeFor = new Map<string, string[]>();
  for (const a of db.select({ id: assistants.id, modelId: assistants.modelId }).from(assistants).where(isNotNull(assistants.modelId)).all()) {
    activeFor.set(a.modelId!, [...(activeFor.get(a.modelId!) ?? []), a.id]);
  }
  let rows = db.select().from(models).orderBy(desc(models.createdAt)).all();
  if (assistantId) {
    const a = assistantRow(db, assistantId);
    const ids = new Set<string>();
    if (a.modelId) ids.add(a.modelId);
    for (const h of db.select().from(studioActivations).where(eq(studioActivations.assistantId, assistantId)).all()) {
      ids.add(h.modelId);
      if (h.previousModelId) ids.add(h.previousModelId);
    }
    for (const r of db.select({ modelId: studioRuns.modelId }).from(studioRuns).where(eq(studioRuns.assistantId, assistantId)).all()) if (r.modelId) ids.add(r.modelId);
    for (const m of rows) if (ids.has(m.id) && m.baseModelId) ids.add(m.baseModelId);
    rows = rows.filter((m) => ids.has(m.id));
  }
  return rows.map((m) => toVersion(m, activeFor.get(m.id) ?? []));
}

/**
 * Hot swap: the assistant's next turns are served by `modelId`; a turn already generating keeps
 * its serving context (the pool reference-counts it) and finishes on the old model.
 */
export function activateVersion(db: AtelierDb, input: { assistantId: string; modelId: string; override?: boolean }, session: Session | null): { previousModelId: string | null } {
  const a = assistantRow(db, input.assistantId);
  const model = getModelRow(db, input.modelId);
  try {
    servingSpecFor(db, model); // ready, and a LoRA has its base
  } catch (err) {
    throw new AtelierError("precondition:studio", `${model.name} cannot be served: ${(err as Error).message}`);
  }
  const previousModelId = a.modelId;
  if (previousModelId === model.id) return { previousModelId };
  // the activation gate: refuses a version measurably worse on the default eval set unless overridden
  const evidence = checkActivation(db, { assistantId: a.id, modelId: model.id, previousModelId, override: input.override ?? false });
  db.transaction((tx) => {
    tx.update(assistants).set({ modelId: model.id, updatedAt: Date.now() }).where(eq(assistants.id, a.id)).run();
    tx.insert(studioActivations).values({ assistantId: a.id, modelId: model.id, previousModelId, userId: session?.user.id ?? null }).run();
  });
  recordActivationCheck(db, evidence, session);
  recordAudit(db, session, "assistant.activateModel", { type: "assistant", id: a.id }, { modelId: [previousModelId, model.id], ...(evidence.overridden ? { override: evidence.message } : {}) });
  return { previousModelId };
}
