import type { RouterInputs, RouterOutputs } from "@/app/_lib/trpc";

export type AssistantDetail = RouterOutputs["assistants"]["get"];
export type Settings = RouterInputs["assistants"]["create"];
export type Sampling = Settings["sampling"];
export type TryItDraft = RouterInputs["assistants"]["tryIt"]["draft"];

export type Retrieval = NonNullable<Settings["retrieval"]>;
/** Mirrors server/knowledge/retrieve.ts (DEFAULT_RETRIEVAL, RETRIEVAL_LIMITS). */
export const DEFAULT_RETRIEVAL: Retrieval = { passages: 8, minScore: 0, rerank: false };
export const RETRIEVAL_LIMITS = { passages: { min: 1, max: 20 }, minScore: { min: 0, max: 1 } } as const;

/** Mirrors server/assistants/settings.ts (the server enforces them; the form shows them). */
export const LIMITS = { systemPrompt: 20_000, greeting: 2_000, starterQuestions: 6, avatar: 8, outOfScopeReply: 1_000, historyWindow: 200 };

export const SAMPLING_FIELDS: { key: keyof Sampling; label: string; min: number; max: number; step: number; hint: string }[] = [
  { key: "temperature", label: "Temperature", min: 0, max: 2, step: 0.05, hint: "0 always picks the likeliest word; higher is more varied." },
  { key: "topP", label: "Top-p", min: 0.05, max: 1, step: 0.05, hint: "Sample only from the most likely words that add up to this share." },
  { key: "topK", label: "Top-k", min: 0, max: 200, step: 1, hint: "Sample from the k likeliest words (0 = no limit)." },
  { key: "repeatPenalty", label: "Repeat penalty", min: 1, max: 2, step: 0.05, hint: "Discourages repeating recent words (1 = off)." },
  { key: "maxTokens", label: "Max tokens", min: 1, max: 4096, step: 1, hint: "The longest answer, in tokens." },
];

export const COLORS = ["#6366f1", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#ec4899", "#8b5cf6", "#64748b"];
export const AVATARS = ["🤖", "🛟", "📚", "🧭", "💡", "🩺", "⚖️", "🛠️"];

/** The editable settings of a stored assistant, as the form holds them. */
export function settingsOf(a: AssistantDetail): Settings {
  return {
    name: a.name,
    avatar: a.avatar,
    color: a.color,
    systemPrompt: a.systemPrompt,
    greeting: a.greeting,
    starterQuestions: a.starterQuestions,
    sampling: a.sampling,
    outOfScopeReply: a.outOfScopeReply,
    historyWindow: a.historyWindow,
    modelId: a.modelId,
    collectionIds: a.collectionIds,
    retrieval: a.retrieval,
  };
}

/** Optional text fields: empty in the form means "none" on the server. */
const normalize = (s: Settings): Settings => ({
  ...s,
  avatar: s.avatar?.trim() || null,
  greeting: s.greeting?.trim() || null,
  outOfScopeReply: s.outOfScopeReply?.trim() || null,
  starterQuestions: (s.starterQuestions ?? []).map((q) => q.trim()).filter(Boolean),
  collectionIds: [...(s.collectionIds ?? [])].sort(),
});

/** Only the fields the form changed (what a save sends and the history will show). */
export function changedFields(saved: Settings, draft: Settings): Partial<Settings> {
  const a = normalize(saved);
  const b = normalize(draft);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(b) as (keyof Settings)[]) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) out[key] = b[key];
  }
  return out as Partial<Settings>;
}

export function forTryIt(draft: Settings): TryItDraft {
  const s = normalize(draft);
  return {
    systemPrompt: s.systemPrompt,
    outOfScopeReply: s.outOfScopeReply,
    historyWindow: s.historyWindow,
    sampling: s.sampling,
    modelId: s.modelId,
    collectionIds: s.collectionIds,
    ...(s.retrieval ? { retrieval: s.retrieval } : {}),
  };
}

export function normalized(draft: Settings): Settings {
  return normalize(draft);
}

/** Human names of settings, for the change history. */
export const FIELD_LABELS: Record<string, string> = {
  name: "name",
  avatar: "avatar",
  color: "color",
  systemPrompt: "system prompt",
  greeting: "greeting",
  starterQuestions: "starter questions",
  sampling: "sampling",
  outOfScopeReply: "out-of-scope reply",
  historyWindow: "history window",
  modelId: "model",
  collectionIds: "knowledge",
  retrieval: "retrieval",
};
