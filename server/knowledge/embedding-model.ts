import "server-only";
import fs from "node:fs";
import { env } from "@/server/env";
import { AtelierError } from "@/server/errors";
import { llamaInstance } from "@/server/llm/llama";
import { createLlamaEmbedder, type Embedder } from "./embedder";

/*
 * The embedder configured by ATELIER_EMBEDDING_MODEL (a GGUF path), loaded once per process on
 * first use. Unset: null, and knowledge search is BM25 only.
 */

type Loaded = { path: string; embedder: Promise<Embedder> };
const globalForEmbedder = globalThis as unknown as { atelierEmbedder?: Loaded };

async function load(modelPath: string): Promise<Embedder> {
  if (!fs.existsSync(modelPath)) {
    throw new AtelierError("precondition:knowledge", `The embedding model ${modelPath} (ATELIER_EMBEDDING_MODEL) does not exist.`);
  }
  try {
    const llama = await llamaInstance();
    const model = await llama.loadModel({ modelPath });
    return await createLlamaEmbedder(model);
  } catch (err) {
    throw new AtelierError("precondition:knowledge", `The embedding model ${modelPath} could not be loaded: ${(err as Error).message}`, { cause: err });
  }
}

/** The configured embedder, or null when none is configured. Throws a clear AtelierError when it cannot load. */
export function configuredEmbedder(): Promise<Embedder | null> {
  const modelPath = env().ATELIER_EMBEDDING_MODEL;
  if (!modelPath) return Promise.resolve(null);
  const cached = globalForEmbedder.atelierEmbedder;
  if (cached?.path === modelPath) return cached.embedder;
  const embedder = load(modelPath);
  globalForEmbedder.atelierEmbedder = { path: modelPath, embedder };
  // A failed load is retried on the next call (the file may appear later).
  embedder.catch(() => {
    if (globalForEmbedder.atelierEmbedder?.embedder === embedder) globalForEmbedder.atelierEmbedder = undefined;
  });
  return embedder;
}

/** The embedder if it loads; otherwise null plus the reason, so indexing and search fall back to BM25. */
export async function embedderOrWarning(): Promise<{ embedder: Embedder | null; warning: string | null }> {
  try {
    return { embedder: await configuredEmbedder(), warning: null };
  } catch (err) {
    return { embedder: null, warning: `${(err as Error).message} Using keyword search (BM25) only.` };
  }
}
