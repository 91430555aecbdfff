// Llama-family model: hyperparameters, weight tensors, and the training/eval graph.
// Tensor names and layouts follow llama.cpp so the written GGUF runs there unchanged.
#pragma once
#include "ggml.h"
#include "ggml-backend.h"

#include <map>
#include <string>
#include <vector>

struct HParams {
    std::string arch = "llama";
    int n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_ctx = 0;
    int head_dim = 0;
    float rope_theta = 10000.0f, norm_eps = 1e-5f;
    int rope_mode = 0;      // llama: GGML_ROPE_TYPE_NORM; qwen2/3: NEOX (as llama.cpp picks per arch)
    bool tied = false;      // no output.weight: the head reuses token_embd
    bool qkv_bias = false;  // qwen2
    bool qk_norm = false;   // qwen3
};

struct Layer {
    ggml_tensor *attn_norm = nullptr, *wq = nullptr, *wk = nullptr, *wv = nullptr, *wo = nullptr;
    ggml_tensor *bq = nullptr, *bk = nullptr, *bv = nullptr, *q_norm = nullptr, *k_norm = nullptr;
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
    std::vector<Layer> layers;
    std::vector<ggml_tensor *> weights;        // unique, in GGUF order

    // LoRA adapters, keyed by the base weight they modify.
    ggml_context * lora_ctx = nullptr;
    ggml_backend_buffer_t lora_buf = nullptr;
    std::map<const ggml_tensor *, LoraPair> lora;
    std::vector<ggml_tensor *> lora_tensors;   // a,b,a,b,... in layer order
    float lora_scale = 1.0f;                   // alpha / rank
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
    ggml_tensor *idx = nullptr, *labels = nullptr, *rowmask = nullptr;
    ggml_tensor *loss = nullptr; // mean CE over M rows (padding rows contribute 0)
    std::vector<ggml_tensor *> dropout_masks;
    ~StepGraph();
};

size_t graph_size_for(const HParams & hp, bool lora);

// Build forward (+ backward into grad_of when train) for B sequences of length T,
// gathering M target positions before the output head.
// grad_of maps each trainable tensor to its persistent gradient accumulator; loss_grad
// is a persistent scalar holding d(step loss)/d(graph loss).
StepGraph * build_step_graph(Model & m, int B, int T, int M, bool train, bool dropout, bool fast_gemm,
                             const std::map<ggml_tensor *, ggml_tensor *> & grad_of,
                             ggml_tensor * loss_grad);

// Names of tensors llama.cpp expects, for validation and output order.
std::vector<std::string> lora_target_names();
