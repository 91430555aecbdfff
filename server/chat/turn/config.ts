import "server-only";
import { asc, eq } from "drizzle-orm";
import type { Persona } from "../../assistants";
import type { AtelierDb } from "../../db/client";
import { assistantCollections, type AssistantRow } from "../../db/schema";

/**
 * Everything that decides how one answer is made, and nothing about where it is stored: the model
 * version, the persona and the knowledge. A saved assistant, the unsaved draft of "Try it" and an
 * evaluation's (model version × knowledge on/off × persona) cell are all one of these.
 */
export type TurnConfig = {
  /** A row of `models`: base, fine-tuned, or a LoRA adapter (served on its base). */
  modelId: string | null;
  /** Who answers, for messages such as "Support bot has no model selected." */
  name: string;
  persona: Persona;
  /** Knowledge collections to retrieve from; empty means knowledge off. */
  collectionIds: string[];
  /** A fixed sampling seed, for reproducible answers (evaluations); unset, each answer draws its own. */
  seed?: number;
  /** Text that ends the answer where it first appears (OpenAI's `stop`); it is not part of the answer. */
  stop?: string[];
};

/** The turn configuration of a saved assistant. */
export function assistantTurnConfig(db: AtelierDb, assistant: AssistantRow): TurnConfig {
  const collectionIds = db
    .select({ id: assistantCollections.collectionId })
    .from(assistantCollections)
    .where(eq(assistantCollections.assistantId, assistant.id))
    .orderBy(asc(assistantCollections.collectionId))
    .all()
    .map((r) => r.id);
  return {
    modelId: assistant.modelId,
    name: assistant.name,
    persona: { systemPrompt: assistant.systemPrompt, outOfScopeReply: assistant.outOfScopeReply, historyWindow: assistant.historyWindow, sampling: assistant.sampling },
    collectionIds,
  };
}
