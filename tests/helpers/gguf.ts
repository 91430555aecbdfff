import { writeFileSync } from "node:fs";
import type { BpeTokenizerData } from "@/server/forge/tokenizer/bpe";

/**
 * Minimal GGUF v3 writer (metadata + F32 tensors). Used to build vocab-only GGUFs for tokenizer
 * checks and tiny test models; real models are written by the native trainer.
 */
export type GgufValue =
  | { type: "u32"; value: number }
  | { type: "i32"; value: number }
  | { type: "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "string[]"; value: string[] }
  | { type: "i32[]"; value: number[] };

export interface GgufTensor {
  name: string;
  /** ggml order: ne[0] is the fastest-varying dimension */
  dims: number[];
  data: Float32Array;
}

const GGUF_TYPE = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;

class Buf {
  private chunks: Buffer[] = [];
  size = 0;
  push(b: Buffer) {
    this.chunks.push(b);
    this.size += b.length;
  }
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number) {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number) {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string) {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.push(b);
  }
  pad(align: number) {
    const n = (align - (this.size % align)) % align;
    if (n) this.push(Buffer.alloc(n));
  }
  concat() {
    return Buffer.concat(this.chunks);
  }
}

export function encodeGguf(metadata: Record<string, GgufValue>, tensors: GgufTensor[] = []): Buffer {
  const ALIGN = 32;
  const out = new Buf();
  out.push(Buffer.from("GGUF", "ascii"));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(Object.keys(metadata).length);
  for (const [key, v] of Object.entries(metadata)) {
    out.str(key);
    switch (v.type) {
      case "u32": out.u32(GGUF_TYPE.u32); out.u32(v.value); break;
      case "i32": out.u32(GGUF_TYPE.i32); out.i32(v.value); break;
      case "f32": out.u32(GGUF_TYPE.f32); out.f32(v.value); break;
      case "bool": out.u32(GGUF_TYPE.bool); out.push(Buffer.from([v.value ? 1 : 0])); break;
      case "string": out.u32(GGUF_TYPE.string); out.str(v.value); break;
      case "string[]":
        out.u32(GGUF_TYPE.array); out.u32(GGUF_TYPE.string); out.u64(v.value.length);
        for (const s of v.value) out.str(s);
        break;
      case "i32[]":
        out.u32(GGUF_TYPE.array); out.u32(GGUF_TYPE.i32); out.u64(v.value.length);
        for (const n of v.value) out.i32(n);
        break;
    }
  }
  let offset = 0;
  for (const t of tensors) {
    out.str(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(0); // GGML_TYPE_F32
    out.u64(offset);
    offset += Math.ceil((t.data.length * 4) / ALIGN) * ALIGN;
  }
  out.pad(ALIGN);
  for (const t of tensors) {
    out.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    out.pad(ALIGN);
  }
  return out.concat();
}

/** GGUF tokenizer.* metadata for a BPE tokenizer (same keys llama.cpp reads). */
export function tokenizerMetadata(tok: BpeTokenizerData): Record<string, GgufValue> {
  const md: Record<string, GgufValue> = {
    "tokenizer.ggml.model": { type: "string", value: tok.model },
    "tokenizer.ggml.pre": { type: "string", value: tok.pre },
    "tokenizer.ggml.tokens": { type: "string[]", value: tok.tokens },
    "tokenizer.ggml.token_type": { type: "i32[]", value: tok.token_type },
    "tokenizer.ggml.merges": { type: "string[]", value: tok.merges },
    "tokenizer.ggml.bos_token_id": { type: "u32", value: tok.bos_id },
    "tokenizer.ggml.eos_token_id": { type: "u32", value: tok.eos_id },
    "tokenizer.ggml.add_bos_token": { type: "bool", value: tok.add_bos },
  };
  if (tok.eot_id !== undefined) md["tokenizer.ggml.eot_token_id"] = { type: "u32", value: tok.eot_id };
  if (tok.pad_id !== undefined) md["tokenizer.ggml.padding_token_id"] = { type: "u32", value: tok.pad_id };
  if (tok.chat_template) md["tokenizer.chat_template"] = { type: "string", value: tok.chat_template };
  return md;
}

export interface TinyLlamaShape {
  n_embd: number;
  n_layer: number;
  n_head: number;
  n_ff: number;
  n_ctx: number;
}

/**
 * Writes a llama-architecture GGUF with the given tokenizer. With `weights: "none"` the file has
 * no tensors and must be loaded with `vocabOnly: true` (tokenizer checks); with "random" it is a
 * loadable (useless) model with small deterministic random F32 weights.
 */
export function writeLlamaGguf(
  file: string,
  tok: BpeTokenizerData,
  opts: { shape?: Partial<TinyLlamaShape>; weights?: "none" | "random"; name?: string; seed?: number } = {},
) {
  const s: TinyLlamaShape = { n_embd: 32, n_layer: 1, n_head: 2, n_ff: 64, n_ctx: 256, ...opts.shape };
  const md: Record<string, GgufValue> = {
    "general.architecture": { type: "string", value: "llama" },
    "general.name": { type: "string", value: opts.name ?? "atelier-test" },
    "llama.context_length": { type: "u32", value: s.n_ctx },
    "llama.embedding_length": { type: "u32", value: s.n_embd },
    "llama.block_count": { type: "u32", value: s.n_layer },
    "llama.feed_forward_length": { type: "u32", value: s.n_ff },
    "llama.attention.head_count": { type: "u32", value: s.n_head },
    "llama.attention.head_count_kv": { type: "u32", value: s.n_head },
    "llama.rope.dimension_count": { type: "u32", value: s.n_embd / s.n_head },
    "llama.rope.freq_base": { type: "f32", value: 10000 },
    "llama.attention.layer_norm_rms_epsilon": { type: "f32", value: 1e-5 },
    "llama.vocab_size": { type: "u32", value: tok.tokens.length },
    ...tokenizerMetadata(tok),
  };
  const tensors: GgufTensor[] = [];
  if (opts.weights === "random") {
    let state = (opts.seed ?? 1) >>> 0 || 1;
    const rnd = (n: number, scale: number) => {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        state ^= state << 13; state >>>= 0;
        state ^= state >>> 17;
        state ^= state << 5; state >>>= 0;
        a[i] = ((state / 0xffffffff) * 2 - 1) * scale;
      }
      return a;
    };
    const ones = (n: number) => new Float32Array(n).fill(1);
    const V = tok.tokens.length;
    const E = s.n_embd;
    tensors.push({ name: "token_embd.weight", dims: [E, V], data: rnd(E * V, 0.1) });
    tensors.push({ name: "output_norm.weight", dims: [E], data: ones(E) });
    tensors.push({ name: "output.weight", dims: [E, V], data: rnd(E * V, 0.1) });
    for (let l = 0; l < s.n_layer; l++) {
      const p = `blk.${l}.`;
      tensors.push({ name: `${p}attn_norm.weight`, dims: [E], data: ones(E) });
      for (const n of ["attn_q", "attn_k", "attn_v", "attn_output"])
        tensors.push({ name: `${p}${n}.weight`, dims: [E, E], data: rnd(E * E, 0.1) });
      tensors.push({ name: `${p}ffn_norm.weight`, dims: [E], data: ones(E) });
      tensors.push({ name: `${p}ffn_gate.weight`, dims: [E, s.n_ff], data: rnd(E * s.n_ff, 0.1) });
      tensors.push({ name: `${p}ffn_up.weight`, dims: [E, s.n_ff], data: rnd(E * s.n_ff, 0.1) });
      tensors.push({ name: `${p}ffn_down.weight`, dims: [s.n_ff, E], data: rnd(E * s.n_ff, 0.1) });
    }
  }
  writeFileSync(file, encodeGguf(md, tensors));
}
