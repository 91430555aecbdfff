// Pool-parallel CPU versions of the non-GEMM work of a training step.
//
// With the default threading (see gemm.h) ggml runs single-threaded and only the GEMMs fan out to
// forge's pool. The rest of the step (~15-20% of one core: SiLU and its backward, broadcast MUL/ADD,
// permute copies, softmax, RMS norm and their backward, AdamW, the gradient norm) would then keep the
// other cores idle. These replacements run on the same pool, so the whole step scales with
// `threads` without ggml's spinning barriers. All of them are element- or row-wise with a fixed
// partition, so results do not depend on the thread count.
#pragma once
#include "ggml.h"

#include <cstdint>
#include <deque>
#include <vector>

// Replace eligible F32 SILU_BACK, MUL, ADD, CONT, SOFT_MAX(_BACK), RMS_NORM(_BACK), SILU and split
// SWIGLU nodes of a built (forward + backward) graph by custom ops with the same semantics. Ineligible shapes stay ggml's.
void rewrite_cpu_ops(ggml_context * ctx, ggml_cgraph * g);

// Element-wise functions ggml cannot differentiate (no GELU or TANH backward). The forward graph uses
// a SILU node as a stand-in, so autodiff emits SILU_BACK(dy, x) for it; rewrite_fn_ops then swaps the
// pair for the real function and its derivative (on any backend: the custom op runs on the CPU).
//   FN_GELU_TANH: y = x/2 · (1 + tanh(√(2/π)·(x + 0.044715·x³)))   (ggml_gelu's formula, gemma's FFN)
//   FN_SOFTCAP:   y = cap · tanh(x · a / cap), a = pre-scale        (gemma2 attention/final soft-capping)
enum FnKind { FN_GELU_TANH = 1, FN_SOFTCAP = 2 };
struct FnOp {
    ggml_tensor * x;
    ggml_tensor * y;
    FnKind kind;
    float cap, pre; // FN_SOFTCAP
};
// x must be a tensor that no other SILU reads (a GEMM output or a view): its SILU_BACK identifies the pair.
ggml_tensor * forge_fn(ggml_context * ctx, std::deque<FnOp> & ops, ggml_tensor * x, FnKind kind, float cap = 0, float pre = 1);
void rewrite_fn_ops(ggml_context * ctx, ggml_cgraph * g, std::deque<FnOp> & ops);

// Name of a forge custom op ("gemm", "silu_back", ...) for the profiler, or nullptr.
const char * forge_custom_op_name(const ggml_tensor * t);

// Fused optimizer over host-memory F32 tensors.
struct AdamWSlot {
    float * w;
    float * g;
    float * m;
    float * v;
    int64_t n;
    bool decay;
};
// Global L2 norm of all gradients: per-block f64 partial sums combined in a fixed order.
double forge_grad_norm(const std::vector<AdamWSlot> & slots);
// g *= clip; AdamW exactly as ggml's OPT_STEP_ADAMW (decoupled weight decay on `decay` slots);
// then g = 0 for the next step's accumulation. Fused into one pass over each tensor.
void forge_adamw(const std::vector<AdamWSlot> & slots, float clip, float lr, float beta1, float beta2, float eps,
                 float wd, float beta1h, float beta2h);
