import type { Cleaning, DatasetKind, Goal, Method, ScratchSize } from "./studio-types";

/** The new-training stepper, one screen per decision. */
export const WIZARD_STEPS = [
  { id: "data", title: "Your data" },
  { id: "preview", title: "Preview & clean" },
  { id: "goal", title: "Goal" },
  { id: "plan", title: "Plan" },
  { id: "start", title: "Start" },
] as const;
export type WizardStepId = (typeof WIZARD_STEPS)[number]["id"];

export interface WizardDataset {
  id: string;
  name: string;
  kind: DatasetKind;
  recordCount: number;
}

export interface WizardState {
  step: number;
  dataset: WizardDataset | null;
  baseModelId: string | null;
  cleaning: Cleaning;
  goal: Goal | null;
  method: Method;
  epochs: number;
  loraRank: number;
  scratchSize: ScratchSize;
  /** Optional cap on optimizer steps (an expert knob; null = as many as the epochs need). */
  maxSteps: number | null;
  /** Matmul precision (an expert knob): auto = bf16 where the CPU has AVX512-BF16 or a GPU is used, else f32. */
  precision: Precision;
  name: string;
  assistantId: string | null;
}

export const LORA_RANKS = [4, 8, 16, 32] as const;
export const PRECISIONS = ["auto", "f32", "bf16"] as const;
export type Precision = (typeof PRECISIONS)[number];
export const PRECISION_LABEL: Record<Precision, string> = { auto: "Automatic (default)", f32: "f32", bf16: "bf16 (needs AVX512-BF16 or a GPU)" };
export const DEFAULT_EPOCHS: Record<Goal, number> = { domain: 2, answers: 3, scratch: 3 };

/**
 * Cleaning defaults: exact and near duplicates out, PII scrubbed for raw text (documents are where
 * stray e-mails and phone numbers hide; curated Q&A usually is intentional), 10% held out so the
 * before/after perplexity is measured on text the model never trained on.
 */
export function defaultCleaning(kind: DatasetKind): Cleaning {
  return { dedupe: true, nearDedupe: true, scrubPii: kind === "text", minChars: 20, maxChars: 20_000, heldOutFraction: 0.1 };
}

export function initialWizard(): WizardState {
  return {
    step: 0,
    dataset: null,
    baseModelId: null,
    cleaning: defaultCleaning("text"),
    goal: null,
    method: "lora",
    epochs: DEFAULT_EPOCHS.domain,
    loraRank: 8,
    scratchSize: "tiny",
    maxSteps: null,
    precision: "auto",
    name: "",
    assistantId: null,
  };
}

/** Raw text teaches a domain; Q&A/chat records teach how to answer. */
export const suggestedGoal = (kind: DatasetKind): Goal => (kind === "chat" ? "answers" : "domain");

export function selectDataset(s: WizardState, dataset: WizardDataset): WizardState {
  const changed = s.dataset?.id !== dataset.id;
  return {
    ...s,
    dataset,
    cleaning: changed ? defaultCleaning(dataset.kind) : s.cleaning,
    goal: changed ? null : s.goal,
    name: changed || !s.name ? `${dataset.name} — ${new Date().toLocaleDateString("en-US", { month: "short", day: "numeric" })}` : s.name,
  };
}

/** Picking a goal picks the matching method; "full" survives a goal change between the two fine-tune goals. */
export function chooseGoal(s: WizardState, goal: Goal): WizardState {
  const method: Method = goal === "scratch" ? "scratch" : s.method === "full" ? "full" : "lora";
  return { ...s, goal, method, epochs: s.goal === goal ? s.epochs : DEFAULT_EPOCHS[goal] };
}

export interface PlanInput {
  datasetId: string;
  baseModelId: string | null;
  goal: Goal;
  method: Method;
  epochs: number;
  loraRank?: number;
  scratchSize?: ScratchSize;
  cleaning: Cleaning;
  advanced?: { maxSteps?: number; precision?: Precision };
}

/** The plan/start input, or null while a decision it needs is still open. */
export function planInput(s: WizardState, override?: Partial<Pick<WizardState, "method">>): PlanInput | null {
  if (!s.dataset || !s.goal) return null;
  const method = override?.method ?? s.method;
  const scratch = s.goal === "scratch";
  if (!scratch && !s.baseModelId) return null;
  return {
    datasetId: s.dataset.id,
    baseModelId: scratch ? null : s.baseModelId,
    goal: s.goal,
    method: scratch ? "scratch" : method,
    epochs: s.epochs,
    ...(method === "lora" && !scratch ? { loraRank: s.loraRank } : {}),
    ...(scratch ? { scratchSize: s.scratchSize } : {}),
    cleaning: s.cleaning,
    ...(s.maxSteps || s.precision !== "auto" ? { advanced: { ...(s.maxSteps ? { maxSteps: s.maxSteps } : {}), ...(s.precision !== "auto" ? { precision: s.precision } : {}) } } : {}),
  };
}

/** Why the user can't go on from `step` yet (null: they can). */
export function blockedReason(s: WizardState, step: number): string | null {
  switch (WIZARD_STEPS[step]?.id) {
    case "data":
      return s.dataset ? null : "Upload files or pick a dataset first.";
    case "preview":
      if (!s.baseModelId) return "Choose the base model first.";
      if (s.cleaning.minChars > s.cleaning.maxChars) return "The minimum length is above the maximum length.";
      return null;
    case "goal":
      return s.goal ? null : "Choose what you want the model to learn.";
    default:
      return null;
  }
}

/** Cleaning inputs as the user edits them, clamped to what the server accepts. */
export function clampCleaning(c: Cleaning): Cleaning {
  const int = (n: number, lo: number, hi: number) => (Number.isFinite(n) ? Math.min(hi, Math.max(lo, Math.round(n))) : lo);
  return {
    ...c,
    minChars: int(c.minChars, 0, 1_000_000),
    maxChars: int(c.maxChars, 1, 10_000_000),
    heldOutFraction: Number.isFinite(c.heldOutFraction) ? Math.min(0.5, Math.max(0, c.heldOutFraction)) : 0.1,
  };
}
