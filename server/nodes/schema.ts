import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { models } from "../db/schema";

// No "server-only" here: drizzle-kit loads this file outside Next to generate migrations.
// Inference nodes: OpenAI-compatible endpoints (another Atelier in node mode, llama-server,
// vLLM, Ollama, any other) that serve model versions for this Atelier, and which version each
// node serves under which name.

const now = sql`(cast(unixepoch('subsec') * 1000 as integer))`;

export const NODE_KINDS = ["atelier", "llama-server", "vllm", "ollama", "openai"] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

/** What the last health check saw (null before the first one). */
export type NodeHealth = {
  ok: boolean;
  checkedAt: number;
  latencyMs: number | null;
  /** Model names the endpoint lists on /v1/models. */
  models: string[];
  /** Parallel slots where the engine reports them (Atelier, llama-server /slots, vLLM /metrics). */
  slots: { total: number; busy: number } | null;
  error: string | null;
};

export const inferenceNodes = sqliteTable("inference_nodes", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** Base URL without /v1, e.g. http://10.0.0.5:8080 */
  url: text("url").notNull(),
  kind: text("kind", { enum: NODE_KINDS }).notNull(),
  /** Bearer token the endpoint expects (an Atelier node's token, an API key); null for none. Sent, so kept as is. */
  apiKey: text("api_key"),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  health: text("health", { mode: "json" }).$type<NodeHealth>(),
  createdAt: integer("created_at").notNull().default(now),
});
export type InferenceNodeRow = typeof inferenceNodes.$inferSelect;

export const NODE_MODEL_STATES = ["ready", "syncing", "error"] as const;
export type NodeModelState = (typeof NODE_MODEL_STATES)[number];

/** A model version served by a node, under the name the node knows it by. */
export const nodeModels = sqliteTable(
  "node_models",
  {
    nodeId: text("node_id")
      .notNull()
      .references(() => inferenceNodes.id, { onDelete: "cascade" }),
    modelId: text("model_id")
      .notNull()
      .references(() => models.id, { onDelete: "cascade" }),
    /** The `model` field of requests to this node. */
    remoteName: text("remote_name").notNull(),
    state: text("state", { enum: NODE_MODEL_STATES }).notNull().default("ready"),
    /** Why it is not ready, or how it is served (e.g. "LoRA adapter 1 of llama-server"). */
    detail: text("detail"),
    /** Engine-specific request fields, e.g. llama-server's per-request LoRA scales. */
    extra: text("extra", { mode: "json" }).$type<Record<string, unknown>>(),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.nodeId, t.modelId] }), index("node_models_model_idx").on(t.modelId)],
);
export type NodeModelRow = typeof nodeModels.$inferSelect;

/** Whether this process's own engine also serves a model version (absent row: yes). */
export const modelServing = sqliteTable("model_serving", {
  modelId: text("model_id")
    .primaryKey()
    .references(() => models.id, { onDelete: "cascade" }),
  local: integer("local", { mode: "boolean" }).notNull().default(true),
});

/** sha256 of model files, keyed by path and invalidated by size and mtime (hashing a GGUF takes seconds per GB). */
export const fileHashes = sqliteTable("file_hashes", {
  path: text("path").primaryKey(),
  size: integer("size").notNull(),
  mtimeMs: integer("mtime_ms").notNull(),
  sha256: text("sha256").notNull(),
});
