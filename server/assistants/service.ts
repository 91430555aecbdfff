import "server-only";
import { asc, desc, eq, inArray, isNotNull, isNull } from "drizzle-orm";
import { auditTrail, diffFields, recordAudit } from "../auth";
import { users } from "../db/auth-tables";
import type { Session } from "../auth";
import { DEFAULT_SAMPLING } from "./defaults";
import { assistantView, getAssistant, type AssistantView } from "./lookup";
import type { AtelierDb } from "../db/client";
import { assistantCollections, assistants, type AssistantRow } from "../db/schema";
import { AtelierError } from "../errors";
import { newId } from "../ids";
import { getCollection } from "../knowledge";
import { getModelRow } from "../models";
import type { AssistantPatch, AssistantSettings } from "./settings";

export const AUDIT_ENTITY = "assistant";

export type AssistantDetail = AssistantView & { collectionIds: string[] };
export type AssistantStatus = "active" | "archived" | "all";

/** The editable settings of a stored assistant, in the same shape as the editor's form. */
export function settingsOf(row: AssistantRow, collectionIds: string[]): AssistantSettings {
  return {
    name: row.name,
    avatar: row.avatar,
    color: row.color,
    systemPrompt: row.systemPrompt,
    greeting: row.greeting,
    starterQuestions: row.starterQuestions,
    sampling: row.sampling,
    outOfScopeReply: row.outOfScopeReply,
    historyWindow: row.historyWindow,
    modelId: row.modelId,
    collectionIds,
  };
}

function collectionIdsOf(db: AtelierDb, assistantId: string): string[] {
  return db
    .select({ id: assistantCollections.collectionId })
    .from(assistantCollections)
    .where(eq(assistantCollections.assistantId, assistantId))
    .orderBy(asc(assistantCollections.collectionId))
    .all()
    .map((r) => r.id);
}

function detail(db: AtelierDb, row: AssistantRow): AssistantDetail {
  return { ...assistantView(db, row), collectionIds: collectionIdsOf(db, row.id) };
}

export function listAssistants(db: AtelierDb, status: AssistantStatus = "active"): AssistantDetail[] {
  const filter = status === "active" ? isNull(assistants.archivedAt) : status === "archived" ? isNotNull(assistants.archivedAt) : undefined;
  return db
    .select()
    .from(assistants)
    .where(filter)
    .orderBy(desc(assistants.isDefault), asc(assistants.createdAt))
    .all()
    .map((row) => detail(db, row));
}

export function getAssistantDetail(db: AtelierDb, id: string): AssistantDetail {
  return detail(db, getAssistant(db, id));
}

/** Checks what the settings point at exists, so nothing dangling is saved. */
function checkReferences(db: AtelierDb, s: Pick<AssistantPatch, "modelId" | "collectionIds">): void {
  if (s.modelId) getModelRow(db, s.modelId);
  for (const id of new Set(s.collectionIds ?? [])) getCollection(db, id);
}

function writeCollections(db: AtelierDb, assistantId: string, ids: string[]): void {
  db.delete(assistantCollections).where(eq(assistantCollections.assistantId, assistantId)).run();
  const unique = [...new Set(ids)];
  if (unique.length > 0) db.insert(assistantCollections).values(unique.map((collectionId) => ({ assistantId, collectionId }))).run();
}

/** Settings a brand-new assistant starts from (the editor's "New assistant" form). */
export function defaultSettings(db: AtelierDb): AssistantSettings {
  const fallback = db.select().from(assistants).where(eq(assistants.isDefault, true)).get();
  return {
    name: "",
    avatar: null,
    color: "#6366f1",
    systemPrompt: "",
    greeting: null,
    starterQuestions: [],
    sampling: DEFAULT_SAMPLING,
    outOfScopeReply: null,
    historyWindow: 20,
    modelId: fallback?.modelId ?? null,
    collectionIds: [],
  };
}

export function createAssistant(db: AtelierDb, session: Session | null, input: AssistantSettings): AssistantDetail {
  return insertAssistant(db, session, input, "assistant.create", { name: input.name });
}

function insertAssistant(db: AtelierDb, session: Session | null, input: AssistantSettings, action: string, auditDetail: Record<string, unknown>): AssistantDetail {
  checkReferences(db, input);
  const { collectionIds, ...columns } = input;
  const id = db.transaction((tx) => {
    const t = tx as unknown as AtelierDb;
    const row = t.insert(assistants).values({ id: newId(), ...columns }).returning().get();
    writeCollections(t, row.id, collectionIds);
    recordAudit(t, session, action, { type: AUDIT_ENTITY, id: row.id }, auditDetail);
    return row.id;
  });
  return getAssistantDetail(db, id);
}

export function updateAssistant(db: AtelierDb, session: Session | null, id: string, patch: AssistantPatch): AssistantDetail {
  const row = getAssistant(db, id);
  checkReferences(db, patch);
  const before = settingsOf(row, collectionIdsOf(db, id));
  const changes = diffFields(before, patch);
  if (Object.keys(changes).length === 0) return getAssistantDetail(db, id);
  const { collectionIds, ...columns } = patch;
  db.transaction((tx) => {
    const t = tx as unknown as AtelierDb;
    t.update(assistants).set({ ...columns, updatedAt: Date.now() }).where(eq(assistants.id, id)).run();
    if (collectionIds) writeCollections(t, id, collectionIds);
    recordAudit(t, session, "assistant.update", { type: AUDIT_ENTITY, id }, changes);
  });
  return getAssistantDetail(db, id);
}

/** A copy with every setting and collection; never the default, never archived. */
export function duplicateAssistant(db: AtelierDb, session: Session | null, id: string): AssistantDetail {
  const row = getAssistant(db, id);
  const copy = settingsOf(row, collectionIdsOf(db, id));
  const name = `${row.name} (copy)`.slice(0, 80);
  return insertAssistant(db, session, { ...copy, name }, "assistant.duplicate", { name, from: row.id, fromName: row.name });
}

/** Archived assistants leave the chat picker; their conversations stay readable and usable. */
export function setArchived(db: AtelierDb, session: Session | null, id: string, archived: boolean): AssistantDetail {
  const row = getAssistant(db, id);
  if (archived && row.isDefault) {
    throw new AtelierError("conflict:assistant", `${row.name} is the default assistant; make another assistant the default before archiving it.`);
  }
  if (archived === (row.archivedAt !== null)) return getAssistantDetail(db, id);
  db.transaction((tx) => {
    const t = tx as unknown as AtelierDb;
    t.update(assistants).set({ archivedAt: archived ? Date.now() : null, updatedAt: Date.now() }).where(eq(assistants.id, id)).run();
    recordAudit(t, session, archived ? "assistant.archive" : "assistant.restore", { type: AUDIT_ENTITY, id });
  });
  return getAssistantDetail(db, id);
}

export function setDefaultAssistant(db: AtelierDb, session: Session | null, id: string): AssistantDetail {
  const row = getAssistant(db, id);
  if (row.archivedAt !== null) throw new AtelierError("conflict:assistant", `${row.name} is archived; restore it before making it the default.`);
  if (row.isDefault) return getAssistantDetail(db, id);
  db.transaction((tx) => {
    const t = tx as unknown as AtelierDb;
    const previous = t.select({ id: assistants.id, name: assistants.name }).from(assistants).where(eq(assistants.isDefault, true)).all();
    if (previous.length > 0) t.update(assistants).set({ isDefault: false }).where(inArray(assistants.id, previous.map((p) => p.id))).run();
    t.update(assistants).set({ isDefault: true, updatedAt: Date.now() }).where(eq(assistants.id, id)).run();
    recordAudit(t, session, "assistant.set_default", { type: AUDIT_ENTITY, id }, { previous: previous[0]?.name ?? null });
  });
  return getAssistantDetail(db, id);
}

export type AssistantHistoryEntry = {
  id: number;
  action: string;
  createdAt: number;
  user: { id: string; name: string; email: string } | null;
  detail: Record<string, unknown> | null;
};

/** The assistant's change history, newest first, with who made each change. */
export function assistantHistory(db: AtelierDb, id: string): AssistantHistoryEntry[] {
  getAssistant(db, id);
  const rows = auditTrail(db, AUDIT_ENTITY, id);
  const userIds = [...new Set(rows.map((r) => r.userId).filter((u): u is string => !!u))];
  const people = userIds.length
    ? db.select({ id: users.id, name: users.name, email: users.email }).from(users).where(inArray(users.id, userIds)).all()
    : [];
  const byId = new Map(people.map((p) => [p.id, p]));
  return rows.map((r) => ({
    id: r.id,
    action: r.action,
    createdAt: r.createdAt,
    user: r.userId ? (byId.get(r.userId) ?? null) : null,
    detail: r.detail ?? null,
  }));
}
