// Domain fine-tune: a tiny model pretrained from scratch on one domain is fully fine-tuned on a
// new domain through the fine-tune path (base GGUF's tokenizer via node-llama-cpp, held-out split,
// ATDS, native trainer). Held-out perplexity on the new domain must drop by at least 30%.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forgeBinaryAvailable } from "@/server/forge/binary";
import { buildDataset, forgeTokenizerFromBpe, forgeTokenizerFromModel } from "@/server/forge";
import { trainBpe } from "@/server/forge/tokenizer";
import { evaluate, startTraining } from "@/server/forge/trainer";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 0x100000000);
}
const pick = <T,>(r: () => number, xs: T[]) => xs[Math.floor(r() * xs.length)]!;

/** Domain A (pretraining): weather reports. */
function weather(n: number, seed: number): string[] {
  const r = rng(seed);
  const cities = ["Lyon", "Oslo", "Porto", "Kyoto", "Quito", "Perth", "Tunis", "Lima"];
  const sky = ["sunny", "cloudy", "rainy", "windy", "foggy", "snowy"];
  return Array.from({ length: n }, () => {
    const c = pick(r, cities);
    return `In ${c} the morning is ${pick(r, sky)} with ${Math.floor(r() * 30)} degrees, and the evening turns ${pick(r, sky)}. People in ${c} carry ${pick(r, ["umbrellas", "coats", "hats", "scarves"])}.`;
  });
}

/** Domain B (fine-tune): a fictional printer's error codes — vocabulary the base never saw. */
function printer(n: number, seed: number): string[] {
  const r = rng(seed);
  const parts = ["fuser", "platen", "toner hopper", "duplex flap", "feed roller", "spool gear"];
  const acts = ["reseat", "clean", "replace", "recalibrate", "lubricate"];
  return Array.from({ length: n }, () => {
    const code = `QX-${100 + Math.floor(r() * 12) * 7}`;
    const part = pick(r, parts);
    return `Error ${code} on the Quillfeather printer means the ${part} is jammed; ${pick(r, acts)} the ${part} and press Resume. If ${code} returns, ${pick(r, acts)} the ${pick(r, parts)}.`;
  });
}

let dir: string;
const MODEL = { n_embd: 64, n_layer: 2, n_head: 2, n_ff: 192, n_ctx: 64 };

beforeAll(() => {
  if (!forgeBinaryAvailable()) throw new Error("native trainer not built: run `node server/forge/native/build.mjs` (npm run setup)");
  dir = mkdtempSync(path.join(os.tmpdir(), "forge-ft-"));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("domain fine-tune", () => {
  it("full fine-tune lowers held-out perplexity on the new domain by ≥ 30% (LoRA lowers it too)", async () => {
    const p = (f: string) => path.join(dir, f);

    // 1. base model: scratch on domain A only (its tokenizer has never seen domain B)
    const docsA = weather(400, 1);
    const bpe = trainBpe(docsA, { vocabSize: 420 });
    buildDataset({ tokenizer: forgeTokenizerFromBpe(bpe), seqLen: 48, documents: docsA, evalFraction: 0.1, seed: 5, trainPath: p("a-train.atds"), evalPath: p("a-eval.atds") });
    const base = await startTraining({
      mode: "scratch", out: p("base.gguf"), checkpointDir: p("base-ckpt"), train: p("a-train.atds"), eval: p("a-eval.atds"),
      model: { ...MODEL, n_vocab: bpe.vocabSize }, tokenizer: bpe.data, batch: 8, steps: 150, lr: 4e-3, warmup_steps: 10, seed: 3, threads: 1,
    }).done;
    expect(base.status).toBe("done");

    // 2. domain B dataset, tokenized by the base GGUF's own tokenizer in node-llama-cpp (fine-tune path)
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
    const vocab = await llama.loadModel({ modelPath: p("base.gguf"), vocabOnly: true });
    const ds = buildDataset({
      tokenizer: forgeTokenizerFromModel(vocab), seqLen: 48, documents: printer(300, 2), evalFraction: 0.15, seed: 9, batch: 8,
      trainPath: p("b-train.atds"), evalPath: p("b-eval.atds"),
    });
    await vocab.dispose();
    expect(ds.eval).not.toBeNull();
    expect(ds.stats.heldOutUnits).toBeGreaterThan(20);

    const onA = await evaluate({ model: p("base.gguf"), data: p("a-eval.atds"), threads: 1 });
    const before = await evaluate({ model: p("base.gguf"), data: p("b-eval.atds"), threads: 1 });
    expect(before.ppl).toBeGreaterThan(onA.ppl * 2); // B really is a new domain for the base

    // 3. full fine-tune on B
    const ft = await startTraining({
      mode: "full", base: p("base.gguf"), out: p("ft.gguf"), checkpointDir: p("ft-ckpt"), train: p("b-train.atds"), eval: p("b-eval.atds"),
      batch: 8, steps: 120, lr: 2e-3, warmup_steps: 10, seed: 4, threads: 1,
    }).done;
    expect(ft.status).toBe("done");
    expect(ft.evalPpl!).toBeLessThanOrEqual(before.ppl * 0.7);
    const after = await evaluate({ model: p("ft.gguf"), data: p("b-eval.atds"), threads: 1 });
    expect(after.ppl).toBeCloseTo(ft.evalPpl!, 1);
    expect(after.ppl).toBeLessThanOrEqual(before.ppl * 0.7);
    expect(after.ppl).toBeLessThan(8); // learned the domain's structure, not just its words

    // 4. LoRA on the same data: an adapter applied at eval time also helps
    const lora = await startTraining({
      mode: "lora", base: p("base.gguf"), out: p("adapter.gguf"), checkpointDir: p("lora-ckpt"), train: p("b-train.atds"), eval: p("b-eval.atds"),
      lora: { rank: 8, alpha: 16 }, batch: 8, steps: 80, lr: 5e-3, seed: 4, threads: 1,
    }).done;
    const withAdapter = await evaluate({ model: p("base.gguf"), lora: p("adapter.gguf"), data: p("b-eval.atds"), threads: 1 });
    expect(withAdapter.ppl).toBeCloseTo(lora.evalPpl!, 1);
    expect(withAdapter.ppl).toBeLessThan(before.ppl * 0.9);
  });
});
