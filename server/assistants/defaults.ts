import "server-only";
import type { AtelierDb } from "../db/client";
import { assistants, type SamplingSettings } from "../db/schema";
import { newId } from "../ids";

export const DEFAULT_SAMPLING: SamplingSettings = { temperature: 0.3, topP: 0.9, topK: 40, repeatPenalty: 1.1, maxTokens: 512 };

/** The prompt the starter model was trained with (server/forge/starter/recipe.ts); it answers best under it. */
export const DEFAULT_SYSTEM_PROMPT = "You are Atelier's guide. Answer questions about Atelier briefly.";

/**
 * The starter assistant's scope note, after the trained prompt: what it knows and what it does
 * not. The 4-layer starter generalises its trained refusals only so far; tests/integration/
 * everyday.test.ts measures, greedily, how many unseen off-topic questions it declines and how
 * many Atelier questions it still answers as trained, with this note and without it.
 */
export const STARTER_SCOPE_NOTE = "You only know about Atelier: for anything else, say that you do not know.";

/** What the starter says to questions outside Atelier: the refusal it was trained to give. */
export const STARTER_OUT_OF_SCOPE_REPLY = "I don't know. I am a tiny model that only knows about Atelier. For general questions, add a bigger model in Models and chat with it.";

/** A new assistant's out-of-scope reply until its editor writes one for its domain. */
export const DEFAULT_OUT_OF_SCOPE_REPLY = "Sorry, that is outside what I can help with here. Please ask me about the topics I cover.";

/** On first start, the default assistant ("Atelier Guide") on the starter model; never again once any assistant exists. */
export function ensureDefaultAssistant(db: AtelierDb, modelId: string): void {
  const hasAssistant = db.select({ id: assistants.id }).from(assistants).limit(1).get();
  if (hasAssistant) return;
  db.insert(assistants)
    .values({
      id: newId(),
      name: "Atelier Guide",
      systemPrompt: `${DEFAULT_SYSTEM_PROMPT} ${STARTER_SCOPE_NOTE}`,
      outOfScopeReply: STARTER_OUT_OF_SCOPE_REPLY,
      greeting: "Hi! I'm Atelier's guide, running on a tiny model Atelier trained itself. Ask me about Atelier.",
      starterQuestions: ["What is Atelier?", "How do I train a model?", "How do I embed the chat widget?"],
      color: "#6366f1",
      modelId,
      sampling: DEFAULT_SAMPLING,
      isDefault: true,
    })
    .run();
}
