// Decoder model (llama family and the archs in HParams): hyperparameters, weight tensors, and the training/eval graph.
// Tensor names and layouts follow llama.cpp so the written GGUF runs there unchanged.
#pragma once
#include "cpu_ops.h"
#include "ggml.h"
#include "ggml-backend.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

// Hyperparameters and per-architecture switches, read the way llama.cpp reads them (gguf_io.cpp)
// so the graph forge trains is the graph llama.cpp serves. Families: llama (incl. Llama 3.x with
// rope_freqs, Mistral), mistral3, qwen2, qwen3, gemma, gemma2, gemma3, phi3, smollm3, granite.
struct HParams {
    std::string arch = "llama";
    int n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_ctx = 0;
    int head_dim = 0;
    float rope_theta = 10000.0f, norm_eps = 1e-5f;
    int rope_mode = 0;      // GGML_ROPE_TYPE_NORMAL (llama family) or NEOX (qwen, gemma, phi3), as llama.cpp picks per arch
    float rope_freq_scale = 1.0f;    // linear RoPE scaling: angle = pos * freq_scale * theta^(-2i/d)
    float rope_attn_factor = 1.0f;   // rope.scaling.attn_factor: rotated q/k × factor (llama.cpp's yarn_attn_factor, no YaRN)
    bool rope_freqs = false;         // llama3 RoPE scaling: rope_freqs.weight [head_dim/2] divides each pair's frequency
    // Sliding-window attention (gemma2/3): layer l attends to keys with q_pos - k_pos < n_swa when swa_layer[l].
    // Those layers may use their own RoPE base and scale (gemma3: local 10k base, no linear scaling).
    int n_swa = 0;
    std::vector<uint8_t> swa_layer;  // empty: no sliding-window layers
    float rope_theta_swa = 10000.0f, rope_freq_scale_swa = 1.0f;
    std::vector<uint8_t> nope_layer; // smollm3: every 4th layer has no RoPE (empty: all layers rotate)
    float embd_scale = 1.0f;         // token embeddings × scale (gemma: sqrt(n_embd); granite: embedding_scale)
    float residual_scale = 1.0f;     // granite: attention and FFN outputs × scale before the residual add
    float logit_scale = 1.0f;        // granite: logits / logit_scale
    float attn_scale = 0.0f;         // scores = q·k × attn_scale before soft-capping/softmax; 0 = 1/sqrt(head_dim)
    float attn_softcap = 0.0f;       // gemma2: scores = cap · tanh(scores / cap)
    float final_softcap = 0.0f;      // gemma2/3: logits = cap · tanh(logits / cap)
    float attn_temp_scale = 0.0f;    // mistral3 (llama4-style): q × (log(floor(pos / floor_len) + 1) · scale + 1)
    int attn_temp_floor = 0;
    bool post_norms = false;         // gemma2/3: RMS norm on the attention and FFN outputs before the residual add
    bool gelu = false;               // gated FFN with GELU (tanh form) instead of SiLU: gemma
    bool fused_qkv = false;          // one attn_qkv [n_embd, q+k+v] matrix (phi3, some llama conversions)
    bool fused_gate_up = false;      // ffn_up [n_embd, 2·n_ff] = [gate; up] (phi3)
    bool tied = false;      // no output.weight: the head reuses token_embd
    bool qkv_bias = false;  // qwen2 (separate biases, or attn_qkv.bias when fused)
    bool qk_norm = false;   // qwen3, gemma3: RMS norm over each head's q and k

    bool is_swa(int l) const { return !swa_layer.empty() && swa_layer[l]; }
    bool has_rope(int l) const { return nope_layer.empty() || !nope_layer[l]; }
};

struct Layer {
    ggml_tensor *attn_norm = nullptr, *wq = nullptr, *wk = nullptr, *wv = nullptr, *wo = nullptr;
    ggml_tensor *wqkv = nullptr, *bqkv = nullptr;  // fused form
    ggml_tensor *bq = nullptr, *bk = nullptr, *bv = nullptr, *q_norm = nullptr, *k_norm = nullptr;
    ggml_tensor *attn_post_norm = nullptr, *ffn_post_norm = nullptr;
    ggml_tensor *ffn_norm = nullptr, *w_gate = nullptr, *w_up = nullptr, *w_down = nullptr;
};

struct LoraPair {
    ggml_tensor * a = nullptr; // [n_in, rank]
    ggml_tensor * b = nullptr; // [rank, n_out]
};

struct Model {
    HParams hp;
    ggml_context * ctx = nullptr;              // weights (metadata; data lives in buf)
    ggml_backend_buffer_t buf = nullptr;
    ggml_tensor *tok_embd = nullptr, *out_norm = nullptr, *output = nullptr;
    ggml_tensor *rope_freqs = nullptr;         // llama3 frequency factors: a constant of the architecture
    std::vector<Layer> layers;
    std::vector<ggml_tensor *> weights;        // unique, in GGUF order (everything written to an output model)
    std::vector<ggml_tensor *> params() const; // weights minus constants: what a full fine-tune trains

    // LoRA adapters, keyed by the base weight they modify.
    ggml_context * lora_ctx = nullptr;
    ggml_backend_buffer_t lora_buf = nullptr;
    std::map<const ggml_tensor *, LoraPair> lora;
    std::vector<ggml_tensor *> lora_tensors;   // a,b,a,b,... in layer order
    float lora_scale = 1.0f;                   // alpha / rank
    ggml_type mm_cast = GGML_TYPE_F32;         // GPU half precision: F32 weights enter matmuls as this type
    float lora_dropout = 0.0f;

    ~Model();
    int64_t n_params() const;
};

// Create weight tensors (metadata only) of the given storage type for 2D matrices;
// 1D tensors are always F32. type_of may override per tensor name (base GGUF types).
void model_create(Model & m, const HParams & hp, ggml_type mat_type,
                  const std::map<std::string, ggml_type> * type_of = nullptr);
void model_alloc(Model & m, ggml_backend_t backend);
void model_init_random(Model & m, uint64_t seed);

// LoRA: targets like "attn_q", "ffn_down".
void lora_create(Model & m, const std::vector<std::string> & targets, int rank, float alpha, float dropout, ggml_backend_t backend);
void lora_init_random(Model & m, uint64_t seed);

// Inputs of one micro-batch graph.
struct StepGraph {
    ggml_context * ctx = nullptr;
    ggml_cgraph * graph = nullptr;
    int B = 0, T = 0, M = 0;  // sequences, sequence length, gathered target rows
    ggml_tensor *tokens = nullptr, *pos = nullptr, *kq_mask = nullptr;
    ggml_tensor *kq_mask_swa = nullptr;   // causal + sliding window (gemma2/3)
    ggml_tensor *attn_temp = nullptr;     // [1, 1, T] per-position q scale (mistral3)
    ggml_tensor *idx = nullptr, *labels = nullptr, *rowmask = nullptr;
    ggml_tensor *loss = nullptr; // mean CE over M rows (padding rows contribute 0)
    std::vector<ggml_tensor *> dropout_masks;
    std::vector<uint64_t> dropout_ids;     // (layer, matmul) identity of each mask
    std::deque<FnOp> fn_ops;              // GELU / soft-capping stand-ins to swap after autodiff
    ~StepGraph();
};

size_t graph_size_for(const HParams & hp, bool lora);

// Build forward (+ backward into grad_of when train) for B sequences of length T,
// gathering M target positions before the output head.
// grad_of maps each trainable tensor to its persistent gradient accumulator; loss_grad
// is a persistent scalar holding d(step loss)/d(graph loss).
// bf16: forge's GEMMs take BF16-rounded operands (F32 accumulate); needs fast_gemm and AVX512-BF16.
StepGraph * build_step_graph(Model & m, int B, int T, int M, bool train, bool dropout, bool fast_gemm, bool bf16,
                             const std::map<ggml_tensor *, ggml_tensor *> & grad_of,
                             ggml_tensor * loss_grad);

// Activation checkpointing builds a step from segments instead of one graph (engine.cpp):
//   Forward  embeddings and every block, writing the block inputs x_0..x_L to persistent checkpoints;
//   Head     output head and loss over (a chunk of) the target rows of x_L; backward gives dL/dx_L;
//   Layer l  block l recomputed from x_l with the surrogate loss sum(block(x_l) ⊙ dL/dx_{l+1}), whose gradient
//            is exactly the block's vector-Jacobian product: parameter gradients and dL/dx_l;
//   Embed    sum(embed() ⊙ dL/dx_0) for the embedding gradient (when token_embd trains).
// Only one block's activations are alive at a time, and the head runs over chunks of target rows, so the
// [V, M] logits of a large vocabulary are never materialised for the whole batch.
enum class Segment { Full, Forward, Head, Layer, Embed };
struct SegmentIO {
    std::vector<ggml_tensor *> ckpt;  // x_0..x_L [E, N] (persistent; params when training)
    ggml_tensor * gx_in = nullptr;    // Layer/Embed: dL/d(segment output), constant
    ggml_tensor * gx_out = nullptr;   // Head/Layer: accumulator of dL/d(segment input) (zeroed by the caller)
    ggml_tensor * one = nullptr;      // persistent scalar 1: gradient of a surrogate loss
};
StepGraph * build_segment_graph(Model & m, Segment seg, int layer, int B, int T, int M, bool train, bool dropout, bool fast_gemm, bool bf16,
                                const std::map<ggml_tensor *, ggml_tensor *> & grad_of, ggml_tensor * loss_grad, const SegmentIO & io);

// Swap every eligible MUL_MAT / OUT_PROD of a built graph for forge's GEMM custom op (CPU, x86).
void rewrite_gemm(ggml_context * ctx, ggml_cgraph * g, bool bf16 = false);

// Names of tensors llama.cpp expects, for validation and output order.
std::vector<std::string> lora_target_names();
