import "server-only";
import { and, asc, desc, eq, inArray, max } from "drizzle-orm";
import { getAssistant } from "../assistants";
import { recordAudit, type Session } from "../auth";
import type { AtelierDb } from "../db/client";
import { conversations, models } from "../db/schema";
import { AtelierError, notFound } from "../errors";
import { newId } from "../ids";
import { cleaningInput, createDataset, deleteDataset, listRuns, loadRecords, planTraining, type PlanInput, type StudioRecord } from "../studio";
import { improvementDatasets, improvementItems, improvementTrainings, reviewItems, type ReviewTurn } from "./schema";
import { mergedBaseFor } from "./continue-lora";
import { retrainInput, type RetrainInput } from "./types";

/*
 * Improvement datasets: every answer a reviewer approved ("good") or corrected, as chat records
 * (the history window the model saw + the approved or corrected answer), frozen into numbered
 * versions. Retrain turns a version into a studio dataset (plus a replay share of the active
 * version's own training data, against forgetting) and the studio's plan for a run that continues
 * from the active version.
 */

const TRAINED_RUN_STATUSES = ["queued", "running", "succeeded", "interrupted"] as const;

/** Alternating user/assistant turns starting with the user (consecutive turns of one role are joined). */
export function chatTurns(turns: ReviewTurn[], answer: string): ReviewTurn[] {
  const out: ReviewTurn[] = [];
  for (const t of [...turns, { role: "assistant" as const, content: answer }]) {
    const last = out.at(-1);
    if (last && last.role === t.role) last.content = `${last.content}\n\n${t.content}`;
    else if (out.length || t.role === "user") out.push({ ...t });
  }
  return out;
}

/** Freezes every approved review of the assistant into its next dataset version. */
export function createVersion(db: AtelierDb, assistantId: string, session: Session | null) {
  const assistant = getAssistant(db, assistantId);
  const approved = db
    .select()
    .from(reviewItems)
    .where(and(eq(reviewItems.assistantId, assistant.id), inArray(reviewItems.action, ["good", "corrected"])))
    .orderBy(asc(reviewItems.reviewedAt))
    .all();
  if (!approved.length) throw new AtelierError("bad_request:loop", `No answer of ${assistant.name} is marked good or corrected yet; review some in the inbox first.`);
  return db.transaction((tx) => {
    const last = tx.select({ v: max(improvementDatasets.version) }).from(improvementDatasets).where(eq(improvementDatasets.assistantId, assistant.id)).get();
    const version = (last?.v ?? 0) + 1;
    const id = newId();
    tx.insert(improvementDatasets).values({ id, assistantId: assistant.id, version, recordCount: approved.length, createdBy: session?.user.id ?? null }).run();
    const items = approved.map((r) => ({
      id: newId(),
      datasetId: id,
      reviewItemId: r.id,
      conversationId: r.conversationId,
      messageId: r.messageId,
      action: r.action,
      system: r.system,
      turns: chatTurns(r.turns, r.action === "corrected" ? r.correction! : r.answer),
      reviewerId: r.reviewerId,
      reviewedAt: r.reviewedAt,
    }));
    for (let i = 0; i < items.length; i += 100) tx.insert(improvementItems).values(items.slice(i, i + 100)).run();
    recordAudit(tx as unknown as AtelierDb, session, "improvement.version", { type: "assistant", id: assistant.id }, { datasetId: id, version, records: items.length });
    return { id, version, recordCount: items.length };
  });
}

function versionRow(db: AtelierDb, id: string) {
  const row = db.select().from(improvementDatasets).where(eq(improvementDatasets.id, id)).get();
  if (!row) throw notFound("loop", "Improvement dataset", id);
  return row;
}

/** Models trained on any studio dataset built from these versions. */
function trainedOn(db: AtelierDb, studioDatasetIds: string[]) {
  if (!studioDatasetIds.length) return { models: [] as { id: string; name: string; datasetId: string | null }[], runs: [] as { id: string; status: string; datasetId: string; modelId: string | null }[] };
  return {
    models: db.select({ id: models.id, name: models.name, datasetId: models.datasetId }).from(models).where(inArray(models.datasetId, studioDatasetIds)).all(),
    runs: listRuns(db)
      .filter((r) => studioDatasetIds.includes(r.datasetId) && (TRAINED_RUN_STATUSES as readonly string[]).includes(r.status))
      .map((r) => ({ id: r.id, status: r.status as string, datasetId: r.datasetId, modelId: r.modelId })),
  };
}

export function listVersions(db: AtelierDb, assistantId: string) {
  const rows = db.select().from(improvementDatasets).where(eq(improvementDatasets.assistantId, assistantId)).orderBy(desc(improvementDatasets.version)).all();
  return rows.map((r) => {
    const trainings = db.select().from(improvementTrainings).where(eq(improvementTrainings.datasetId, r.id)).orderBy(asc(improvementTrainings.createdAt)).all();
    const used = trainedOn(db, trainings.map((t) => t.studioDatasetId));
    return { ...r, trainings, trainedModels: used.models, runs: used.runs, trained: used.runs.length > 0 || used.models.length > 0 };
  });
}

export function versionItems(db: AtelierDb, datasetId: string) {
  versionRow(db, datasetId);
  return db.select().from(improvementItems).where(eq(improvementItems.datasetId, datasetId)).orderBy(asc(improvementItems.reviewedAt)).all();
}

/** A deterministic sample of `n` of `records` (xorshift, fixed seed): the same version and share replay the same records. */
function sample<T>(records: T[], n: number, seed: number): T[] {
  const idx = records.map((_, i) => i);
  let s = seed >>> 0 || 1;
  for (let i = idx.length - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, n).sort((a, b) => a - b).map((i) => records[i]!);
}

const jsonl = (records: StudioRecord[]) =>
  new TextEncoder().encode(
    records.map((r) => JSON.stringify(r.kind === "text" ? { text: r.text } : { ...(r.system ? { system: r.system } : {}), messages: r.messages })).join("\n") + "\n",
  );

/**
 * Builds the training data of a version (its records + the replay share) as a studio dataset and
 * returns the studio's plan for a run continuing from the assistant's active version.
 */
export async function retrain(db: AtelierDb, raw: RetrainInput, session: Session | null) {
  const input = retrainInput.parse(raw);
  const version = versionRow(db, input.datasetId);
  const assistant = getAssistant(db, version.assistantId);
  const active = assistant.modelId ? db.select().from(models).where(eq(models.id, assistant.modelId)).get() : undefined;
  if (!active) throw new AtelierError("bad_request:loop", `${assistant.name} has no active model version to continue from.`);

  // A LoRA version continues as a new adapter on its base with the adapter merged in (continue-lora.ts);
  // a full version trains further from its own weights.
  const lora = active.kind === "lora";
  const baseModelId = lora ? (await mergedBaseFor(db, active)).id : active.id;
  const method = lora ? "lora" : (input.method ?? (active.kind === "finetuned" ? "full" : "lora"));

  const fresh: StudioRecord[] = versionItems(db, version.id).map((i) => ({ kind: "chat", ...(i.system ? { system: i.system } : {}), messages: i.turns }));
  const source = active.datasetId;
  let replay: StudioRecord[] = [];
  let replayNote: string;
  if (input.replayShare > 0 && source) {
    let original: StudioRecord[] = [];
    try {
      original = loadRecords(db, source);
    } catch {
      original = [];
    }
    const want = Math.round((input.replayShare / (1 - input.replayShare)) * fresh.length);
    replay = sample(original, Math.min(want, original.length), version.version * 7919 + Math.round(input.replayShare * 100));
    replayNote = original.length
      ? `${replay.length} of ${original.length} records of ${active.name}'s own training data are replayed (${Math.round(input.replayShare * 100)}% share asked${replay.length < want ? `; only ${original.length} exist` : ""}).`
      : `${active.name}'s training data is no longer in the studio, so nothing is replayed.`;
  } else {
    replayNote = input.replayShare > 0 ? `${active.name} was not trained in Atelier, so it has no training data to replay.` : "No replay asked.";
  }

  const files = [{ name: `improvement-v${version.version}.jsonl`, bytes: jsonl(fresh) }];
  if (replay.length) files.push({ name: `replay-${source}.jsonl`, bytes: jsonl(replay) });
  const upload = await createDataset(db, { name: `${assistant.name} · improvement v${version.version}`, files }, session);
  const studioDatasetId = upload.dataset.id;
  db.insert(improvementTrainings)
    .values({ id: newId(), datasetId: version.id, studioDatasetId, fromModelId: active.id, replayShare: Math.round(input.replayShare * 100), replayRecords: replay.length })
    .run();

  const planInput: PlanInput = {
    datasetId: studioDatasetId,
    baseModelId,
    goal: "answers",
    method,
    epochs: input.epochs,
    cleaning: cleaningInput.parse({}),
    ...(input.maxSteps ? { advanced: { maxSteps: input.maxSteps } } : {}),
  };
  const plan = await planTraining(db, planInput);
  return {
    studioDatasetId,
    continuesFrom: { modelId: active.id, name: active.name, kind: active.kind, note: lora ? `The adapter is merged into its base and a new adapter trains on top of it, so training starts where ${active.name} left off.` : null },
    replay: { share: input.replayShare, records: replay.length, fromDatasetId: source ?? null, note: replayNote },
    records: fresh.length,
    start: { ...planInput, assistantId: assistant.id, name: `${assistant.name} · improvement v${version.version}` },
    plan,
  };
}

/**
 * Before a conversation is deleted: its items leave every dataset version not yet trained on
 * (and the studio datasets built from those versions are deleted); versions already trained on
 * keep them, and the models they trained are named so the owner knows.
 */
export function forgetConversation(db: AtelierDb, conversationId: string, session: Session | null) {
  const items = db.select({ id: improvementItems.id, datasetId: improvementItems.datasetId }).from(improvementItems).where(eq(improvementItems.conversationId, conversationId)).all();
  const datasetIds = [...new Set(items.map((i) => i.datasetId))];
  const removedFrom: { datasetId: string; version: number; removed: number }[] = [];
  const trainedVersions: { datasetId: string; version: number; models: { id: string; name: string }[] }[] = [];
  for (const datasetId of datasetIds) {
    const version = versionRow(db, datasetId);
    const trainings = db.select().from(improvementTrainings).where(eq(improvementTrainings.datasetId, datasetId)).all();
    const used = trainedOn(db, trainings.map((t) => t.studioDatasetId));
    if (used.runs.length || used.models.length) {
      trainedVersions.push({ datasetId, version: version.version, models: used.models.map((m) => ({ id: m.id, name: m.name })) });
      continue;
    }
    const n = items.filter((i) => i.datasetId === datasetId).length;
    for (const t of trainings) {
      try {
        deleteDataset(db, t.studioDatasetId, session);
      } catch (err) {
        if (!(err instanceof AtelierError && err.type === "not_found")) throw err;
      }
    }
    db.transaction((tx) => {
      tx.delete(improvementTrainings).where(eq(improvementTrainings.datasetId, datasetId)).run();
      tx.delete(improvementItems).where(and(eq(improvementItems.datasetId, datasetId), eq(improvementItems.conversationId, conversationId))).run();
      tx.update(improvementDatasets).set({ recordCount: version.recordCount - n }).where(eq(improvementDatasets.id, datasetId)).run();
    });
    removedFrom.push({ datasetId, version: version.version, removed: n });
  }
  db.delete(reviewItems).where(eq(reviewItems.conversationId, conversationId)).run();
  return { removedFrom, trainedVersions };
}

/** Deletes a conversation of any channel (the reviewer's delete), after forgetConversation. */
export function deleteConversationEverywhere(db: AtelierDb, conversationId: string, session: Session | null) {
  const conv = db.select({ id: conversations.id, assistantId: conversations.assistantId }).from(conversations).where(eq(conversations.id, conversationId)).get();
  if (!conv) throw notFound("conversation", "Conversation", conversationId);
  const impact = forgetConversation(db, conversationId, session);
  db.delete(conversations).where(eq(conversations.id, conversationId)).run();
  recordAudit(db, session, "conversation.delete", { type: "conversation", id: conversationId }, { assistantId: conv.assistantId, trainedVersions: impact.trainedVersions.length });
  return { id: conversationId, ...impact };
}
