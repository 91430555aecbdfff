import "server-only";
import type { AtelierDb } from "../db/client";
import { assistants, type SamplingSettings } from "../db/schema";
import { newId } from "../ids";

export const DEFAULT_SAMPLING: SamplingSettings = { temperature: 0.3, topP: 0.9, topK: 40, repeatPenalty: 1.1, maxTokens: 512 };

/** The prompt the starter model was trained with (server/forge/starter/recipe.ts); it answers best under it. */
export const DEFAULT_SYSTEM_PROMPT = "You are Atelier's guide. Answer questions about Atelier briefly.";

/** On first start, the default assistant ("Atelier Guide") on the starter model; never again once any assistant exists. */
export function ensureDefaultAssistant(db: AtelierDb, modelId: string): void {
  const hasAssistant = db.select({ id: assistants.id }).from(assistants).limit(1).get();
  if (hasAssistant) return;
  db.insert(assistants)
    .values({
      id: newId(),
      name: "Atelier Guide",
      systemPrompt: DEFAULT_SYSTEM_PROMPT,
      greeting: "Hi! I'm Atelier's guide, running on a tiny model Atelier trained itself. Ask me about Atelier.",
      starterQuestions: ["What is Atelier?", "How do I train a model?", "How do I embed the chat widget?"],
      color: "#6366f1",
      modelId,
      sampling: DEFAULT_SAMPLING,
      isDefault: true,
    })
    .run();
}
