import "server-only";
import { createHash } from "node:crypto";
import { and, asc, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import { getAssistant } from "../assistants";
import { recordAudit, type Session } from "../auth";
import type { AtelierDb } from "../db/client";
import { messages, models, type ConversationRow, type ModelRow } from "../db/schema";
import { AtelierError, notFound } from "../errors";
import { newId } from "../ids";
import { activationEvidence } from "../evals";
import { getModelRow, servingSpecFor } from "../models";
import { activateVersion } from "../studio";
import { experimentArms, experiments, type ExperimentArmRow, type ExperimentRow } from "./schema";
import { twoProportionP, wilson } from "./stats";
import { experimentInput, type ExperimentInput } from "./types";

/*
 * A/B on live traffic. An experiment gives an assistant two or more versions with a traffic split.
 * Assignment is a hash of (experiment, subject) into the arms' weights: a widget visitor is the
 * subject (every conversation of theirs lands on the same arm), elsewhere the conversation is, so
 * it is sticky without storing anything and is recorded on every answer (messages.experiment_arm_id).
 * Promote activates the winner through the activation gate; Stop sends all traffic back to the
 * active version; an arm whose error rate passes the threshold is stopped automatically, with why.
 */

const ARM_LABELS = "ABCD";

function rootOf(db: AtelierDb, row: ModelRow): ModelRow {
  let cur = row;
  for (let i = 0; i < 32 && cur.baseModelId; i++) {
    const next = db.select().from(models).where(eq(models.id, cur.baseModelId)).get();
    if (!next) break;
    cur = next;
  }
  return cur;
}

function servableVersion(db: AtelierDb, modelId: string): ModelRow {
  let row: ModelRow;
  try {
    row = getModelRow(db, modelId);
  } catch {
    throw new AtelierError("bad_request:loop", `Version ${modelId} does not exist (it may have been deleted).`, { param: "arms" });
  }
  try {
    servingSpecFor(db, row);
  } catch (err) {
    throw new AtelierError("bad_request:loop", `Version ${row.name} cannot be served: ${(err as Error).message}`, { param: "arms" });
  }
  return row;
}

export function runningExperiment(db: AtelierDb, assistantId: string): ExperimentRow | undefined {
  return db.select().from(experiments).where(and(eq(experiments.assistantId, assistantId), eq(experiments.status, "running"))).get();
}

export function createExperiment(db: AtelierDb, raw: ExperimentInput, session: Session | null) {
  const input = experimentInput.parse(raw);
  const assistant = getAssistant(db, input.assistantId);
  if (runningExperiment(db, assistant.id)) throw new AtelierError("conflict:loop", `${assistant.name} already has an experiment running; promote or stop it first.`);
  const rows = input.arms.map((a) => servableVersion(db, a.modelId));
  if (new Set(rows.map((r) => r.id)).size !== rows.length) throw new AtelierError("bad_request:loop", "Each arm needs a different version.", { param: "arms" });
  // Versions must share a tokenizer (the same lineage root): otherwise they are not versions of one model.
  const roots = rows.map((r) => rootOf(db, r));
  const first = roots[0]!;
  roots.forEach((root, i) => {
    if (root.id !== first.id && (root.architecture !== first.architecture || root.parameters !== first.parameters)) {
      throw new AtelierError("bad_request:loop", `${rows[i]!.name} is incompatible with ${rows[0]!.name}: it comes from ${root.name}, not ${first.name}, so it has a different tokenizer.`, { param: "arms" });
    }
  });
  const total = input.arms.reduce((n, a) => n + a.weight, 0);
  if (total !== 100) throw new AtelierError("bad_request:loop", `The traffic split must add up to 100%; it adds up to ${total}%.`, { param: "arms" });
  const id = newId();
  db.transaction((tx) => {
    tx.insert(experiments)
      .values({ id, assistantId: assistant.id, name: input.name?.trim() || `${rows.map((r) => r.name).join(" vs ")}`, errorThreshold: input.errorThreshold, minAnswers: input.minAnswers, baselineModelId: assistant.modelId, createdBy: session?.user.id ?? null })
      .run();
    tx.insert(experimentArms).values(input.arms.map((a, i) => ({ id: newId(), experimentId: id, label: ARM_LABELS[i]!, modelId: a.modelId, weight: a.weight }))).run();
  });
  recordAudit(db, session, "experiment.start", { type: "assistant", id: assistant.id }, { experimentId: id, arms: input.arms });
  return getExperiment(db, id);
}

const armsOf = (db: AtelierDb, experimentId: string) => db.select().from(experimentArms).where(eq(experimentArms.experimentId, experimentId)).orderBy(asc(experimentArms.label)).all();

function experimentRow(db: AtelierDb, id: string): ExperimentRow {
  const row = db.select().from(experiments).where(eq(experiments.id, id)).get();
  if (!row) throw notFound("loop", "Experiment", id);
  return row;
}

/** Who is assigned: a widget visitor across their conversations, otherwise the conversation. */
export function subjectOf(c: Pick<ConversationRow, "id" | "channel" | "visitorId" | "visitorVerified">): string {
  return c.channel === "widget" && c.visitorId ? `visitor:${c.visitorVerified ? "user" : "anon"}:${c.visitorId}` : `conversation:${c.id}`;
}

/** The arm for `subject`: a uniform hash in [0, 1) laid over the live arms' weights. */
export function pickArm<T extends { weight: number }>(experimentId: string, subject: string, arms: T[]): T | null {
  const total = arms.reduce((n, a) => n + a.weight, 0);
  if (!arms.length || total <= 0) return null;
  const h = createHash("sha256").update(`${experimentId}\n${subject}`).digest().readUInt32BE(0) / 2 ** 32;
  let acc = 0;
  for (const arm of arms) {
    acc += arm.weight / total;
    if (h < acc) return arm;
  }
  return arms.at(-1)!;
}

function errorCounts(db: AtelierDb, armIds: string[]) {
  if (!armIds.length) return new Map<string, { answers: number; errors: number }>();
  const rows = db
    .select({ arm: messages.experimentArmId, answers: sql<number>`count(*)`, errors: sql<number>`sum(case when ${messages.status} = 'error' then 1 else 0 end)` })
    .from(messages)
    .where(and(inArray(messages.experimentArmId, armIds), eq(messages.role, "assistant")))
    .groupBy(messages.experimentArmId)
    .all();
  return new Map(rows.map((r) => [r.arm!, { answers: r.answers, errors: r.errors }]));
}

/** Stops arms whose error rate passed the threshold; the experiment stops when none is left. */
function stopFailingArms(db: AtelierDb, exp: ExperimentRow, live: ExperimentArmRow[]): ExperimentArmRow[] {
  const counts = errorCounts(db, live.map((a) => a.id));
  const kept: ExperimentArmRow[] = [];
  for (const arm of live) {
    const c = counts.get(arm.id);
    if (c && c.answers >= exp.minAnswers && c.errors / c.answers > exp.errorThreshold) {
      const reason = `Stopped automatically: ${c.errors} of ${c.answers} answers failed (${Math.round((100 * c.errors) / c.answers)}%), above the ${Math.round(exp.errorThreshold * 100)}% threshold.`;
      db.update(experimentArms).set({ stoppedAt: Date.now(), stoppedReason: reason }).where(eq(experimentArms.id, arm.id)).run();
      console.warn(`[loop] experiment ${exp.id}: arm ${arm.label} ${reason}`);
      recordAudit(db, null, "experiment.arm.autostop", { type: "assistant", id: exp.assistantId }, { experimentId: exp.id, armId: arm.id, reason });
    } else kept.push(arm);
  }
  if (!kept.length) {
    db.update(experiments).set({ status: "stopped", endedAt: Date.now(), endedReason: "Every arm was stopped for errors; all traffic is back on the active version." }).where(eq(experiments.id, exp.id)).run();
  }
  return kept;
}

/** The chat turn's hook (registered at start-up): which arm answers this conversation, if any. */
export function resolveArm(db: AtelierDb, conversation: ConversationRow) {
  const exp = runningExperiment(db, conversation.assistantId);
  if (!exp) return null;
  const live = stopFailingArms(db, exp, db.select().from(experimentArms).where(and(eq(experimentArms.experimentId, exp.id), isNull(experimentArms.stoppedAt))).all());
  const arm = pickArm(exp.id, subjectOf(conversation), live);
  return arm ? { armId: arm.id, modelId: arm.modelId } : null;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

export function getExperiment(db: AtelierDb, id: string) {
  const exp = experimentRow(db, id);
  const assistant = getAssistant(db, exp.assistantId);
  const oos = assistant.outOfScopeReply?.trim() ?? null;
  const arms = armsOf(db, id);
  const stats = db
    .select({
      arm: messages.experimentArmId,
      answers: sql<number>`count(*)`,
      conversations: sql<number>`count(distinct ${messages.conversationId})`,
      up: sql<number>`sum(case when ${messages.feedback} = 1 then 1 else 0 end)`,
      down: sql<number>`sum(case when ${messages.feedback} = -1 then 1 else 0 end)`,
      regenerated: sql<number>`sum(${messages.regenerated})`,
      errors: sql<number>`sum(case when ${messages.status} = 'error' then 1 else 0 end)`,
      outOfScope: oos === null ? sql<number>`0` : sql<number>`sum(case when trim(${messages.content}) = ${oos} then 1 else 0 end)`,
      avgChars: sql<number | null>`avg(length(${messages.content}))`,
      avgTokens: sql<number | null>`avg(${messages.completionTokens})`,
      avgMs: sql<number | null>`avg(${messages.durationMs})`,
      avgTtftMs: sql<number | null>`avg(${messages.ttftMs})`,
    })
    .from(messages)
    .where(and(inArray(messages.experimentArmId, arms.map((a) => a.id)), eq(messages.role, "assistant")))
    .groupBy(messages.experimentArmId)
    .all();
  const byArm = new Map(stats.map((s) => [s.arm!, s]));
  const armViews = arms.map((a) => {
    const s = byArm.get(a.id);
    const answers = s?.answers ?? 0;
    const ratings = (s?.up ?? 0) + (s?.down ?? 0);
    const model = db.select({ name: models.name }).from(models).where(eq(models.id, a.modelId)).get();
    return {
      ...a,
      modelName: model?.name ?? "(deleted version)",
      live: a.stoppedAt === null && exp.status === "running",
      conversations: s?.conversations ?? 0,
      answers,
      ratings,
      thumbsUp: s?.up ?? 0,
      thumbsUpRate: wilson(s?.up ?? 0, ratings),
      regenerateRate: answers ? (s?.regenerated ?? 0) / answers : null,
      outOfScopeRate: answers ? (s?.outOfScope ?? 0) / answers : null,
      errorRate: answers ? (s?.errors ?? 0) / answers : null,
      errors: s?.errors ?? 0,
      avgChars: s?.avgChars ?? null,
      avgTokens: s?.avgTokens ?? null,
      avgLatencyMs: s?.avgMs ?? null,
      avgTtftMs: s?.avgTtftMs ?? null,
      /** The default eval set's reading of this arm against the version active before the experiment (the activation gate's evidence). */
      eval:
        a.modelId === exp.baselineModelId
          ? { verdict: "baseline", message: "The version that was active when the experiment started." }
          : (({ verdict, message, evalRunId }) => ({ verdict, message, evalRunId }))(activationEvidence(db, { assistantId: exp.assistantId, modelId: a.modelId, previousModelId: exp.baselineModelId })),
    };
  });
  return { ...exp, assistantName: assistant.name, activeModelId: assistant.modelId, arms: armViews, reading: readingOf(armViews) };
}

/** The plain-words reading of the two best-rated arms. */
export function readingOf(arms: { label: string; ratings: number; thumbsUp: number }[]): string {
  const rated = arms.filter((a) => a.ratings > 0).sort((x, y) => y.thumbsUp / y.ratings - x.thumbsUp / x.ratings);
  const total = arms.reduce((n, a) => n + a.ratings, 0);
  if (rated.length < 2) return total === 0 ? "No ratings yet: nothing to compare." : `Only arm ${rated[0]!.label} has ratings so far (${total}); nothing to compare yet.`;
  const [a, b] = [rated[0]!, rated[1]!];
  const ra = a.thumbsUp / a.ratings;
  const rb = b.thumbsUp / b.ratings;
  if (ra === rb) return `Arms ${a.label} and ${b.label} are level at ${pct(ra)} thumbs-up (${total} ratings).`;
  const p = twoProportionP(a.thumbsUp, a.ratings, b.thumbsUp, b.ratings);
  const verdict = p !== null && p < 0.05 ? `significant at ${total} ratings (p = ${p.toFixed(3)})` : `not yet significant at ${total} ratings${p === null ? "" : ` (p = ${p.toFixed(2)})`}`;
  return `Arm ${a.label} is ahead, ${pct(ra)} vs ${pct(rb)} thumbs-up, ${verdict}.`;
}

export function listExperiments(db: AtelierDb, assistantId: string) {
  return db.select().from(experiments).where(eq(experiments.assistantId, assistantId)).orderBy(desc(experiments.createdAt)).all();
}

/** Ends the experiment; all new turns go to the active version (turns in flight finish on their arm). */
export function stopExperiment(db: AtelierDb, id: string, session: Session | null) {
  const exp = experimentRow(db, id);
  if (exp.status !== "running") throw new AtelierError("conflict:loop", "This experiment has already ended.");
  db.update(experiments).set({ status: "stopped", endedAt: Date.now(), endedReason: "Stopped by the owner; all traffic is back on the active version." }).where(eq(experiments.id, id)).run();
  recordAudit(db, session, "experiment.stop", { type: "assistant", id: exp.assistantId }, { experimentId: id });
  return getExperiment(db, id);
}

/** Activates the arm's version through the activation gate, then ends the experiment. */
export function promoteArm(db: AtelierDb, input: { experimentId: string; armId: string; override?: boolean }, session: Session | null) {
  const exp = experimentRow(db, input.experimentId);
  if (exp.status !== "running") throw new AtelierError("conflict:loop", "This experiment has already ended.");
  const arm = armsOf(db, exp.id).find((a) => a.id === input.armId);
  if (!arm) throw notFound("loop", "Experiment arm", input.armId);
  const { previousModelId } = activateVersion(db, { assistantId: exp.assistantId, modelId: arm.modelId, override: input.override }, session);
  db.update(experiments).set({ status: "promoted", winnerArmId: arm.id, endedAt: Date.now(), endedReason: `Arm ${arm.label} was promoted.` }).where(eq(experiments.id, exp.id)).run();
  recordAudit(db, session, "experiment.promote", { type: "assistant", id: exp.assistantId }, { experimentId: exp.id, armId: arm.id, modelId: arm.modelId, previousModelId });
  return { ...getExperiment(db, exp.id), previousModelId };
}

/** Reactivates the version that was active before the experiment (new turns use it; turns in flight finish). */
export function rollbackExperiment(db: AtelierDb, id: string, session: Session | null) {
  const exp = experimentRow(db, id);
  if (exp.status !== "promoted") throw new AtelierError("conflict:loop", "Only a promoted experiment can be rolled back.");
  if (!exp.baselineModelId) throw new AtelierError("precondition:loop", "The assistant had no version before this experiment.");
  servableVersion(db, exp.baselineModelId);
  // Going back to what served before is always allowed; the gate records the override.
  activateVersion(db, { assistantId: exp.assistantId, modelId: exp.baselineModelId, override: true }, session);
  db.update(experiments).set({ endedReason: `${exp.endedReason ?? ""} Rolled back to the earlier version.`.trim() }).where(eq(experiments.id, id)).run();
  recordAudit(db, session, "experiment.rollback", { type: "assistant", id: exp.assistantId }, { experimentId: id, modelId: exp.baselineModelId });
  return getExperiment(db, id);
}
