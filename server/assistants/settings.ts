import "server-only";
import { z } from "zod";

/** Limits of an assistant's settings; the editor shows the same numbers. */
export const ASSISTANT_LIMITS = {
  name: 80,
  avatar: 8,
  systemPrompt: 20_000,
  greeting: 2_000,
  starterQuestions: 6,
  starterQuestion: 200,
  outOfScopeReply: 1_000,
  historyWindow: 200,
  collections: 50,
} as const;

const optionalText = (max: number, label: string) =>
  z
    .string()
    .max(max, `The ${label} is too long (limit ${max.toLocaleString("en")} characters).`)
    .nullish()
    .transform((s) => (s?.trim() ? s.trim() : null));

/** Sampling ranges: wide enough to experiment, narrow enough that nothing degenerate reaches the engine. */
export const samplingSchema = z.object({
  temperature: z.number().min(0, "Temperature must be between 0 and 2.").max(2, "Temperature must be between 0 and 2."),
  topP: z.number().gt(0, "Top-p must be greater than 0 and at most 1.").max(1, "Top-p must be greater than 0 and at most 1."),
  topK: z.number().int("Top-k must be a whole number.").min(0, "Top-k must be between 0 (off) and 200.").max(200, "Top-k must be between 0 (off) and 200."),
  repeatPenalty: z.number().min(1, "Repeat penalty must be between 1 (off) and 2.").max(2, "Repeat penalty must be between 1 (off) and 2."),
  maxTokens: z.number().int("Max tokens must be a whole number.").min(1, "Max tokens must be between 1 and 4,096.").max(4096, "Max tokens must be between 1 and 4,096."),
});

/** Everything an editor sets on an assistant (also the unsaved draft "Try it" generates with). */
export const assistantSettingsSchema = z.object({
  name: z.string().trim().min(1, "Give the assistant a name.").max(ASSISTANT_LIMITS.name, `The name is too long (limit ${ASSISTANT_LIMITS.name} characters).`),
  avatar: optionalText(ASSISTANT_LIMITS.avatar, "avatar"),
  color: z.string().regex(/^#[0-9a-fA-F]{6}$/, "The color must be a hex color like #6366f1.").transform((c) => c.toLowerCase()),
  systemPrompt: z
    .string()
    .max(
      ASSISTANT_LIMITS.systemPrompt,
      `The system prompt is too long (limit ${ASSISTANT_LIMITS.systemPrompt.toLocaleString("en")} characters); move reference material into a knowledge collection.`,
    ),
  greeting: optionalText(ASSISTANT_LIMITS.greeting, "greeting"),
  starterQuestions: z
    .array(z.string().trim().min(1, "A starter question is empty.").max(ASSISTANT_LIMITS.starterQuestion, `A starter question is too long (limit ${ASSISTANT_LIMITS.starterQuestion} characters).`))
    .max(ASSISTANT_LIMITS.starterQuestions, `At most ${ASSISTANT_LIMITS.starterQuestions} starter questions.`),
  sampling: samplingSchema,
  outOfScopeReply: optionalText(ASSISTANT_LIMITS.outOfScopeReply, "out-of-scope reply"),
  historyWindow: z
    .number()
    .int("The history window must be a whole number.")
    .min(0, `The history window must be between 0 (all that fit) and ${ASSISTANT_LIMITS.historyWindow}.`)
    .max(ASSISTANT_LIMITS.historyWindow, `The history window must be between 0 (all that fit) and ${ASSISTANT_LIMITS.historyWindow}.`),
  modelId: z.string().min(1).max(100).nullable(),
  collectionIds: z.array(z.string().min(1).max(100)).max(ASSISTANT_LIMITS.collections, `At most ${ASSISTANT_LIMITS.collections} collections.`),
});
export type AssistantSettings = z.output<typeof assistantSettingsSchema>;
export type AssistantSettingsInput = z.input<typeof assistantSettingsSchema>;

/** An edit sends only the fields it changes. */
export const assistantPatchSchema = assistantSettingsSchema.partial();
export type AssistantPatch = z.output<typeof assistantPatchSchema>;

/** The part of the settings that shapes a generated answer. */
export type GenerationSettings = Pick<AssistantSettings, "systemPrompt" | "outOfScopeReply" | "historyWindow" | "sampling" | "modelId">;

/** How an assistant answers, apart from which model answers: what an evaluation varies independently of the model version. */
export type Persona = Omit<GenerationSettings, "modelId">;
