import { writeFileSync } from "node:fs";
import type { BpeTokenizerData } from "@/server/forge/tokenizer/bpe";
import { encodeGguf, seededUniform, tokenizerMetadata, type GgufTensor, type GgufValue } from "./gguf";

/**
 * A tiny cross-encoder reranker GGUF, crafted offline: llama.cpp's Qwen3 reranker layout (a Qwen3
 * decoder whose last-token state goes through a `cls.output` head over two labels, softmaxed; the
 * first label's probability is the relevance score node-llama-cpp's LlamaRankingContext returns).
 * The weights are small deterministic random numbers, so its scores are real model outputs but
 * mean nothing: tests use it for the wiring (load, rank, order, threshold), not for quality.
 */
export function writeRerankerGguf(file: string, tok: BpeTokenizerData, opts: { seed?: number; n_embd?: number; n_ff?: number; n_layer?: number } = {}) {
  const E = opts.n_embd ?? 32;
  const F = opts.n_ff ?? 64;
  const L = opts.n_layer ?? 1;
  const H = 2;
  const D = E / H;
  const V = tok.tokens.length;
  const md: Record<string, GgufValue> = {
    "general.architecture": { type: "string", value: "qwen3" },
    "general.name": { type: "string", value: "atelier-test-reranker" },
    "qwen3.context_length": { type: "u32", value: 512 },
    "qwen3.embedding_length": { type: "u32", value: E },
    "qwen3.block_count": { type: "u32", value: L },
    "qwen3.feed_forward_length": { type: "u32", value: F },
    "qwen3.attention.head_count": { type: "u32", value: H },
    "qwen3.attention.head_count_kv": { type: "u32", value: H },
    "qwen3.attention.key_length": { type: "u32", value: D },
    "qwen3.attention.value_length": { type: "u32", value: D },
    "qwen3.rope.freq_base": { type: "f32", value: 10000 },
    "qwen3.attention.layer_norm_rms_epsilon": { type: "f32", value: 1e-6 },
    "qwen3.pooling_type": { type: "u32", value: 4 }, // LLAMA_POOLING_TYPE_RANK
    "qwen3.classifier.output_labels": { type: "string[]", value: ["yes", "no"] },
    ...tokenizerMetadata(tok),
  };
  const rnd = seededUniform(opts.seed ?? 7);
  const ones = (n: number) => new Float32Array(n).fill(1);
  const tensors: GgufTensor[] = [
    { name: "token_embd.weight", dims: [E, V], data: rnd(E * V, 0.5) },
    { name: "output_norm.weight", dims: [E], data: ones(E) },
    { name: "output.weight", dims: [E, V], data: rnd(E * V, 0.1) },
    { name: "cls.output.weight", dims: [E, 2], data: rnd(E * 2, 1) },
  ];
  for (let l = 0; l < L; l++) {
    const p = `blk.${l}.`;
    tensors.push({ name: `${p}attn_norm.weight`, dims: [E], data: ones(E) });
    for (const n of ["attn_q", "attn_k", "attn_v", "attn_output"]) tensors.push({ name: `${p}${n}.weight`, dims: [E, E], data: rnd(E * E, 0.2) });
    tensors.push({ name: `${p}attn_q_norm.weight`, dims: [D], data: ones(D) });
    tensors.push({ name: `${p}attn_k_norm.weight`, dims: [D], data: ones(D) });
    tensors.push({ name: `${p}ffn_norm.weight`, dims: [E], data: ones(E) });
    tensors.push({ name: `${p}ffn_gate.weight`, dims: [E, F], data: rnd(E * F, 0.2) });
    tensors.push({ name: `${p}ffn_up.weight`, dims: [E, F], data: rnd(E * F, 0.2) });
    tensors.push({ name: `${p}ffn_down.weight`, dims: [F, E], data: rnd(E * F, 0.2) });
  }
  writeFileSync(file, encodeGguf(md, tensors));
}
