import fs from "node:fs";
import path from "node:path";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, freshApp } from "../helpers/app";
import { starterModelPath } from "../helpers/model";

let app: Awaited<ReturnType<typeof freshApp>>;

async function errorOf(p: Promise<unknown>): Promise<TRPCError> {
  try {
    const r = await p;
    if (r && typeof r === "object" && Symbol.asyncIterator in r) await collect(r as AsyncIterable<unknown>);
  } catch (err) {
    expect(err).toBeInstanceOf(TRPCError);
    return err as TRPCError;
  }
  throw new Error("expected an error");
}

beforeAll(async () => {
  // A short network timeout keeps the offline check quick where DNS answers but nothing connects.
  app = await freshApp({ ATELIER_NETWORK_TIMEOUT_S: "3" });
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

describe("adding models", () => {
  it("registers a local GGUF with its facts", async () => {
    const model = await app.caller().models.addLocal({ path: starterModelPath(), name: "Copy of starter" });
    expect(model).toMatchObject({ name: "Copy of starter", kind: "base", status: "ready", architecture: "llama" });
    expect(model.parameters).toBeGreaterThan(1000);
    expect(model.quantization).toMatch(/^(F32|F16|BF16|Q8_0|Q4_K)$/);
    expect(typeof model.fitsInMemory).toBe("boolean");
    expect((await app.caller().models.list()).some((m) => m.id === model.id)).toBe(true);
  });

  it("says which file is missing, not GGUF, or truncated", async () => {
    const missing = await errorOf(app.caller().models.addLocal({ path: path.join(app.dataDir, "nope.gguf") }));
    expect(missing.code).toBe("BAD_REQUEST");
    expect(missing.message).toMatch(/not found: .*nope\.gguf/);

    const text = path.join(app.dataDir, "notes.gguf");
    fs.writeFileSync(text, "this is not a model");
    const notGguf = await errorOf(app.caller().models.addLocal({ path: text }));
    expect(notGguf.message).toMatch(/notes\.gguf is not a GGUF file/);

    const truncated = path.join(app.dataDir, "truncated.gguf");
    const full = fs.readFileSync(starterModelPath());
    fs.writeFileSync(truncated, full.subarray(0, Math.floor(full.length / 2)));
    const cut = await errorOf(app.caller().models.addLocal({ path: truncated }));
    expect(cut.message).toMatch(/truncated\.gguf is (truncated|a damaged GGUF)/);

    const names = (await app.caller().models.list()).map((m) => m.source);
    expect(names.some((s) => s.includes("truncated") || s.includes("notes"))).toBe(false);
  });

  it("keeps serving the other models when one model's file breaks", async () => {
    const broken = path.join(app.dataDir, "broken.gguf");
    fs.copyFileSync(starterModelPath(), broken);
    const model = await app.caller().models.addLocal({ path: broken, name: "soon broken" });
    fs.truncateSync(broken, 1000);
    const [assistant] = await app.caller().assistants.list();
    const convOk = await app.caller().conversations.create({ assistantId: assistant!.id });
    const { eq } = await import("drizzle-orm");
    const { assistants } = await import("@/server/db/schema");
    const other = app.db.insert(assistants).values({ id: "broken-one", name: "Broken", modelId: model.id, sampling: assistant!.sampling }).returning().get();
    const convBroken = await app.caller().conversations.create({ assistantId: other.id });

    const bad = await collect(await app.caller().chat.send({ kind: "send", conversationId: convBroken.id, content: "hi" }));
    const last = bad.at(-1);
    expect(last?.type).toBe("error");
    if (last?.type === "error") expect(last.error).toMatch(/broken\.gguf/);

    const good = await collect(await app.caller().chat.send({ kind: "send", conversationId: convOk.id, content: "hi" }));
    expect(good.at(-1)?.type).toBe("done");
    app.db.delete(assistants).where(eq(assistants.id, other.id)).run();
  });
});

describe("Hugging Face downloads", () => {
  it("rejects a malformed URI", async () => {
    const err = await errorOf(app.caller().models.download({ uri: "https://example.com/model.gguf" }));
    expect(err.code).toBe("BAD_REQUEST");
    expect(err.message).toMatch(/hf:owner\/repo\/file\.gguf/);
  });

  it("fails fast and clearly when the network is unreachable", async () => {
    const started = Date.now();
    const err = await errorOf(app.caller().models.download({ uri: "hf:someone/some-model-GGUF/model.Q4_K_M.gguf" }));
    expect(err.code).toBe("PRECONDITION_FAILED");
    expect(err.message).toMatch(/network is unreachable/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect((await app.caller().models.list()).some((m) => m.status === "downloading")).toBe(false);
  });
});
