// Engine: owns trainable state (grads, AdamW moments), the cached step graphs and
// the optimizer graphs; runs micro-batches, optimizer steps and evaluation.
#pragma once
#include "backend.h"
#include "cpu_ops.h"
#include "dataset.h"
#include "model.h"

#include <map>
#include <memory>
#include <vector>

struct MicroBatch {
    std::vector<int32_t> tokens;   // B*T
    std::vector<int32_t> idx;      // flat positions (b*T+i) whose next token is a target
    std::vector<int32_t> targets;  // target token per idx entry
};

// rows: dataset row per sequence slot, -1 for an empty (padding) slot.
MicroBatch make_micro_batch(const Dataset & d, const std::vector<int64_t> & rows);

struct AdamWParams {
    float lr, beta1, beta2, eps, weight_decay;
    int64_t t; // 1-based optimizer step, for bias correction
};

class Engine {
public:
    Engine(Backends & be, Model & m, int B, int T, bool train);
    ~Engine();

    std::vector<ggml_tensor *> trainable;             // params being optimised
    ggml_tensor * grad(ggml_tensor * p) { return grad_of.at(p); }
    ggml_tensor * adam_m(ggml_tensor * p) { return m_of.at(p); }
    ggml_tensor * adam_v(ggml_tensor * p) { return v_of.at(p); }

    uint64_t state_bytes() const;                      // grads + moments
    uint64_t measure_compute_bytes();                  // exact, via the largest graph
    uint64_t graph_bytes_estimate();                   // host memory of the graph objects a run builds
    void reserve();                                    // allocate compute buffers up front

    // Forward+backward, accumulating d(step loss)/dθ where step loss is the mean CE over
    // `step_targets` targets. Returns the sum of CE over this micro-batch's targets.
    double accumulate(const MicroBatch & mb, int64_t step_targets, uint64_t dropout_seed);
    // Forward only: sum of CE over the micro-batch's targets.
    double forward_sum(const MicroBatch & mb);
    double grad_norm();                                // global L2 norm of accumulated grads
    void optimizer_step(const AdamWParams & p, float clip_scale);
    void zero_grads();

    // Activation checkpointing + chunked output head (model.h, Segment): call before the first step.
    void enable_checkpointing();
    bool checkpointing() const { return checkpoint; }
    int head_rows() const { return head_chunk; }  // target rows per head segment (checkpointing)
    uint64_t checkpoint_bytes() const { return ckpt_buf ? ggml_backend_buffer_get_size(ckpt_buf) : 0; }

    int B, T;
    bool fast_gemm = false; // forge_sgemm instead of ggml's CPU GEMM (see rewrite_gemm)
    bool bf16 = false;      // training GEMMs with BF16 operands (set before the first step)
private:
    Backends & be;
    Model & m;
    bool train;
    ggml_context * sctx = nullptr;
    ggml_backend_buffer_t grads_buf = nullptr, moments_buf = nullptr, aux_buf = nullptr;
    std::map<ggml_tensor *, ggml_tensor *> grad_of, m_of, v_of;
    ggml_tensor * loss_grad = nullptr;
    ggml_tensor * clip_scale = nullptr;
    ggml_tensor * adam_wd = nullptr;    // AdamW hyperparameters for matrices
    ggml_tensor * adam_nowd = nullptr;  // same with weight decay 0 (norms, biases)
    ggml_context * octx = nullptr;
    ggml_cgraph * norm_graph = nullptr;
    ggml_tensor * sumsq = nullptr;
    ggml_cgraph * opt_graph = nullptr;
    bool fused_opt = false;       // CPU: forge_grad_norm + forge_adamw instead of the two graphs
    bool grads_clear = false;     // the last fused step already zeroed the gradients
    std::vector<AdamWSlot> slots;
    std::map<int, std::unique_ptr<StepGraph>> train_graphs, eval_graphs; // by bucketed M
    ggml_cgraph * allocated = nullptr;
    std::vector<int32_t> pos_data;
    std::vector<float> mask_data, mask_swa_data, attn_temp_data;
    std::vector<float> labels_host;

    int bucket(int m) const;
    StepGraph * graph_for(int M, bool backward);
    void use_graph(ggml_cgraph * g);
    void set_inputs(StepGraph * g, const MicroBatch & mb, int r0, int r1, uint64_t dropout_seed);
    void compute(StepGraph * g);
    double run(StepGraph * g, const MicroBatch & mb, uint64_t dropout_seed);
    std::vector<StepGraph *> largest_graphs();

    // checkpointed steps
    bool checkpoint = false;
    ggml_context * cctx = nullptr;
    ggml_backend_buffer_t ckpt_buf = nullptr;
    std::vector<ggml_tensor *> ckpt;          // x_0..x_L [E, B*T]
    ggml_tensor * gx[2] = {nullptr, nullptr}; // dL/dx ping-pong between segments
    ggml_tensor * one = nullptr;
    int head_chunk = 0;                       // target rows per head segment
    std::unique_ptr<StepGraph> fwd_graph[2], embed_graph;   // [eval, train]
    std::map<int, std::unique_ptr<StepGraph>> head_graphs[2];
    std::vector<std::unique_ptr<StepGraph>> layer_graphs;
    int head_bucket(int M) const;
    StepGraph * segment(Segment seg, int arg, bool backward);
    double run_checkpointed(const MicroBatch & mb, int64_t step_targets, uint64_t dropout_seed, bool backward);
};
