// Plain ESM (no TypeScript, no "server-only") so next.config.js can import it and a bad
// environment fails `next build` / `next start` immediately, before any request is served.
import path from "node:path";
import { z } from "zod";

const int = (def, min, max) => z.coerce.number().int().min(min).max(max).default(def);

/** A list of IP addresses and CIDR ranges, separated by commas or spaces ("10.0.0.0/8, ::1"). */
const addressList = z
  .string()
  .default("")
  .transform((s) => s.split(/[\s,]+/).filter(Boolean))
  .pipe(z.array(z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()], { error: (i) => `"${i.input}" is not an IP address or CIDR range` })));

export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  /** Where the SQLite database, uploads, downloaded models and trained outputs live. */
  ATELIER_DATA_DIR: z.string().min(1).default("data"),
  /** SQLite file; defaults to <ATELIER_DATA_DIR>/atelier.db */
  ATELIER_DB_PATH: z.string().min(1).optional(),
  /** GGUF served by the default assistant on first start. */
  ATELIER_DEFAULT_MODEL: z.string().min(1).default("models/starter/atelier-starter.gguf"),
  /** "auto" picks CUDA/Vulkan/Metal when present, CPU otherwise. */
  ATELIER_GPU: z.enum(["auto", "cuda", "vulkan", "metal", "cpu"]).default("auto"),
  /** Generation engine: auto = Atelier's native loop when its start-up check passes, else node-llama-cpp's (server/llm/native-serving.ts). */
  ATELIER_ENGINE: z.enum(["auto", "native", "node-llama-cpp"]).default("auto"),
  /** Benchmarks only (bench/chat-throughput.ts): answers on the native loop run to the token cap, past end-of-turn and stop triggers. */
  ATELIER_IGNORE_EOS: z.enum(["0", "1"]).default("0").transform((v) => v === "1"),
  /** CPU threads for inference; 0 = decide from the model size (see server/llm/tuning.ts). */
  ATELIER_THREADS: int(0, 0, 256),
  /** Parallel sequences per serving context = conversations generated at once per model. */
  ATELIER_SEQUENCES: int(8, 1, 64),
  /** Tokens of context per sequence; 0 = the model's training context (capped at 8192). */
  ATELIER_CONTEXT_SIZE: int(0, 0, 1_048_576),
  ATELIER_BATCH_SIZE: int(512, 16, 65_536),
  ATELIER_MAX_MESSAGE_CHARS: int(32_000, 1, 10_000_000),
  /** Most characters of all messages of one request together ("Try it", /v1/chat/completions). */
  ATELIER_MAX_REQUEST_CHARS: int(256_000, 1, 100_000_000),
  ATELIER_MAX_TOKENS: int(1024, 1, 1_000_000),
  /** Seconds to wait for Hugging Face before declaring the network unreachable. */
  ATELIER_NETWORK_TIMEOUT_S: int(8, 1, 600),
  /** Console login sessions expire this many hours after sign-in. */
  ATELIER_SESSION_HOURS: int(168, 1, 8760),
  /** Optional first admin, created at start when no user exists (otherwise the /setup screen asks). */
  ATELIER_ADMIN_EMAIL: z.string().email().optional(),
  ATELIER_ADMIN_PASSWORD: z.string().min(10).max(256).optional(),
  /** Optional embedding GGUF (BGE, Nomic, E5...): enables vector search fused with BM25. BM25 alone without it. */
  ATELIER_EMBEDDING_MODEL: z.string().min(1).optional(),
  /**
   * Optional reranker GGUF (a cross-encoder such as a BGE or Qwen3 reranker): assistants that turn
   * reranking on reorder retrieved passages by its relevance score. Off when unset.
   */
  ATELIER_RERANKER_MODEL: z.string().min(1).optional(),
  /** Largest GGUF an admin may upload from the browser (Models page), in MB. */
  ATELIER_MAX_MODEL_UPLOAD_MB: int(20_480, 1, 10_000_000),
  /** Largest file accepted into a knowledge collection, in MiB. */
  ATELIER_KNOWLEDGE_MAX_FILE_MB: int(20, 1, 1024),
  /** Longest message a widget visitor or API client may send (characters). */
  ATELIER_WIDGET_MAX_MESSAGE_CHARS: int(2000, 1, 1_000_000),
  /** Most messages one OpenAI-compatible request may carry (its history). */
  ATELIER_API_MAX_MESSAGES: int(100, 1, 10_000),
  /** Training studio: the most one dataset upload may weigh (all files together), in MB. */
  ATELIER_MAX_UPLOAD_MB: int(50, 1, 100_000),
  /** CPU threads for the trainer; 0 = all cores but one. */
  ATELIER_TRAIN_THREADS: int(0, 0, 256),
  /**
   * Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR ranges). Empty (the
   * default): the client is the socket's peer and X-Forwarded-For is ignored (server/edge/client-ip.ts).
   */
  ATELIER_TRUSTED_PROXIES: addressList,
  /** The address other machines reach this Atelier at (Atelier nodes download model versions from it; workers use it too). */
  ATELIER_PUBLIC_URL: z.string().url().optional(),
  /** Inference nodes: seconds between health checks of each registered node. */
  ATELIER_NODE_HEALTH_S: int(10, 1, 3600),
  /** Consecutive failures that take a node out of routing (its circuit opens). */
  ATELIER_NODE_BREAKER_FAILURES: int(3, 1, 100),
  /** Seconds an open circuit waits before the node is re-probed (doubles on each re-open, up to 32x). */
  ATELIER_NODE_BREAKER_COOLDOWN_S: int(5, 1, 3600),
  /** Seconds to wait for a node's first byte (connecting included) before trying elsewhere. */
  ATELIER_NODE_TIMEOUT_S: int(60, 1, 3600),
  /** Shared secret remote training workers present (`npx atelier worker --token`); unset = no worker API. */
  ATELIER_WORKER_TOKEN: z.string().min(24, "ATELIER_WORKER_TOKEN must be at least 24 characters").optional(),
  /** Seconds a worker's claim on a run lasts without news from it; then another worker may resume the run. */
  ATELIER_WORKER_LEASE_S: int(60, 2, 86_400),
  /** Largest checkpoint or output file a worker may upload, in MB. */
  ATELIER_WORKER_MAX_UPLOAD_MB: int(200_000, 1, 10_000_000),
});

/** @param {Record<string, string | undefined>} source */
export function parseEnv(source = process.env) {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid Atelier environment:\n${lines.join("\n")}`);
  }
  const env = result.data;
  const dataDir = path.resolve(/*turbopackIgnore: true*/ env.ATELIER_DATA_DIR);
  return {
    ...env,
    ATELIER_DATA_DIR: dataDir,
    ATELIER_DB_PATH: path.resolve(/*turbopackIgnore: true*/ env.ATELIER_DB_PATH ?? path.join(dataDir, "atelier.db")),
    ATELIER_DEFAULT_MODEL: path.resolve(/*turbopackIgnore: true*/ env.ATELIER_DEFAULT_MODEL),
    ATELIER_EMBEDDING_MODEL: env.ATELIER_EMBEDDING_MODEL && path.resolve(/*turbopackIgnore: true*/ env.ATELIER_EMBEDDING_MODEL),
    ATELIER_RERANKER_MODEL: env.ATELIER_RERANKER_MODEL && path.resolve(/*turbopackIgnore: true*/ env.ATELIER_RERANKER_MODEL),
  };
}
