import "server-only";
import fs from "node:fs";
import path from "node:path";
import type { LlamaModel, LlamaRankingContext } from "node-llama-cpp";
import { env } from "@/server/env";
import { AtelierError } from "@/server/errors";
import { llamaInstance } from "@/server/llm/llama";

/*
 * The optional reranker: a cross-encoder GGUF (ATELIER_RERANKER_MODEL) that reads the question and
 * a passage together and scores how well the passage answers it (0–1), through node-llama-cpp's
 * ranking API (LlamaRankingContext). Search finds candidates cheaply (BM25, vectors); the reranker
 * orders the few best more precisely and gives the minimum score a scale that means something.
 * Unset: null, and retrieval keeps search's order. Loaded once per process on first use.
 */

export interface Reranker {
  readonly id: string;
  /** Relevance of each passage to the query, 0–1, in the passages' order. */
  rank(query: string, passages: string[]): Promise<number[]>;
}

export type LlamaReranker = Reranker & { readonly context: LlamaRankingContext; dispose(): Promise<void> };

/** A reranker on a loaded ranking-capable model; passages longer than the context are scored by their best window. */
export async function createLlamaReranker(model: LlamaModel, options: { contextSize?: number; threads?: number } = {}): Promise<LlamaReranker> {
  if (!model.fileInsights.supportsRanking) {
    throw new AtelierError("precondition:knowledge", `${path.basename(model.filename ?? "The model")} cannot rank passages: it has no ranking (classifier) head. Use a reranker GGUF such as a BGE or Qwen3 reranker.`);
  }
  const contextSize = options.contextSize ?? Math.min(model.trainContextSize || 1024, 2048);
  const context = await model.createRankingContext({ contextSize, ...(options.threads !== undefined ? { threads: options.threads } : {}) });
  return {
    id: `gguf:${path.basename(model.filename ?? "reranker")}`,
    context,
    rank: (query, passages) => (passages.length === 0 ? Promise.resolve([]) : context.rankAll(query, passages, { onOverflow: "maxChunk" })),
    dispose: () => context.dispose(),
  };
}

type Loaded = { path: string; reranker: Promise<Reranker> };
const globalForReranker = globalThis as unknown as { atelierReranker?: Loaded };

async function load(modelPath: string): Promise<Reranker> {
  if (!fs.existsSync(modelPath)) {
    throw new AtelierError("precondition:knowledge", `The reranker model ${modelPath} (ATELIER_RERANKER_MODEL) does not exist.`);
  }
  let model: LlamaModel | null = null;
  try {
    const llama = await llamaInstance();
    model = await llama.loadModel({ modelPath });
    return await createLlamaReranker(model);
  } catch (err) {
    await model?.dispose().catch(() => undefined);
    if (err instanceof AtelierError) throw err;
    throw new AtelierError("precondition:knowledge", `The reranker model ${modelPath} could not be loaded: ${(err as Error).message}`, { cause: err });
  }
}

/** The configured reranker, or null when ATELIER_RERANKER_MODEL is unset. Throws a clear AtelierError when it cannot load. */
export function configuredReranker(): Promise<Reranker | null> {
  const modelPath = env().ATELIER_RERANKER_MODEL;
  if (!modelPath) return Promise.resolve(null);
  const cached = globalForReranker.atelierReranker;
  if (cached?.path === modelPath) return cached.reranker;
  const reranker = load(modelPath);
  globalForReranker.atelierReranker = { path: modelPath, reranker };
  reranker.catch(() => {
    if (globalForReranker.atelierReranker?.reranker === reranker) globalForReranker.atelierReranker = undefined;
  });
  return reranker;
}

/** The reranker if one is configured and loads; otherwise null plus the reason (retrieval then keeps search's order). */
export async function rerankerOrWarning(): Promise<{ reranker: Reranker | null; warning: string | null }> {
  try {
    return { reranker: await configuredReranker(), warning: null };
  } catch (err) {
    return { reranker: null, warning: `${(err as Error).message} Passages keep the search order.` };
  }
}

/** What the console shows: whether a reranker is configured, its file, and why it does not load. */
export async function rerankerStatus(): Promise<{ configured: boolean; model: string | null; error: string | null }> {
  const modelPath = env().ATELIER_RERANKER_MODEL ?? null;
  if (!modelPath) return { configured: false, model: null, error: null };
  const { warning } = await rerankerOrWarning();
  return { configured: true, model: path.basename(modelPath), error: warning };
}
