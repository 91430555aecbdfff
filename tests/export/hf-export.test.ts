// Hugging Face export round trips: Atelier's GGUFs (the starter, a tiny qwen2 model, and a forge
// LoRA on each) are exported with `atelier forge export --format hf` (merged model and PEFT adapter),
// read back by an independent reader (tests/export/hf_reference.py: safetensors parsed byte by
// byte, transformers' llama/qwen2 forward pass and PEFT's LoRA rule in numpy), and its log-probs
// compared with node-llama-cpp's on the same tokens. The tokenizer.json is checked by a BPE
// written here from the HF spec against node-llama-cpp's tokenizer.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { getLlama, LlamaLogLevel, type Llama, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportHfMerged, exportHfModel, exportPeftAdapter, quantize } from "@/server/forge";
import { starterModelPath } from "../helpers/model";
import { tinyLora } from "../scaleout/helpers";
import { deriveQwen2 } from "./gguf-raw";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-hf-"));
const PROMPT = "<|im_start|>user\nWhat is Atelier?<|im_end|>\n<|im_start|>assistant\nAtelier is";
let llama: Llama;
let python: string;

function findPython(): string {
  for (const candidate of ["python3", "/usr/bin/python3"]) {
    if (spawnSync(candidate, ["-c", "import numpy"], { stdio: "ignore" }).status === 0) return candidate;
  }
  throw new Error("These tests need python3 with numpy (Debian: apt-get install python3-numpy; .ci/run installs it).");
}

function forgeCli(args: string[]): string {
  return execFileSync(process.execPath, ["--import", "tsx", "server/forge/cli.ts", ...args], { encoding: "utf8", stdio: "pipe" });
}

/** The independent reader's log-probs at every position. */
function reference(modelDir: string, ids: number[], peftDir?: string): { applied: number; logprobs: number[][] } {
  const out = execFileSync(python, ["tests/export/hf_reference.py", modelDir, JSON.stringify(ids), ...(peftDir ? [peftDir] : [])], { encoding: "utf8", maxBuffer: 256 << 20 });
  return JSON.parse(out);
}

const llamaCppRuns = new Map<string, Promise<Map<Token, number>[]>>();
/** node-llama-cpp's next-token distribution at every position (full vocabulary, temperature 1), once per model and adapter. */
function llamaCpp(modelPath: string, ids: number[], lora?: string): Promise<Map<Token, number>[]> {
  const key = `${modelPath}|${lora ?? ""}|${ids.join(",")}`;
  if (!llamaCppRuns.has(key)) llamaCppRuns.set(key, llamaCppOnce(modelPath, ids, lora));
  return llamaCppRuns.get(key)!;
}

async function llamaCppOnce(modelPath: string, ids: number[], lora?: string): Promise<Map<Token, number>[]> {
  const model = await llama.loadModel({ modelPath });
  const ctx = await model.createContext({ contextSize: 128, batchSize: 128, ...(lora ? { lora: { adapters: [{ filePath: lora }] } } : {}) });
  const seq = ctx.getSequence();
  const out = await seq.controlledEvaluate(ids.map((t) => [t as Token, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }] as never));
  const probs = out.map((o) => (o as { next: { probabilities: Map<Token, number> } }).next.probabilities);
  await ctx.dispose();
  await model.dispose();
  return probs;
}

async function tokenize(modelPath: string, text: string): Promise<number[]> {
  const model = await llama.loadModel({ modelPath, vocabOnly: true });
  const ids = model.tokenize(text, true);
  await model.dispose();
  return [...ids] as number[];
}

/** Worst |log p_ref − log p_llama.cpp| over tokens llama.cpp gives ≥ 1e-4, and whether the argmax agrees at every position. */
function compare(ref: number[][], probs: Map<Token, number>[]) {
  let worst = 0;
  let argmaxAgree = true;
  for (let pos = 0; pos < probs.length; pos++) {
    const p = probs[pos]!;
    let best: [number, number] = [-1, -Infinity];
    for (const [tok, prob] of p) {
      if (prob > best[1]) best = [tok, prob];
      if (prob >= 1e-4) worst = Math.max(worst, Math.abs(Math.log(prob) - ref[pos]![tok]!));
    }
    const refArgmax = ref[pos]!.indexOf(Math.max(...ref[pos]!));
    if (refArgmax !== best[0]) argmaxAgree = false;
  }
  return { worst, argmaxAgree };
}

let starter: string;
let starterLora: string;
let qwen2: string;
let qwen2Lora: string;

beforeAll(async () => {
  python = findPython();
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  starter = starterModelPath();
  starterLora = await tinyLora();
  qwen2 = path.join(tmp, "tiny-qwen2.gguf");
  deriveQwen2(starter, qwen2);
  fs.writeFileSync(path.join(tmp, "facts.md"), "Bananas are the favourite fruit of the Atelier guide. The guide loves yellow bananas. ".repeat(300));
  qwen2Lora = path.join(tmp, "qwen2-adapter.gguf");
  forgeCli(["train", "--mode", "lora", "--base", qwen2, "--data", path.join(tmp, "facts.md"), "--out", qwen2Lora, "--steps", "12", "--seq", "64", "--batch", "2",
    "--threads", "1", "--rank", "4", "--lr", "0.01", "--eval-fraction", "0", "--seed", "3", "--targets", "attn_q,attn_k,attn_v,attn_output,ffn_up"]);
});

afterAll(async () => {
  await llama?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe.each([
  ["the starter (llama: Q/K rows permuted)", () => ({ base: starter, lora: starterLora, name: "starter" })],
  ["a tiny qwen2 (biases, tied head, no permutation)", () => ({ base: qwen2, lora: qwen2Lora, name: "qwen2" })],
])("%s", (_label, models) => {
  let ids: number[];
  beforeAll(async () => {
    ids = await tokenize(models().base, PROMPT);
  });

  it("the model: forward pass of the HF export = node-llama-cpp on the GGUF", async () => {
    const { base, name } = models();
    const out = path.join(tmp, `${name}-hf`);
    if (name === "starter") forgeCli(["export", "--format", "hf", "--model", base, "--out", out, "--dtype", "f32"]); // the CLI once
    else await exportHfModel({ model: base, out, dtype: "f32" });
    const cfg = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8"));
    expect(cfg.model_type).toBe(name === "qwen2" ? "qwen2" : "llama");
    expect(cfg.tie_word_embeddings).toBe(name === "qwen2");
    const ref = reference(out, ids);
    const { worst, argmaxAgree } = compare(ref.logprobs, await llamaCpp(base, ids));
    expect(argmaxAgree).toBe(true);
    expect(worst).toBeLessThan(0.02);
  });

  it("the LoRA merged: HF export = node-llama-cpp with the adapter", async () => {
    const { base, lora, name } = models();
    const out = path.join(tmp, `${name}-merged`);
    await exportHfMerged({ base, lora, out, dtype: "f32" });
    const withLora = await llamaCpp(base, ids, lora);
    const { worst, argmaxAgree } = compare(reference(out, ids).logprobs, withLora);
    expect(argmaxAgree).toBe(true);
    expect(worst).toBeLessThan(0.02);
    // the adapter matters: the base alone is measurably different
    expect(compare(reference(path.join(tmp, `${name}-hf`), ids).logprobs, withLora).worst).toBeGreaterThan(0.05);
  });

  it("the LoRA as a PEFT adapter on the HF base = node-llama-cpp with the adapter", async () => {
    const { base, lora, name } = models();
    const out = path.join(tmp, `${name}-peft`);
    await exportPeftAdapter({ base, lora, out });
    const cfg = JSON.parse(fs.readFileSync(path.join(out, "adapter_config.json"), "utf8"));
    expect(cfg).toMatchObject({ peft_type: "LORA", task_type: "CAUSAL_LM", r: 4 });
    expect(cfg.target_modules).toEqual(name === "qwen2" ? ["k_proj", "o_proj", "q_proj", "up_proj", "v_proj"] : ["k_proj", "o_proj", "q_proj", "v_proj"]);
    const ref = reference(path.join(tmp, `${name}-hf`), ids, out);
    expect(ref.applied).toBe(name === "qwen2" ? 20 : 16);
    const { worst, argmaxAgree } = compare(ref.logprobs, await llamaCpp(base, ids, lora));
    expect(argmaxAgree).toBe(true);
    expect(worst).toBeLessThan(0.02);
  });
});

/** Byte-level BPE from tokenizer.json, written from the HF spec (GPT-2 byte alphabet, merge ranks). */
function hfEncode(tokenizer: { pre_tokenizer: { pretokenizers: Array<{ pattern?: { Regex: string } }> }; model: { vocab: Record<string, number>; merges: string[] }; added_tokens: Array<{ id: number; content: string; special: boolean }> }, text: string): number[] {
  const bytesToUnicode = new Map<number, string>();
  const printable = [...Array.from({ length: 94 }, (_, i) => 33 + i), ...Array.from({ length: 12 }, (_, i) => 161 + i), ...Array.from({ length: 82 }, (_, i) => 174 + i)];
  let extra = 0;
  for (let b = 0; b < 256; b++) bytesToUnicode.set(b, String.fromCodePoint(printable.includes(b) ? b : 256 + extra++));
  const ranks = new Map(tokenizer.model.merges.map((m, i) => [m, i]));
  const regex = new RegExp(tokenizer.pre_tokenizer.pretokenizers[0]!.pattern!.Regex.replace("(?i:'s|'t|'re|'ve|'m|'ll|'d)", "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"), "gu");
  const specials = tokenizer.added_tokens.filter((t) => t.special).sort((a, b) => b.content.length - a.content.length);
  const out: number[] = [];
  const encodeText = (s: string) => {
    for (const piece of s.match(regex) ?? []) {
      let parts = [...Buffer.from(piece, "utf8")].map((b) => bytesToUnicode.get(b)!);
      for (;;) {
        let best = -1;
        let bestRank = Infinity;
        for (let i = 0; i < parts.length - 1; i++) {
          const r = ranks.get(`${parts[i]} ${parts[i + 1]}`);
          if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
        }
        if (best < 0) break;
        parts = [...parts.slice(0, best), parts[best]! + parts[best + 1]!, ...parts.slice(best + 2)];
      }
      for (const p of parts) out.push(tokenizer.model.vocab[p]!);
    }
  };
  let rest = text;
  while (rest) {
    const at = specials.map((t) => ({ t, i: rest.indexOf(t.content) })).filter((x) => x.i >= 0).sort((a, b) => a.i - b.i)[0];
    if (!at) {
      encodeText(rest);
      break;
    }
    encodeText(rest.slice(0, at.i));
    out.push(at.t.id);
    rest = rest.slice(at.i + at.t.content.length);
  }
  return out;
}

describe("tokenizer files", () => {
  it("tokenizer.json encodes like the GGUF's tokenizer in node-llama-cpp", async () => {
    const tok = JSON.parse(fs.readFileSync(path.join(tmp, "starter-hf", "tokenizer.json"), "utf8"));
    const tcfg = JSON.parse(fs.readFileSync(path.join(tmp, "starter-hf", "tokenizer_config.json"), "utf8"));
    expect(tcfg.chat_template).toMatch(/<\|im_start\|>/);
    for (const text of [PROMPT, "Hello world! It's 2024: numbers 12345, émigré café…\n\n  indented\ttabs", "Fine-tuning LoRA adapters on 8 GB."]) {
      const expected = (await tokenize(starter, text)).filter((t, i) => !(i === 0 && tcfg.add_bos_token));
      expect(hfEncode(tok, text), text).toEqual(expected);
    }
  });
});

describe("bad input", () => {
  it("refuses an adapter given as a model, a LoRA without its base, and an unknown format", async () => {
    await expect(exportHfModel({ model: starterLora, out: path.join(tmp, "x") })).rejects.toThrow(/is a LoRA adapter: give --base and --lora/);
    await expect(exportPeftAdapter({ base: starterLora, lora: starter, out: path.join(tmp, "x") })).rejects.toThrow(/is not a LoRA adapter GGUF/);
    const run = spawnSync(process.execPath, ["--import", "tsx", "server/forge/cli.ts", "export", "--format", "onnx", "--model", starter, "--out", path.join(tmp, "x")], { encoding: "utf8" });
    expect(run.stderr).toMatch(/--format must be gguf \(default\) or hf/);
  });

  it("refuses K-quantized tensors with the way out", async () => {
    const q = path.join(tmp, "starter-q4.gguf");
    await quantize({ in: starter, out: q, type: "q4_k_m" });
    await expect(exportHfModel({ model: q, out: path.join(tmp, "q") })).rejects.toThrow(/Hugging Face export reads F32, F16, BF16 and Q8_0/);
  });
});
