import { ForgeError } from "../errors";
import { meta, type GgufModel } from "./gguf-tensors";

/*
 * GGUF ↔ Hugging Face for the llama family Atelier trains (llama, qwen2, qwen3): tensor names,
 * llama's Q/K row permutation, and config.json.
 *
 * The permutation: llama.cpp's converter reorders the rows of q_proj/k_proj so that its
 * "normal" RoPE (rotating adjacent pairs 2i, 2i+1) computes what Hugging Face's rotate_half
 * RoPE computes on the original rows (pairs i, i + d/2). Per head of d rows, HF row t·d/2 + i
 * (t ∈ {0, 1}) sits at GGUF row 2i + t. qwen2/qwen3 run NEOX RoPE in llama.cpp — the same as
 * rotate_half — so their rows are not permuted.
 */

export type HfArch = "llama" | "qwen2" | "qwen3";

export type ModelShape = {
  arch: HfArch;
  nEmbd: number;
  nFf: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  nVocab: number;
  nCtx: number;
  ropeTheta: number;
  normEps: number;
  tiedOutput: boolean;
  attentionBias: boolean;
};

export function modelShape(model: GgufModel): ModelShape {
  const arch = String(meta(model, "general.architecture") ?? "");
  if (arch !== "llama" && arch !== "qwen2" && arch !== "qwen3") {
    throw new ForgeError("BAD_CONFIG", `Hugging Face export supports llama, qwen2 and qwen3 models; ${model.path} is ${arch || "of unknown architecture"}.`);
  }
  const num = (key: string, fallback?: number) => {
    const v = meta(model, `${arch}.${key}`);
    if (typeof v === "number") return v;
    if (fallback !== undefined) return fallback;
    throw new ForgeError("BAD_CONFIG", `${model.path} has no ${arch}.${key}`);
  };
  const nEmbd = num("embedding_length");
  const nHead = num("attention.head_count");
  const headDim = num("attention.key_length", nEmbd / nHead);
  const rope = num("rope.dimension_count", headDim);
  if (rope !== headDim) throw new ForgeError("BAD_CONFIG", `${model.path} rotates ${rope} of ${headDim} head dimensions (partial RoPE), which this export does not write.`);
  if (meta(model, `${arch}.rope.scaling.type`) || model.tensors.has("rope_freqs.weight")) {
    throw new ForgeError("BAD_CONFIG", `${model.path} uses RoPE scaling, which this export does not write.`);
  }
  const tokens = meta(model, "tokenizer.ggml.tokens");
  const embd = model.tensors.get("token_embd.weight");
  return {
    arch,
    nEmbd,
    nFf: num("feed_forward_length"),
    nLayer: num("block_count"),
    nHead,
    nHeadKv: num("attention.head_count_kv", nHead),
    headDim,
    nVocab: embd?.ne[1] ?? (Array.isArray(tokens) ? tokens.length : num("vocab_size")),
    nCtx: num("context_length"),
    ropeTheta: num("rope.freq_base", 10000),
    normEps: num("attention.layer_norm_rms_epsilon", 1e-5),
    tiedOutput: !model.tensors.has("output.weight"),
    attentionBias: model.tensors.has("blk.0.attn_q.bias"),
  };
}

const BLOCK_NAMES: Record<string, string> = {
  attn_norm: "input_layernorm",
  attn_q: "self_attn.q_proj",
  attn_k: "self_attn.k_proj",
  attn_v: "self_attn.v_proj",
  attn_output: "self_attn.o_proj",
  attn_q_norm: "self_attn.q_norm",
  attn_k_norm: "self_attn.k_norm",
  ffn_norm: "post_attention_layernorm",
  ffn_gate: "mlp.gate_proj",
  ffn_up: "mlp.up_proj",
  ffn_down: "mlp.down_proj",
};

/** The HF module path of a GGUF tensor base name, e.g. blk.3.attn_q → model.layers.3.self_attn.q_proj. */
export function hfModule(ggufBase: string): string {
  if (ggufBase === "token_embd") return "model.embed_tokens";
  if (ggufBase === "output_norm") return "model.norm";
  if (ggufBase === "output") return "lm_head";
  const m = /^blk\.(\d+)\.(\w+)$/.exec(ggufBase);
  const mapped = m ? BLOCK_NAMES[m[2]!] : undefined;
  if (!m || !mapped) throw new ForgeError("BAD_CONFIG", `no Hugging Face name for GGUF tensor ${ggufBase}`);
  return `model.layers.${m[1]}.${mapped}`;
}

/** `weight`/`bias` tensor name: blk.0.attn_q.weight → model.layers.0.self_attn.q_proj.weight */
export function hfTensorName(ggufName: string): string {
  const m = /^(.+)\.(weight|bias)$/.exec(ggufName);
  if (!m) throw new ForgeError("BAD_CONFIG", `unexpected GGUF tensor name ${ggufName}`);
  return `${hfModule(m[1]!)}.${m[2]}`;
}

/** How many heads a tensor's rows are split into for the Q/K un-permutation (0: not permuted). */
export function permutedHeads(shape: ModelShape, ggufBase: string): number {
  if (shape.arch !== "llama") return 0;
  if (/\.attn_q$/.test(ggufBase)) return shape.nHead;
  if (/\.attn_k$/.test(ggufBase)) return shape.nHeadKv;
  return 0;
}

/** GGUF row order → HF row order for `heads` heads (rows of `cols` values each). */
export function unpermuteRows(data: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  if (heads === 0) return data;
  const d = rows / heads;
  if (!Number.isInteger(d) || d % 2 !== 0) throw new ForgeError("BAD_CONFIG", `cannot split ${rows} rows into ${heads} heads of even size`);
  const half = d / 2;
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++) {
    for (let t = 0; t < 2; t++) {
      for (let i = 0; i < half; i++) {
        const hfRow = h * d + t * half + i;
        const ggufRow = h * d + 2 * i + t;
        out.set(data.subarray(ggufRow * cols, (ggufRow + 1) * cols), hfRow * cols);
      }
    }
  }
  return out;
}

export function hfConfig(shape: ModelShape, dtype: string, ids: { bos: number | null; eos: number | null }): Record<string, unknown> {
  const common = {
    hidden_size: shape.nEmbd,
    intermediate_size: shape.nFf,
    num_hidden_layers: shape.nLayer,
    num_attention_heads: shape.nHead,
    num_key_value_heads: shape.nHeadKv,
    head_dim: shape.headDim,
    hidden_act: "silu",
    max_position_embeddings: shape.nCtx,
    rms_norm_eps: shape.normEps,
    rope_theta: shape.ropeTheta,
    rope_scaling: null,
    vocab_size: shape.nVocab,
    tie_word_embeddings: shape.tiedOutput,
    bos_token_id: ids.bos,
    eos_token_id: ids.eos,
    torch_dtype: dtype,
    initializer_range: 0.02,
    attention_dropout: 0.0,
    use_cache: true,
  };
  if (shape.arch === "llama") return { architectures: ["LlamaForCausalLM"], model_type: "llama", ...common, attention_bias: shape.attentionBias, mlp_bias: false, pretraining_tp: 1 };
  if (shape.arch === "qwen2") return { architectures: ["Qwen2ForCausalLM"], model_type: "qwen2", ...common, use_sliding_window: false, sliding_window: shape.nCtx, max_window_layers: shape.nLayer };
  return { architectures: ["Qwen3ForCausalLM"], model_type: "qwen3", ...common, attention_bias: shape.attentionBias, use_sliding_window: false, sliding_window: null, max_window_layers: shape.nLayer };
}
