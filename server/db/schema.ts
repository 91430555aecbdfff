import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, type AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { users } from "./auth-tables";

const now = sql`(cast(unixepoch('subsec') * 1000 as integer))`;

export const MODEL_KINDS = ["base", "finetuned", "lora"] as const;
export const MODEL_STATUSES = ["ready", "downloading", "error"] as const;
export const MESSAGE_ROLES = ["user", "assistant"] as const;
export const MESSAGE_STATUSES = ["complete", "streaming", "interrupted", "error"] as const;
/** Where a conversation happens: the console, the embedded widget, or the OpenAI-compatible API. */
export const CONVERSATION_CHANNELS = ["console", "widget", "api"] as const;

/** Every GGUF Atelier knows: base models, fine-tuned full models and LoRA adapters, with lineage. */
export const models = sqliteTable(
  "models",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    kind: text("kind", { enum: MODEL_KINDS }).notNull(),
    /** Where it came from: a local path, an hf: URI or "forge:<run id>". */
    source: text("source").notNull(),
    /** The GGUF on disk (for a LoRA: the adapter file). */
    filePath: text("file_path").notNull(),
    status: text("status", { enum: MODEL_STATUSES }).notNull().default("ready"),
    error: text("error"),
    sizeBytes: integer("size_bytes"),
    architecture: text("architecture"),
    contextLength: integer("context_length"),
    quantization: text("quantization"),
    parameters: integer("parameters"),
    /** Lineage: the model this one was trained from (the base a LoRA applies to). */
    baseModelId: text("base_model_id").references((): AnySQLiteColumn => models.id, { onDelete: "restrict" }),
    datasetId: text("dataset_id"),
    runId: text("run_id"),
    /** Free-form JSON: training settings, metrics, download info. */
    meta: text("meta", { mode: "json" }).$type<Record<string, unknown>>(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("models_base_idx").on(t.baseModelId)],
);
export type ModelRow = typeof models.$inferSelect;
export type NewModelRow = typeof models.$inferInsert;

export type SamplingSettings = {
  temperature: number;
  topP: number;
  topK: number;
  repeatPenalty: number;
  maxTokens: number;
};

export const assistants = sqliteTable("assistants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  systemPrompt: text("system_prompt").notNull().default(""),
  greeting: text("greeting"),
  starterQuestions: text("starter_questions", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  color: text("color").notNull().default("#6366f1"),
  /** Emoji or short text shown in the avatar bubble (the color is its background). */
  avatar: text("avatar"),
  /** The model version that answers: a base model, a fine-tuned model or a LoRA adapter (with its base). */
  modelId: text("model_id").references(() => models.id, { onDelete: "set null" }),
  sampling: text("sampling", { mode: "json" }).$type<SamplingSettings>().notNull(),
  /** What it says when a question is outside its domain (used by the persona prompt and empty retrieval). */
  outOfScopeReply: text("out_of_scope_reply"),
  /** How many earlier messages are sent with each turn (0 = as many as fit the context). */
  historyWindow: integer("history_window").notNull().default(20),
  isDefault: integer("is_default", { mode: "boolean" }).notNull().default(false),
  archivedAt: integer("archived_at"),
  createdAt: integer("created_at").notNull().default(now),
  updatedAt: integer("updated_at").notNull().default(now),
});
export type AssistantRow = typeof assistants.$inferSelect;
export type NewAssistantRow = typeof assistants.$inferInsert;

/** The knowledge collections an assistant retrieves from (collections live in server/knowledge/schema.ts). */
export const assistantCollections = sqliteTable(
  "assistant_collections",
  {
    assistantId: text("assistant_id")
      .notNull()
      .references(() => assistants.id, { onDelete: "cascade" }),
    collectionId: text("collection_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.assistantId, t.collectionId] })],
);

export const conversations = sqliteTable(
  "conversations",
  {
    id: text("id").primaryKey(),
    assistantId: text("assistant_id")
      .notNull()
      .references(() => assistants.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    channel: text("channel", { enum: CONVERSATION_CHANNELS }).notNull().default("console"),
    /** The console user who owns it (null for widget and API conversations). */
    userId: text("user_id").references(() => users.id, { onDelete: "set null" }),
    /** Widget: the visitor id from the visitor's localStorage, and whether the host site verified it. */
    visitorId: text("visitor_id"),
    visitorVerified: integer("visitor_verified", { mode: "boolean" }).notNull().default(false),
    /** Widget/API: the Origin the conversation came from. */
    origin: text("origin"),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [index("conversations_updated_idx").on(t.updatedAt), index("conversations_channel_idx").on(t.channel, t.assistantId, t.updatedAt)],
);
export type ConversationRow = typeof conversations.$inferSelect;

export const messages = sqliteTable(
  "messages",
  {
    id: text("id").primaryKey(),
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    /** Monotonic position inside the conversation (timestamps can tie). */
    position: integer("position").notNull(),
    role: text("role", { enum: MESSAGE_ROLES }).notNull(),
    content: text("content").notNull(),
    status: text("status", { enum: MESSAGE_STATUSES }).notNull().default("complete"),
    error: text("error"),
    /** Which model answered; the label survives the model's deletion. */
    modelId: text("model_id"),
    modelLabel: text("model_label"),
    promptTokens: integer("prompt_tokens"),
    completionTokens: integer("completion_tokens"),
    ttftMs: real("ttft_ms"),
    durationMs: real("duration_ms"),
    tokensPerSecond: real("tokens_per_second"),
    /** Passages retrieved for this answer: [{ n, documentId, documentTitle, chunkId, heading, excerpt }]. */
    citations: text("citations", { mode: "json" }).$type<MessageCitation[]>(),
    /** A reader's rating of an answer: 1 thumbs up, -1 thumbs down. */
    feedback: integer("feedback"),
    /** The reader's optional words with the rating, and when it was given. */
    feedbackComment: text("feedback_comment"),
    feedbackAt: integer("feedback_at"),
    /** What produced this answer besides the model version: hashes of the persona and of the knowledge (collections × documents) it retrieved from. */
    personaRevision: text("persona_revision"),
    knowledgeRevision: text("knowledge_revision"),
    /** The answer replaced an earlier one the reader asked to regenerate. */
    regenerated: integer("regenerated", { mode: "boolean" }).notNull().default(false),
    /** Experiments: the arm that answered (null outside an experiment). */
    experimentArmId: text("experiment_arm_id"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("messages_conversation_idx").on(t.conversationId, t.position), index("messages_experiment_arm_idx").on(t.experimentArmId)],
);
export type MessageCitation = { n: number; documentId: string; documentTitle: string; chunkId: number; heading: string | null; excerpt: string };
export type MessageRow = typeof messages.$inferSelect;
export type NewMessageRow = typeof messages.$inferInsert;
