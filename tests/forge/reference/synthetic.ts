// Tiny synthetic GGUFs, one per model family forge trains, written with the exact metadata keys and tensor
// names llama.cpp reads for that architecture (src/models/<arch>.cpp of the bundled version), random F32
// weights, and a byte-level gpt2 vocabulary so node-llama-cpp can load them. Each family switches on the
// features that make it different (see FAMILIES), with sizes small enough for float64 finite differences.
import { byteTokenizer, rng } from "./forge-helpers";
import type { GgufFile, GgufValue } from "./gguf-read";

export type Family = "llama3" | "llama-linear" | "mistral3" | "gemma" | "gemma2" | "gemma3" | "phi3" | "smollm3" | "granite";

interface Spec {
  arch: string;
  nLayer: number;
  headDim?: number; // key_length when it differs from n_embd / n_head (gemma)
  kv: Record<string, number | string>; // arch-prefixed keys (without "<arch>.")
  tied?: boolean;
  ropeFreqs?: number[];
  postNorms?: boolean;
  qkNorm?: boolean;
  fusedQkv?: boolean;
  fusedGateUp?: boolean;
}

const E = 32, H = 4, HK = 2, FF = 48, CTX = 64;

/** What each family exercises; values are chosen so every feature changes the logits noticeably. */
export const FAMILIES: Record<Family, Spec> = {
  // Llama 3.1+: rope_freqs.weight divides each pair's frequency (llama3 RoPE scaling), large base, GQA
  llama3: { arch: "llama", nLayer: 2, kv: { "rope.freq_base": 500000 }, ropeFreqs: [1, 1.7, 4, 8] },
  // linear RoPE scaling (positions / factor), also how Mistral-style llama GGUFs look otherwise
  "llama-linear": { arch: "llama", nLayer: 2, kv: { "rope.scaling.type": "linear", "rope.scaling.factor": 4 }, tied: true },
  // mistral3: llama graph plus llama4-style attention temperature beyond original_context_length
  mistral3: { arch: "mistral3", nLayer: 2, kv: { "attention.temperature_scale": 0.5, "rope.scaling.original_context_length": 6 } },
  gemma: { arch: "gemma", nLayer: 2, kv: {}, tied: true },
  // gemma2: post norms, attention + final soft-capping, every other layer local (window 5) with its own RoPE base
  gemma2: {
    arch: "gemma2", nLayer: 2, headDim: 16, tied: true, postNorms: true,
    kv: { attn_logit_softcapping: 2.5, final_logit_softcapping: 3, "attention.sliding_window": 5, "attention.sliding_window_pattern": 2, "rope.freq_base_swa": 20000 },
  },
  // gemma3: q/k norms, post norms, local layers (window 6) with base 10k, global layers base 1e6 and linear scaling
  gemma3: {
    arch: "gemma3", nLayer: 3, headDim: 16, tied: true, postNorms: true, qkNorm: true,
    kv: {
      "attention.sliding_window": 6, "attention.sliding_window_pattern": 2, "rope.freq_base": 1000000, "rope.freq_base_swa": 10000,
      "rope.scaling.type": "linear", "rope.scaling.factor": 2,
    },
  },
  // phi3: one attn_qkv matrix, ffn_up = [gate; up], NEOX RoPE
  phi3: { arch: "phi3", nLayer: 2, kv: {}, fusedQkv: true, fusedGateUp: true },
  // smollm3: layer 3 (every 4th) has no RoPE
  smollm3: { arch: "smollm3", nLayer: 4, kv: {}, tied: true },
  granite: {
    arch: "granite", nLayer: 2,
    kv: { embedding_scale: 1.7, residual_scale: 0.6, "attention.scale": 0.2, logit_scale: 2.5 },
  },
};

/** Builds the GGUF of a family: metadata as llama.cpp's converter writes it, weights from `seed`. */
export function syntheticModel(family: Family, seed = 1): GgufFile {
  const s = FAMILIES[family];
  const r = rng(seed * 7919 + family.length);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const kv = new Map<string, GgufValue>();
  const kvType = new Map<string, { type: number; arrType?: number }>();
  const set = (k: string, v: GgufValue, type: number, arrType?: number) => {
    kv.set(k, v);
    kvType.set(k, arrType === undefined ? { type } : { type, arrType });
  };
  const a = s.arch;
  set("general.architecture", a, 8);
  // (a name containing "phi3" would make llama.cpp's vocab loader look for phi-3's special tokens)
  set("general.name", "forge synthetic test model", 8);
  set(`${a}.context_length`, CTX, 4);
  set(`${a}.embedding_length`, E, 4);
  set(`${a}.block_count`, s.nLayer, 4);
  set(`${a}.feed_forward_length`, FF, 4);
  set(`${a}.attention.head_count`, H, 4);
  set(`${a}.attention.head_count_kv`, HK, 4);
  set(`${a}.attention.layer_norm_rms_epsilon`, 1e-6, 6);
  const hd = s.headDim ?? E / H;
  if (s.headDim) {
    set(`${a}.attention.key_length`, hd, 4);
    set(`${a}.attention.value_length`, hd, 4);
  }
  set(`${a}.rope.dimension_count`, hd, 4);
  for (const [k, v] of Object.entries(s.kv)) set(`${a}.${k}`, v, typeof v === "string" ? 8 : Number.isInteger(v) && !/softcapping|scale|factor|freq_base/.test(k) ? 4 : 6);
  const tok = byteTokenizer();
  set("tokenizer.ggml.model", tok.model, 8);
  set("tokenizer.ggml.pre", tok.pre, 8);
  set("tokenizer.ggml.tokens", tok.tokens, 9, 8);
  set("tokenizer.ggml.token_type", tok.token_type, 9, 5);
  set("tokenizer.ggml.merges", tok.merges, 9, 8);
  set("tokenizer.ggml.bos_token_id", tok.bos_id, 4);
  set("tokenizer.ggml.eos_token_id", tok.eos_id, 4);
  set("tokenizer.ggml.eot_token_id", tok.eot_id, 4);
  set("tokenizer.ggml.add_bos_token", false, 7);
  set("tokenizer.chat_template", tok.chat_template, 8);
  const V = tok.tokens.length;

  const tensors: GgufFile["tensors"] = new Map();
  const add = (name: string, ne: number[], f: () => number) => {
    const n = ne.reduce((x, y) => x * y, 1);
    tensors.set(name, { name, ne, type: 0, data: Float64Array.from({ length: n }, f) });
  };
  const mat = (name: string, nIn: number, nOut: number, gain = 1) => add(name, [nIn, nOut], () => (gain * gauss()) / Math.sqrt(nIn));
  const normW = (name: string, n: number) => add(name, [n], () => 1 + 0.2 * gauss());
  add("token_embd.weight", [E, V], () => gauss() * (a.startsWith("gemma") ? 1 / Math.sqrt(E) : 1));
  if (s.ropeFreqs) add("rope_freqs.weight", [hd / 2], (() => { let i = 0; return () => s.ropeFreqs![i++]!; })());
  for (let l = 0; l < s.nLayer; l++) {
    const p = `blk.${l}.`;
    normW(p + "attn_norm.weight", E);
    if (s.fusedQkv) mat(p + "attn_qkv.weight", E, (H + 2 * HK) * hd, 1.5);
    else {
      mat(p + "attn_q.weight", E, H * hd, 1.5);
      mat(p + "attn_k.weight", E, HK * hd, 1.5);
      mat(p + "attn_v.weight", E, HK * hd);
    }
    if (s.qkNorm) {
      normW(p + "attn_q_norm.weight", hd);
      normW(p + "attn_k_norm.weight", hd);
    }
    mat(p + "attn_output.weight", H * hd, E);
    if (s.postNorms) normW(p + "post_attention_norm.weight", E);
    normW(p + "ffn_norm.weight", E);
    if (s.fusedGateUp) mat(p + "ffn_up.weight", E, 2 * FF);
    else {
      mat(p + "ffn_gate.weight", E, FF);
      mat(p + "ffn_up.weight", E, FF);
    }
    mat(p + "ffn_down.weight", FF, E);
    if (s.postNorms) normW(p + "post_ffw_norm.weight", E);
  }
  normW("output_norm.weight", E);
  if (!s.tied) mat("output.weight", E, V, 2);
  return { kv, kvType, tensors };
}
