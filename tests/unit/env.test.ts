import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseEnv } from "@/server/env-schema.mjs";

describe("environment", () => {
  it("fills defaults and resolves paths", () => {
    const env = parseEnv({});
    expect(env.ATELIER_MAX_MESSAGE_CHARS).toBe(32_000);
    expect(env.ATELIER_DB_PATH).toBe(path.resolve("data/atelier.db"));
    expect(env.ATELIER_GPU).toBe("auto");
  });

  it("names the variable that is wrong", () => {
    expect(() => parseEnv({ ATELIER_SEQUENCES: "zero" })).toThrow(/ATELIER_SEQUENCES/);
    expect(() => parseEnv({ ATELIER_GPU: "tpu" })).toThrow(/ATELIER_GPU/);
    expect(() => parseEnv({ ATELIER_MAX_MESSAGE_CHARS: "0" })).toThrow(/ATELIER_MAX_MESSAGE_CHARS/);
  });
});
