import "server-only";
import { z } from "zod";
import { validateContent } from "../chat/send";
import type { AtelierDb } from "../db/client";
import { AppError } from "../errors";
import type { GenerationStats } from "../llm/generate";
import type { MessageCitation } from "../db/schema";
import { knowledgeBudget, retrieveFromCollections, withKnowledge } from "../knowledge/retrieve";
import { getModelRow } from "../models/registry";
import { generateWithSettings, renderPrompt, resolveModel } from "./generate";
import { assistantSettingsSchema } from "./settings";

/** The unsaved settings "Try it" generates with (only what shapes the answer). */
export const draftSchema = assistantSettingsSchema.pick({
  systemPrompt: true,
  outOfScopeReply: true,
  historyWindow: true,
  sampling: true,
  modelId: true,
}).extend({
  /** Knowledge collections of the draft; retrieval runs as in chat when any are given. */
  collectionIds: assistantSettingsSchema.shape.collectionIds.optional(),
});

export const MAX_TRY_MESSAGES = 100;

export const tryItInput = z.object({
  draft: draftSchema,
  /** The try-it conversation so far, ending with the user's new message. */
  messages: z
    .array(z.object({ role: z.enum(["user", "assistant"]), content: z.string() }))
    .min(1, "Type a message to try the assistant.")
    .max(MAX_TRY_MESSAGES, `A try-it conversation holds at most ${MAX_TRY_MESSAGES} messages; clear it to start over.`),
});
export type TryItInput = z.infer<typeof tryItInput>;

export type TryItEvent =
  | { type: "start"; model: { id: string; label: string } }
  | { type: "citations"; citations: MessageCitation[] }
  | { type: "token"; text: string }
  | { type: "done"; text: string; aborted: boolean; stats: GenerationStats };

function checkedTurns(input: TryItInput) {
  const last = input.messages.at(-1);
  if (last?.role !== "user") throw new AppError("BAD_REQUEST", "The last try-it message must be the user's.");
  return input.messages.map((m, i) =>
    // Earlier assistant answers may be empty (stopped at once); the new question may not.
    m.role === "user" || i === input.messages.length - 1 ? { role: m.role, content: validateContent(m.content) } : m,
  );
}

/**
 * One answer under unsaved settings, through the same engine path as chat.send; nothing is
 * stored. Aborting (the request's signal) stops generation.
 */
export async function* tryIt(db: AtelierDb, input: TryItInput, signal?: AbortSignal): AsyncGenerator<TryItEvent> {
  const turns = checkedTurns(input);
  const model = resolveModel(db, input.draft.modelId, "This draft");
  yield { type: "start", model: { id: model.id, label: model.label } };
  const question = turns.at(-1)!.content;
  const knowledge = await retrieveFromCollections(db, input.draft.collectionIds ?? [], question, knowledgeBudget(getModelRow(db, model.id).contextLength));
  if (knowledge.citations.length) yield { type: "citations", citations: knowledge.citations };
  const settings = { ...input.draft, systemPrompt: withKnowledge(input.draft.systemPrompt, knowledge) };
  for await (const ev of generateWithSettings({ spec: model.spec, settings, turns, signal })) {
    if (ev.type === "text") yield { type: "token", text: ev.text };
    else yield { type: "done", text: ev.text, aborted: ev.aborted, stats: ev.stats };
  }
}

/** The prompt text the model would see for this draft and conversation (for the "View prompt" panel). */
export async function previewPrompt(db: AtelierDb, input: TryItInput) {
  const turns = checkedTurns(input);
  const model = resolveModel(db, input.draft.modelId, "This draft");
  return { model: { id: model.id, label: model.label }, ...(await renderPrompt(model.spec, input.draft, turns)) };
}
