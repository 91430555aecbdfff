import "server-only";
import path from "node:path";
import type { LlamaEmbeddingContext, LlamaModel } from "node-llama-cpp";

/**
 * Turns texts into vectors. `id` names the vector space (model file + settings): vectors from
 * different ids are never compared; switching embedder rebuilds the vector index.
 */
export interface Embedder {
  readonly id: string;
  readonly dimensions: number;
  embed(texts: string[]): Promise<Float32Array[]>;
}

function normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  return v;
}

export type LlamaEmbedderOptions = {
  /** Vector space id; default derives from the GGUF file name and vector size. */
  id?: string;
  /** Context size of the embedding context (tokens); inputs longer than this are truncated. */
  contextSize?: number;
  batchSize?: number;
  threads?: number;
};

export type LlamaEmbedder = Embedder & { readonly context: LlamaEmbeddingContext; dispose(): Promise<void> };

/**
 * Production embedder: an embedding context on a loaded node-llama-cpp model (ideally an
 * embedding GGUF such as a BGE/Nomic/E5 model; a chat model works but embeds poorly).
 * Inputs over the context size are truncated (chunks are ~300 tokens, far below it).
 */
export async function createLlamaEmbedder(model: LlamaModel, options: LlamaEmbedderOptions = {}): Promise<LlamaEmbedder> {
  const contextSize = options.contextSize ?? Math.min(model.trainContextSize || 2048, 2048);
  const context = await model.createEmbeddingContext({
    contextSize,
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
  });
  const dimensions = model.embeddingVectorSize;
  const id = options.id ?? `gguf:${path.basename(model.filename ?? "model")}:${dimensions}`;
  // Leave room for BOS/EOS the context may add.
  const maxTokens = Math.max(8, contextSize - 8);
  return {
    id,
    dimensions,
    context,
    async embed(texts: string[]): Promise<Float32Array[]> {
      const out: Float32Array[] = [];
      // One at a time: the context evaluates one input per call.
      for (const text of texts) {
        let tokens = model.tokenize(text);
        if (tokens.length > maxTokens) tokens = tokens.slice(0, maxTokens);
        if (tokens.length === 0) tokens = model.tokenize(" ");
        const embedding = await context.getEmbeddingFor(tokens);
        out.push(normalize(Float32Array.from(embedding.vector)));
      }
      return out;
    },
    dispose: () => context.dispose(),
  };
}

const STOP = new Set(
  "a an and are as at be by for from has have how i in is it its of on or that the this to was were what when where which who why will with do does did can you your".split(
    " ",
  ),
);

function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function stem(w: string): string {
  if (w.length > 5 && w.endsWith("ing")) return w.slice(0, -3);
  if (w.length > 4 && w.endsWith("ies")) return `${w.slice(0, -3)}y`;
  if (w.length > 4 && w.endsWith("ed")) return w.slice(0, -2);
  if (w.length > 4 && w.endsWith("es")) return w.slice(0, -2);
  if (w.length > 3 && w.endsWith("s") && !w.endsWith("ss")) return w.slice(0, -1);
  return w;
}

/**
 * A deterministic, model-free embedder (feature hashing of stemmed words and character
 * trigrams, L2-normalised). Lexical, not semantic: for tests, benchmarks and as a fallback
 * when no embedding model is configured.
 */
export function createHashingEmbedder(dimensions = 256, id = `hashing:v1:${dimensions}`): Embedder {
  const embedOne = (text: string): Float32Array => {
    const v = new Float32Array(dimensions);
    const words = text
      .normalize("NFKD")
      .replace(/\p{M}+/gu, "")
      .toLowerCase()
      .split(/[^\p{L}\p{N}]+/u)
      .filter((w) => w !== "" && !STOP.has(w));
    for (const raw of words) {
      const w = stem(raw);
      const h = fnv1a(w);
      v[h % dimensions]! += h & 0x80000000 ? -1 : 1;
      if (w.length >= 4) {
        const padded = `^${w}$`;
        for (let i = 0; i + 3 <= padded.length; i++) {
          const g = fnv1a(padded.slice(i, i + 3), 0x9747b28c);
          v[g % dimensions]! += g & 0x80000000 ? -0.25 : 0.25;
        }
      }
    }
    return normalize(v);
  };
  return {
    id,
    dimensions,
    embed: async (texts) => texts.map(embedOne),
  };
}
