import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { LlamaModel } from "node-llama-cpp";
import { addDocument, createCollection, search } from "@/server/knowledge";
import { createHashingEmbedder, createLlamaEmbedder, type Embedder } from "@/server/knowledge/embedder";
import { bytes, tempDb } from "./helpers";

const MODEL = path.resolve(process.env.ATELIER_TEST_MODEL ?? "models/starter/atelier-starter.gguf");
const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe("hashing embedder", () => {
  it("is deterministic, normalised and lexical", async () => {
    const e = createHashingEmbedder(128);
    const [a, b, c, a2] = await e.embed(["feeding the sourdough starter", "feed sourdough starters", "kayak roll technique", "feeding the sourdough starter"]);
    expect(a).toEqual(a2);
    expect(a!.length).toBe(128);
    expect(norm(a!)).toBeCloseTo(1, 5);
    expect(cos(a!, b!)).toBeGreaterThan(cos(a!, c!));
    expect(e.id).toBe("hashing:v1:128");
  });
});

// The adapter on a real GGUF (the tiny starter model is not an embedding model, but it exercises the API).
describe.skipIf(!fs.existsSync(MODEL))("node-llama-cpp embedder adapter", () => {
  let embedder: (Embedder & { dispose(): Promise<void> }) | undefined;
  let model: LlamaModel | undefined;
  afterAll(async () => {
    await embedder?.dispose();
    await model?.dispose();
  });

  it("embeds texts into normalised vectors of the model's size, truncating long input", async () => {
    const { llamaInstance } = await import("@/server/llm/llama");
    const llama = await llamaInstance();
    model = await llama.loadModel({ modelPath: MODEL });
    embedder = await createLlamaEmbedder(model, { contextSize: 128 });
    expect(embedder.dimensions).toBe(model.embeddingVectorSize);
    expect(embedder.id).toBe(`gguf:${path.basename(MODEL)}:${model.embeddingVectorSize}`);
    const [a, b, long] = await embedder.embed(["How do I add a model?", "How do I add a model?", "word ".repeat(2000)]);
    expect(a!.length).toBe(embedder.dimensions);
    expect(norm(a!)).toBeCloseTo(1, 4);
    expect(Array.from(a!)).toEqual(Array.from(b!));
    expect(norm(long!)).toBeCloseTo(1, 4);
  });

  it("indexes and searches with it (hybrid)", async () => {
    const ctx = tempDb();
    try {
      const col = createCollection(ctx.db, { name: "c" });
      for (const [name, text] of [
        ["models.md", "# Models\n\nAdd a model by importing a GGUF file from disk or Hugging Face."],
        ["chat.md", "# Chat\n\nEach conversation keeps its history; you can stop a reply at any time."],
      ]) {
        await addDocument(ctx.db, { collectionId: col.id, fileName: name!, bytes: bytes(text!) }, { embedder: embedder! });
      }
      const res = await search(ctx.db, "import a GGUF model", { embedder: embedder! });
      expect(res.mode).toBe("hybrid");
      expect(res.vector).toBe("used");
      expect(res.hits[0]!.title).toBe("Models");
    } finally {
      ctx.close();
    }
  });
});
