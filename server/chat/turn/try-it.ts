import "server-only";
import { z } from "zod";
import { assistantSettingsSchema } from "../../assistants";
import type { AtelierDb } from "../../db/client";
import { env } from "../../env";
import { AtelierError } from "../../errors";
import { answer, prepareTurn, type TurnEvent } from "./answer";
import type { TurnConfig } from "./config";
import { renderPrompt } from "./generate";
import { validateContent } from "./send";

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

export type TryItEvent = TurnEvent;

function checkedTurns(input: TryItInput) {
  const last = input.messages.at(-1);
  if (last?.role !== "user") throw new AtelierError("bad_request:chat", "The last try-it message must be the user's.");
  const total = input.messages.reduce((n, m) => n + m.content.length, 0);
  const max = env().ATELIER_MAX_REQUEST_CHARS;
  if (total > max) {
    throw new AtelierError("too_large:chat", `This try-it conversation has ${total.toLocaleString("en")} characters in all; the limit is ${max.toLocaleString("en")}. Clear it to start over.`);
  }
  return input.messages.map((m, i) =>
    // Earlier assistant answers may be empty (stopped at once); the new question may not.
    m.role === "user" || i === input.messages.length - 1 ? { role: m.role, content: validateContent(m.content) } : m,
  );
}

function draftConfig(input: TryItInput): TurnConfig {
  const { modelId, collectionIds, ...persona } = input.draft;
  return { modelId, name: "This draft", persona, collectionIds: collectionIds ?? [] };
}

/**
 * One answer under unsaved settings, through the same turn as chat.send; nothing is stored.
 * Aborting (the request's signal) stops generation.
 */
export async function* tryIt(db: AtelierDb, input: TryItInput, signal?: AbortSignal): AsyncGenerator<TryItEvent> {
  yield* answer(db, { config: draftConfig(input), turns: checkedTurns(input), signal });
}

/**
 * The prompt text the model would see for this draft and conversation (for the "View prompt"
 * panel): fitted exactly as a turn is, sources and dropped turns included.
 */
export async function previewPrompt(db: AtelierDb, input: TryItInput) {
  const turn = await prepareTurn(db, draftConfig(input), checkedTurns(input));
  return {
    model: { id: turn.model.id, label: turn.model.label },
    ...(await renderPrompt(turn.model.spec, turn.prompt)),
    droppedTurns: turn.prompt.droppedTurns,
  };
}
