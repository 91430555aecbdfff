import { describe, expect, it } from "vitest";
import { parseHfUri } from "@/server/models/download";

describe("Hugging Face URIs", () => {
  it("accepts file and quant forms", () => {
    expect(parseHfUri(" hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q8_0.gguf ")).toBe(
      "hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q8_0.gguf",
    );
    expect(parseHfUri("hf:bartowski/SmolLM2-135M-Instruct-GGUF:Q8_0")).toBe("hf:bartowski/SmolLM2-135M-Instruct-GGUF:Q8_0");
  });

  it("rejects URLs and incomplete URIs with the expected form", () => {
    for (const bad of ["https://huggingface.co/x/y", "hf:onlyowner", "hf:a/b/c.bin", ""]) {
      expect(() => parseHfUri(bad)).toThrow(/hf:owner\/repo\/file\.gguf/);
    }
  });
});
