import "server-only";
import { z } from "zod";
import { parseFact } from "./metrics";
import type { EvalConfig, EvalRowOrigin, EvalRowStatus, EvalRunStatus, ExpectedSource, RowProvenance, StoredCitation } from "./schema";

// Inputs (zod) and outputs of the evals API. Fields may be added, never renamed.

export const EVAL_LIMITS = {
  question: 4000,
  reference: 20_000,
  facts: 20,
  setName: 200,
  description: 2000,
  rowsPerSet: 5000,
  rowsPerCall: 500,
  importBytes: 5 * 1024 * 1024,
  configs: 12,
  systemPrompt: 20_000,
} as const;

const factSchema = z.string().superRefine((f, ctx) => {
  try {
    parseFact(f);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
  }
});

export const expectedSourceSchema = z.object({
  kind: z.enum(["document", "collection"]),
  id: z.string().min(1).max(200).nullable(),
  title: z.string().trim().max(500),
});

export const rowInput = z.object({
  question: z.string().trim().min(1, "The question is empty.").max(EVAL_LIMITS.question, `The question is longer than ${EVAL_LIMITS.question} characters.`),
  reference: z
    .string()
    .max(EVAL_LIMITS.reference, `The reference answer is longer than ${EVAL_LIMITS.reference.toLocaleString("en")} characters.`)
    .nullish()
    .transform((s) => (s?.trim() ? s.trim() : null)),
  facts: z.array(factSchema).max(EVAL_LIMITS.facts, `At most ${EVAL_LIMITS.facts} required facts per row.`).default([]).transform((fs) => fs.map((f) => f.trim())),
  expectedSource: expectedSourceSchema.nullish().transform((s) => s ?? null),
  shouldRefuse: z.boolean().default(false),
});
export type RowInput = z.output<typeof rowInput>;

export const idInput = z.object({ id: z.string().min(1).max(200) });
export const assistantFilter = z.object({ assistantId: z.string().min(1).max(200).nullish() }).optional();

export const setCreateInput = z.object({
  name: z.string().trim().min(1, "Give the set a name.").max(EVAL_LIMITS.setName),
  description: z.string().max(EVAL_LIMITS.description).default(""),
  /** null: shared by every assistant */
  assistantId: z.string().min(1).max(200).nullable(),
  isDefault: z.boolean().default(false),
});
export const setUpdateInput = z.object({
  id: z.string().min(1).max(200),
  name: z.string().trim().min(1, "Give the set a name.").max(EVAL_LIMITS.setName).optional(),
  description: z.string().max(EVAL_LIMITS.description).optional(),
  isDefault: z.boolean().optional(),
});

export const rowsAddInput = z.object({ setId: z.string().min(1).max(200), rows: z.array(rowInput).min(1).max(EVAL_LIMITS.rowsPerCall) });
export const rowUpdateInput = z.object({ id: z.string().min(1).max(200), row: rowInput });
export const rowIdsInput = z.object({ ids: z.array(z.string().min(1).max(200)).min(1).max(EVAL_LIMITS.rowsPerCall) });
export const reviewInput = z.object({
  setId: z.string().min(1).max(200),
  /** accepted as they are, or with the reviewer's edits */
  accept: z.array(z.object({ id: z.string().min(1).max(200), row: rowInput.optional() })).max(EVAL_LIMITS.rowsPerCall).default([]),
  drop: z.array(z.string().min(1).max(200)).max(EVAL_LIMITS.rowsPerCall).default([]),
});

export const importInput = z.object({
  setId: z.string().min(1).max(200),
  fileName: z.string().trim().min(1).max(300),
  content: z.string().max(EVAL_LIMITS.importBytes, `The file is larger than ${EVAL_LIMITS.importBytes / 1024 / 1024} MB.`),
});
export const exportInput = z.object({ setId: z.string().min(1).max(200), format: z.enum(["jsonl", "csv"]) });

const endpointSchema = z.object({
  kind: z.literal("endpoint"),
  url: z.string().trim().min(1, "Give the endpoint's URL.").max(2000),
  model: z.string().trim().min(1, "Give the endpoint's model name.").max(200),
  apiKey: z.string().max(500).nullish(),
});
export const modelRefSchema = z.discriminatedUnion("kind", [z.object({ kind: z.literal("model"), modelId: z.string().min(1).max(200) }), endpointSchema]);

export const candidatesInput = z.object({
  setId: z.string().min(1).max(200),
  collectionId: z.string().min(1).max(200),
  limit: z.number().int().min(1).max(200).default(30),
  /** null: the document's own structure only */
  generator: modelRefSchema.nullish().transform((g) => g ?? null),
});

export const fromConversationsInput = z.object({
  setId: z.string().min(1).max(200),
  assistantId: z.string().min(1).max(200),
  ratings: z.enum(["up", "down", "both"]).default("both"),
  limit: z.number().int().min(1).max(500).default(100),
});

export const configInput = z.object({
  modelId: z.string().min(1).max(200),
  knowledge: z.boolean(),
  /** a persona to try instead of the assistant's saved one */
  systemPrompt: z.string().max(EVAL_LIMITS.systemPrompt).nullish(),
  personaLabel: z.string().trim().max(80).nullish(),
  label: z.string().trim().max(120).nullish(),
});

export const runCreateInput = z.object({
  assistantId: z.string().min(1).max(200),
  setId: z.string().min(1).max(200),
  name: z.string().trim().max(200).optional(),
  /** model versions to compare (default: the active version and the newest other version of this assistant) */
  versions: z.array(z.string().min(1).max(200)).min(1).max(6).optional(),
  /** default: both, when the assistant has knowledge collections */
  knowledge: z.array(z.enum(["on", "off"])).min(1).max(2).optional(),
  /** personas to try besides the assistant's saved one (each crossed with versions × knowledge) */
  personas: z
    .array(z.object({ label: z.string().trim().min(1, "Name the persona.").max(80), systemPrompt: z.string().max(EVAL_LIMITS.systemPrompt) }))
    .max(3)
    .optional(),
  /** explicit configurations (replace versions × knowledge × personas) */
  configs: z.array(configInput).min(1).max(EVAL_LIMITS.configs).optional(),
  judge: modelRefSchema.nullish().transform((j) => j ?? null),
  temperature: z.number().min(0).max(2).default(0),
  maxTokens: z.number().int().min(1).max(4096).optional(),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(1234),
  resamples: z.number().int().min(200).max(20_000).default(2000),
  concurrency: z.number().int().min(1).max(64).optional(),
});
export type RunCreateInput = z.input<typeof runCreateInput>;

export const resultsInput = z.object({
  runId: z.string().min(1).max(200),
  failuresOnly: z.boolean().default(false),
  offset: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(500).default(100),
});
export const exportResultsInput = z.object({ runId: z.string().min(1).max(200), format: z.enum(["jsonl", "csv"]) });
export const activationEvidenceInput = z.object({ assistantId: z.string().min(1).max(200), modelId: z.string().min(1).max(200) });

// ---------------------------------------------------------------------------------------------

export type EvalRowView = {
  id: string;
  position: number;
  question: string;
  reference: string | null;
  facts: string[];
  expectedSource: ExpectedSource | null;
  shouldRefuse: boolean;
  status: EvalRowStatus;
  origin: EvalRowOrigin;
  provenance: RowProvenance | null;
};

/** What a set lets a run measure, and in words what it cannot. */
export type Coverage = {
  rows: number;
  candidates: number;
  withReference: number;
  withFacts: number;
  withSource: number;
  shouldRefuse: number;
  cannotCompute: { metric: string; reason: string }[];
};

export type EvalSetView = {
  id: string;
  name: string;
  description: string;
  assistantId: string | null;
  isDefault: boolean;
  createdAt: number;
  updatedAt: number;
  coverage: Coverage;
};
export type EvalSetDetail = EvalSetView & { rows: EvalRowView[] };

export type MetricKey = "factsHit" | "tokenF1" | "rougeL" | "citationHit" | "sourceRetrieved" | "refusalCorrect" | "answerTokens" | "ttftMs" | "tokensPerSecond";

export type IntervalView = { mean: number; low: number; high: number; n: number };

export type ConfigSummary = {
  label: string;
  metrics: Record<MetricKey, IntervalView | null>;
  /** the judge's opinion (1–5), apart from the metrics */
  judge: { score: IntervalView | null; unavailable: number; unparsed: number } | null;
  errors: number;
};

export type PairView = {
  a: number;
  b: number;
  metric: MetricKey;
  n: number;
  wins: number;
  ties: number;
  losses: number;
  pValue: number;
  difference: IntervalView | null;
  sentence: string;
};

export type PlannerCheck = {
  modelId: string;
  modelName: string;
  runId: string;
  recommendation: string | null;
  reasons: string[];
  trainingSeconds: number | null;
  /** what the run measured: the best-scoring configuration, and the one it recommends */
  measuredWinner: string | null;
  recommended: string | null;
  held: boolean | null;
  sentence: string;
};

export type RunSummary = {
  seed: number;
  resamples: number;
  rows: number;
  gateMetric: MetricKey | null;
  configs: ConfigSummary[];
  best: Partial<Record<MetricKey, number[]>>;
  cannotCompute: { metric: string; reason: string }[];
  comparisons: PairView[];
  verdict: string[];
  recommendation: { configIdx: number; label: string } | null;
  measuredWinner: { configIdx: number; label: string } | null;
  planner: PlannerCheck[];
  enoughRows: boolean;
};

export type EvalRunView = {
  id: string;
  name: string;
  assistantId: string;
  setId: string;
  setName: string;
  status: EvalRunStatus;
  configs: EvalConfig[];
  options: { seed: number; resamples: number; temperature: number; maxTokens: number; concurrency: number; judge: string | null };
  progress: { done: number; total: number; fraction: number };
  error: string | null;
  log: string[];
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  summary: RunSummary | null;
  queuedBehind: number;
};

export type CellView = {
  configIdx: number;
  answer: string;
  citations: StoredCitation[];
  cited: number[];
  metrics: Record<MetricKey, number | null>;
  judge: { score: number | null; reason: string | null; status: string | null } | null;
  error: string | null;
  failed: boolean;
};

export type ResultRowView = {
  idx: number;
  question: string;
  reference: string | null;
  facts: string[];
  expectedSource: ExpectedSource | null;
  shouldRefuse: boolean;
  cells: CellView[];
};
