// The decoder model (model.h): weight tensors per architecture, random init, LoRA adapters, and the ggml graph
// of a training/eval step (one graph, or the segments of a checkpointed step), plus the rewrite of every F32 /
// typed GEMM node into forge's kernels. Activations are [E, N] with N = B·T tokens (ggml order: ne[0] fastest);
// attention runs on [hd, T, H, B] views; only the M target rows reach the [V, M] output head.
#include "model.h"
#include "common.h"
#include "dataset.h"
#include "gemm.h"
#include "cpu_ops.h"

#include "ggml-alloc.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

Model::~Model() {
    if (lora_buf) ggml_backend_buffer_free(lora_buf);
    if (lora_ctx) ggml_free(lora_ctx);
    if (buf) ggml_backend_buffer_free(buf);
    if (ctx) ggml_free(ctx);
}

int64_t Model::n_params() const {
    int64_t n = 0;
    for (auto * t : weights) n += ggml_nelements(t);
    return n;
}

std::vector<ggml_tensor *> Model::params() const {
    std::vector<ggml_tensor *> p;
    for (auto * t : weights) if (t != rope_freqs) p.push_back(t);
    return p;
}

StepGraph::~StepGraph() {
    if (ctx) ggml_free(ctx);
}

std::vector<std::string> lora_target_names() {
    return {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
}

void model_create(Model & m, const HParams & hp, ggml_type mat_type, const std::map<std::string, ggml_type> * type_of) {
    m.hp = hp;
    const int n_tensors = 5 + hp.n_layer * 20;
    ggml_init_params ip = { (size_t) n_tensors * ggml_tensor_overhead(), nullptr, true };
    m.ctx = ggml_init(ip);

    auto make = [&](const std::string & name, int64_t ne0, int64_t ne1) {
        ggml_type t = ne1 > 1 ? mat_type : GGML_TYPE_F32;
        if (type_of && ne1 > 1) {
            auto it = type_of->find(name);
            if (it != type_of->end()) t = it->second;
        }
        ggml_tensor * x = ne1 > 1 ? ggml_new_tensor_2d(m.ctx, t, ne0, ne1) : ggml_new_tensor_1d(m.ctx, t, ne0);
        ggml_set_name(x, name.c_str());
        m.weights.push_back(x);
        return x;
    };
    const int E = hp.n_embd, hd = hp.head_dim, nq = hp.n_head * hd, nkv = hp.n_head_kv * hd;
    m.tok_embd = make("token_embd.weight", E, hp.n_vocab);
    if (hp.rope_freqs) m.rope_freqs = make("rope_freqs.weight", hd / 2, 1);
    m.layers.resize(hp.n_layer);
    for (int l = 0; l < hp.n_layer; l++) {
        Layer & L = m.layers[l];
        auto n = [&](const char * s) { return "blk." + std::to_string(l) + "." + s; };
        L.attn_norm = make(n("attn_norm.weight"), E, 1);
        if (hp.fused_qkv) {
            L.wqkv = make(n("attn_qkv.weight"), E, nq + 2 * nkv);
            if (hp.qkv_bias) L.bqkv = make(n("attn_qkv.bias"), nq + 2 * nkv, 1);
        } else {
            L.wq = make(n("attn_q.weight"), E, nq);
            L.wk = make(n("attn_k.weight"), E, nkv);
            L.wv = make(n("attn_v.weight"), E, nkv);
            if (hp.qkv_bias) {
                L.bq = make(n("attn_q.bias"), nq, 1);
                L.bk = make(n("attn_k.bias"), nkv, 1);
                L.bv = make(n("attn_v.bias"), nkv, 1);
            }
        }
        if (hp.qk_norm) {
            L.q_norm = make(n("attn_q_norm.weight"), hd, 1);
            L.k_norm = make(n("attn_k_norm.weight"), hd, 1);
        }
        L.wo = make(n("attn_output.weight"), nq, E);
        if (hp.post_norms) L.attn_post_norm = make(n("post_attention_norm.weight"), E, 1);
        L.ffn_norm = make(n("ffn_norm.weight"), E, 1);
        if (hp.fused_gate_up) {
            L.w_up = make(n("ffn_up.weight"), E, 2 * (int64_t) hp.n_ff);
        } else {
            L.w_gate = make(n("ffn_gate.weight"), E, hp.n_ff);
            L.w_up = make(n("ffn_up.weight"), E, hp.n_ff);
        }
        L.w_down = make(n("ffn_down.weight"), hp.n_ff, E);
        if (hp.post_norms) L.ffn_post_norm = make(n("post_ffw_norm.weight"), E, 1);
    }
    m.out_norm = make("output_norm.weight", E, 1);
    m.output = hp.tied ? m.tok_embd : make("output.weight", E, hp.n_vocab);
}

void model_alloc(Model & m, ggml_backend_t backend) {
    m.buf = ggml_backend_alloc_ctx_tensors(m.ctx, backend);
    if (!m.buf) fail("OUT_OF_MEMORY", "cannot allocate " + fmt_bytes(ggml_get_mem_size(m.ctx)) + " for model weights");
    ggml_backend_buffer_set_usage(m.buf, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
}

// Box-Muller over splitmix64: identical numbers on every platform/libstdc++ for a seed.
static void fill_normal(std::vector<float> & v, uint64_t & st, float std) {
    for (size_t i = 0; i < v.size(); i += 2) {
        double u1 = ((splitmix64(st) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
        double u2 = ((splitmix64(st) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
        double r = std::sqrt(-2.0 * std::log(u1));
        v[i] = (float) (r * std::cos(2 * M_PI * u2) * std);
        if (i + 1 < v.size()) v[i + 1] = (float) (r * std::sin(2 * M_PI * u2) * std);
    }
}

void model_init_random(Model & m, uint64_t seed) {
    // GPT-2 style: N(0, 0.02), residual-stream writers scaled by 1/sqrt(2*n_layer).
    const float resid_std = 0.02f / std::sqrt(2.0f * m.hp.n_layer);
    uint64_t st = seed ^ 0x5DEECE66Dull;
    for (ggml_tensor * t : m.weights) {
        std::vector<float> v(ggml_nelements(t));
        std::string name = ggml_get_name(t);
        bool is_norm = name.find("norm") != std::string::npos;
        bool is_bias = name.find(".bias") != std::string::npos;
        if (is_norm) std::fill(v.begin(), v.end(), 1.0f);
        else if (is_bias) std::fill(v.begin(), v.end(), 0.0f);
        else {
            bool resid = name.find("attn_output") != std::string::npos || name.find("ffn_down") != std::string::npos;
            fill_normal(v, st, resid ? resid_std : 0.02f);
        }
        if (t->type != GGML_TYPE_F32) fail("BAD_CONFIG", "scratch init needs F32 master weights");
        ggml_backend_tensor_set(t, v.data(), 0, v.size() * sizeof(float));
    }
}

// The matrix a LoRA target names. Fused layouts (phi3) hold several targets in one matrix:
// attn_q/k/v all adapt attn_qkv, ffn_gate/ffn_up adapt the fused ffn_up (llama.cpp names adapters by matrix).
static const ggml_tensor * layer_target(const Layer & L, const std::string & t) {
    if (t == "attn_q") return L.wqkv ? L.wqkv : L.wq;
    if (t == "attn_k") return L.wqkv ? L.wqkv : L.wk;
    if (t == "attn_v") return L.wqkv ? L.wqkv : L.wv;
    if (t == "attn_output") return L.wo;
    if (t == "ffn_gate") return L.w_gate ? L.w_gate : L.w_up;
    if (t == "ffn_up") return L.w_up;
    if (t == "ffn_down") return L.w_down;
    return nullptr;
}

void lora_create(Model & m, const std::vector<std::string> & targets, int rank, float alpha, float dropout, ggml_backend_t backend) {
    ggml_init_params ip = { (size_t) (m.hp.n_layer * targets.size() * 2 + 1) * ggml_tensor_overhead(), nullptr, true };
    m.lora_ctx = ggml_init(ip);
    m.lora_scale = alpha / (float) rank;
    m.lora_dropout = dropout;
    for (int l = 0; l < m.hp.n_layer; l++) {
        for (const auto & tname : targets) {
            const ggml_tensor * w = layer_target(m.layers[l], tname);
            if (!w) fail("BAD_CONFIG", "unknown LoRA target \"" + tname + "\" (targets: attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down)");
            if (m.lora.count(w)) continue; // a fused matrix named by several targets
            LoraPair p;
            p.a = ggml_new_tensor_2d(m.lora_ctx, GGML_TYPE_F32, w->ne[0], rank);
            p.b = ggml_new_tensor_2d(m.lora_ctx, GGML_TYPE_F32, rank, w->ne[1]);
            ggml_format_name(p.a, "%s.lora_a", ggml_get_name(w));
            ggml_format_name(p.b, "%s.lora_b", ggml_get_name(w));
            m.lora[w] = p;
            m.lora_tensors.push_back(p.a);
            m.lora_tensors.push_back(p.b);
        }
    }
    m.lora_buf = ggml_backend_alloc_ctx_tensors(m.lora_ctx, backend);
    if (!m.lora_buf) fail("OUT_OF_MEMORY", "cannot allocate LoRA adapters");
}

void lora_init_random(Model & m, uint64_t seed) {
    // A ~ kaiming-uniform-like N(0, 1/sqrt(n_in)), B = 0: the adapter starts as a no-op.
    uint64_t st = seed ^ 0x10A4A1ull;
    for (auto & kv : m.lora) {
        std::vector<float> a(ggml_nelements(kv.second.a));
        fill_normal(a, st, 1.0f / std::sqrt((float) kv.second.a->ne[0]));
        ggml_backend_tensor_set(kv.second.a, a.data(), 0, a.size() * 4);
        std::vector<float> b(ggml_nelements(kv.second.b), 0.0f);
        ggml_backend_tensor_set(kv.second.b, b.data(), 0, b.size() * 4);
    }
}

size_t graph_size_for(const HParams & hp, bool lora) {
    // forward ~40-60 nodes/layer (post norms, fused views, soft-capping), backward ~3x,
    // LoRA adds ~10 per target; generous margin.
    size_t per_layer = lora ? 800 : 480;
    size_t n = 1024 + per_layer * hp.n_layer;
    size_t p = 1;
    while (p < n) p <<= 1;
    return p;
}

namespace {
struct Builder {
    Model & m;
    ggml_context * ctx;
    StepGraph & g;
    bool dropout;
    int N;
    int layer = -1, n_mm = 0; // current layer and matmul index within it: dropout mask identity

    ggml_tensor * mm(ggml_tensor * w, ggml_tensor * x) {
        n_mm++;
        // GPU bf16/f16: the matmul reads a half copy of the F32 master (the cast's backward returns F32 grads)
        ggml_tensor * wm = m.mm_cast != GGML_TYPE_F32 && w->type == GGML_TYPE_F32 ? ggml_cast(ctx, w, m.mm_cast) : w;
        ggml_tensor * y = ggml_mul_mat(ctx, wm, x);
        auto it = m.lora.find(w);
        if (it != m.lora.end()) {
            // y = W x + s·B(A x), s = alpha/rank. The scale (and dropout) act on the rank-r bottleneck
            // A x ([rank, N]) instead of the [n_out, N] product: same result, r/n_out of the work.
            ggml_tensor * ax = ggml_mul_mat(ctx, it->second.a, x); // [rank, N]
            if (dropout && m.lora_dropout > 0) {
                // Dropout on the rank-r bottleneck: same regularising role as PEFT's
                // input dropout at a fraction of the mask cost (r*N instead of n_in*N).
                // The mask holds 0 or s/(1-p), so it applies the LoRA scale as well.
                ggml_tensor * mask = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, ax->ne[0], ax->ne[1]);
                ggml_set_input(mask);
                g.dropout_masks.push_back(mask);
                // identity of the mask, so a recomputed layer (checkpointing) draws the same one
                g.dropout_ids.push_back((uint64_t) (layer + 1) * 64 + (uint64_t) n_mm);
                ax = ggml_mul(ctx, ax, mask);
            } else if (m.lora_scale != 1.0f) {
                ax = ggml_scale(ctx, ax, m.lora_scale);
            }
            y = ggml_add(ctx, y, ggml_mul_mat(ctx, it->second.b, ax));
        }
        return y;
    }

    // Repeat KV heads so query head h reads KV head h / (n_head / n_head_kv), like llama.cpp.
    // Explicit repeat because mul_mat's broadcast backward only handles a 3D batch.
    ggml_tensor * expand_kv(ggml_tensor * x /* [d0, d1, Hk, B] contiguous */) {
        const HParams & hp = m.hp;
        const int r = hp.n_head / hp.n_head_kv;
        if (r == 1) return x;
        const int64_t d0 = x->ne[0], d1 = x->ne[1], B = x->ne[3];
        ggml_tensor * y = ggml_reshape_4d(ctx, x, d0 * d1, 1, hp.n_head_kv, B);
        y = ggml_repeat_4d(ctx, y, d0 * d1, r, hp.n_head_kv, B);
        return ggml_reshape_4d(ctx, y, d0, d1, (int64_t) hp.n_head, B);
    }

    ggml_tensor * norm(ggml_tensor * x, ggml_tensor * w) { return ggml_mul(ctx, ggml_rms_norm(ctx, x, m.hp.norm_eps), w); }

    // Rows [r0, r0 + n) of a [rows, N] GEMM output (fused QKV / gate-up) as a strided view.
    ggml_tensor * rows(ggml_tensor * y, int64_t r0, int64_t n) {
        return ggml_view_2d(ctx, y, n, y->ne[1], y->nb[1], r0 * ggml_element_size(y));
    }

    ggml_tensor * rope(ggml_tensor * x, int l) {
        const HParams & hp = m.hp;
        const bool swa = hp.is_swa(l);
        // llama.cpp: sliding-window layers use their own base and scale (get_rope_freq_base/_scale)
        const float base = swa ? hp.rope_theta_swa : hp.rope_theta, scale = swa ? hp.rope_freq_scale_swa : hp.rope_freq_scale;
        return ggml_rope_ext(ctx, x, g.pos, m.rope_freqs, hp.head_dim, hp.rope_mode, hp.n_ctx, base, scale, 0.0f, hp.rope_attn_factor, 0.0f, 0.0f);
    }

    // Token embeddings [E, N] (× the arch's embedding scale).
    ggml_tensor * embed() {
        ggml_tensor * x = ggml_get_rows(ctx, m.tok_embd, g.tokens); // [E, N]
        if (x->type != GGML_TYPE_F32) x = ggml_cast(ctx, x, GGML_TYPE_F32);
        if (m.hp.embd_scale != 1.0f) x = ggml_scale(ctx, x, m.hp.embd_scale);
        return x;
    }

    // One transformer block: x [E, N] -> x [E, N].
    ggml_tensor * block(int l, ggml_tensor * x) {
        const HParams & hp = m.hp;
        const int B = g.B, T = g.T, hd = hp.head_dim, H = hp.n_head, Hk = hp.n_head_kv;
        const int64_t nq = (int64_t) H * hd, nkv = (int64_t) Hk * hd;
        layer = l;
        n_mm = 0;
        // scores scale; with soft-capping it must act before the cap (gemma scales q), so it moves into the cap
        const float kq_scale = hp.attn_scale != 0.0f ? hp.attn_scale : 1.0f / std::sqrt((float) hd);
        {
            const Layer & L = m.layers[l];
            ggml_tensor * cur = norm(x, L.attn_norm);
            ggml_tensor *q, *k, *v;
            if (L.wqkv) {
                ggml_tensor * qkv = mm(L.wqkv, cur);                               // [nq + 2 nkv, N]
                if (L.bqkv) qkv = ggml_add(ctx, qkv, L.bqkv);
                q = ggml_cont(ctx, rows(qkv, 0, nq));
                k = ggml_cont(ctx, rows(qkv, nq, nkv));
                v = ggml_cont(ctx, rows(qkv, nq + nkv, nkv));
            } else {
                q = mm(L.wq, cur);
                k = mm(L.wk, cur);
                v = mm(L.wv, cur);
                if (hp.qkv_bias) {
                    q = ggml_add(ctx, q, L.bq);
                    k = ggml_add(ctx, k, L.bk);
                    v = ggml_add(ctx, v, L.bv);
                }
            }
            q = ggml_reshape_4d(ctx, q, hd, H, T, B);
            k = ggml_reshape_4d(ctx, k, hd, Hk, T, B);
            v = ggml_reshape_4d(ctx, v, hd, Hk, T, B);
            if (hp.qk_norm) {
                q = norm(q, L.q_norm);
                k = norm(k, L.k_norm);
            }
            if (hp.has_rope(l)) {
                q = rope(q, l);
                k = rope(k, l);
            }
            if (g.attn_temp) q = ggml_mul(ctx, q, g.attn_temp); // [1, 1, T] broadcast over heads and batch

            ggml_tensor * Q = ggml_cont(ctx, ggml_permute(ctx, q, 0, 2, 1, 3));             // [hd, T, H, B]
            ggml_tensor * K = expand_kv(ggml_cont(ctx, ggml_permute(ctx, k, 0, 2, 1, 3)));  // [hd, T, H, B]
            ggml_tensor * V = expand_kv(ggml_cont(ctx, ggml_permute(ctx, v, 1, 2, 0, 3)));  // [T, hd, H, B]

            ggml_tensor * kq = ggml_mul_mat(ctx, K, Q);                                        // [Tk, Tq, H, B]
            ggml_tensor * mask = hp.is_swa(l) ? g.kq_mask_swa : g.kq_mask;
            if (hp.attn_softcap > 0) {
                // gemma2: cap · tanh(kq_scale · q·k / cap), then a plain softmax
                kq = forge_fn(ctx, g.fn_ops, kq, FN_SOFTCAP, hp.attn_softcap, kq_scale);
                kq = ggml_soft_max_ext(ctx, kq, mask, 1.0f, 0.0f);
            } else {
                kq = ggml_soft_max_ext(ctx, kq, mask, kq_scale, 0.0f);
            }
            ggml_tensor * kqv = ggml_mul_mat(ctx, V, kq);                                      // [hd, Tq, H, B]
            cur = ggml_cont(ctx, ggml_permute(ctx, kqv, 0, 2, 1, 3));                        // [hd, H, T, B]
            cur = ggml_reshape_2d(ctx, cur, nq, N);
            cur = mm(L.wo, cur);
            if (L.attn_post_norm) cur = norm(cur, L.attn_post_norm);
            if (hp.residual_scale != 1.0f) cur = ggml_scale(ctx, cur, hp.residual_scale);
            x = ggml_add(ctx, x, cur);

            cur = norm(x, L.ffn_norm);
            ggml_tensor *gate, *up;
            if (hp.fused_gate_up) {
                ggml_tensor * gu = mm(L.w_up, cur);                                   // [2 n_ff, N] = [gate; up]
                gate = rows(gu, 0, hp.n_ff);
                up = rows(gu, hp.n_ff, hp.n_ff);
            } else {
                gate = mm(L.w_gate, cur);
                up = mm(L.w_up, cur);
            }
            cur = hp.gelu ? ggml_mul(ctx, forge_fn(ctx, g.fn_ops, gate, FN_GELU_TANH), up) : ggml_swiglu_split(ctx, gate, up);
            cur = mm(L.w_down, cur);
            if (L.ffn_post_norm) cur = norm(cur, L.ffn_post_norm);
            if (hp.residual_scale != 1.0f) cur = ggml_scale(ctx, cur, hp.residual_scale);
            x = ggml_add(ctx, x, cur);
        }
        return x;
    }

    // Output head over the gathered target rows of the final hidden states x [E, N] -> mean CE over M rows.
    ggml_tensor * head(ggml_tensor * x) {
        const HParams & hp = m.hp;
        // Only target positions reach the head: masking by construction, and the [V x N] logits (the largest
        // activation) shrink to [V x M]. RMS norm is per row, so gathering first equals norming first.
        ggml_tensor * sel = ggml_get_rows(ctx, x, g.idx);                   // [E, M]
        sel = norm(sel, m.out_norm);
        // Rows past the real target count (bucket padding) are zeroed here, before the head:
        // zero hidden -> zero logits (no head bias; scaling and tanh keep 0 at 0) with zero labels adds
        // 0 to the loss, and both the head's weight gradient (0 outer product) and the gradient into the
        // body (through the mul) vanish. Masking at [E, M] avoids another [V, M] tensor.
        sel = ggml_mul(ctx, sel, g.rowmask);
        ggml_tensor * logits = ggml_mul_mat(ctx, m.output, sel);            // [V, M]
        if (hp.logit_scale != 1.0f) logits = ggml_scale(ctx, logits, 1.0f / hp.logit_scale);
        if (hp.final_softcap > 0) logits = forge_fn(ctx, g.fn_ops, logits, FN_SOFTCAP, hp.final_softcap, 1.0f);
        return ggml_cross_entropy_loss(ctx, logits, g.labels);
    }

    ggml_tensor * build() {
        ggml_tensor * x = embed();
        for (int l = 0; l < m.hp.n_layer; l++) x = block(l, x);
        return head(x);
    }
};
} // namespace

// ggml's CPU F32 GEMM reaches ~35 GFLOP/s per core; forge_sgemm (gemm.cpp) ~85 on the same
// AVX-512 core. Autodiff only emits ggml ops, so the graph is built normally and every F32
// MUL_MAT / OUT_PROD node (forward, dW and dx GEMMs) is then turned into a custom op running
// forge_sgemm. Strided packing absorbs the transposes, so no extra copies are added.
// userdata bits: 1 = OUT_PROD (else MUL_MAT), 2 = BF16 operands (precision "bf16")
static void gemm_op(ggml_tensor * dst, int ith, int nth, void * userdata) {
    const bool out_prod = ((uintptr_t) userdata & 1) != 0;
    const bool bf16 = ((uintptr_t) userdata & 2) != 0;
    const ggml_tensor * s0 = dst->src[0];
    const ggml_tensor * s1 = dst->src[1];
    int64_t M, N, K, a_m, a_k, b_k, b_n;
    if (!out_prod) { // dst[i1][i0] = sum_k s0[i0][k] * s1[i1][k]
        M = s1->ne[1]; N = s0->ne[1]; K = s0->ne[0];
        a_m = s1->nb[1] / 4; a_k = s1->nb[0] / 4; b_k = s0->nb[0] / 4; b_n = s0->nb[1] / 4;
    } else {         // dst[j][i] = sum_k s0[k][i] * s1[k][j]
        M = s1->ne[0]; N = s0->ne[0]; K = s0->ne[1];
        a_m = s1->nb[0] / 4; a_k = s1->nb[1] / 4; b_k = s0->nb[1] / 4; b_n = s0->nb[0] / 4;
    }
    const int64_t ne2 = dst->ne[2], ne3 = dst->ne[3];
    const int64_t r2 = ne2 / s0->ne[2], r3 = ne3 / s0->ne[3]; // src0 broadcast over batch dims
    const int64_t nb = ne2 * ne3;
    const int64_t c_m = dst->nb[1] / 4;
    const int64_t np = nth > 1 ? nth : forge_pool_size() == 1 ? 1 : 4 * (int64_t) forge_pool_size();

    if (s0->type != GGML_TYPE_F32) {
        // Frozen weight in its storage type (LoRA base, eval): 2-D only (gemm_eligible). Split the
        // columns when there are enough of them, so each part dequantises only its own slice of W;
        // else split the rows (every part then converts all of W, cheap next to the GEMM for such shapes).
        const TypedB tb{s0->data, s0->type, s0->nb[1], !out_prod};
        const int64_t align = forge_typed_n_align(tb);
        const bool by_cols = N >= np * align * 2;
        auto part = [&](int64_t p, int64_t parts) {
            const float * A = (const float *) s1->data;
            float * C = (float *) dst->data;
            if (by_cols) {
                const int64_t blocks = (N + align - 1) / align;
                const int64_t n0 = std::min(N, blocks * p / parts * align), n1 = std::min(N, blocks * (p + 1) / parts * align);
                if (n0 < n1) forge_gemm_typed(M, N, K, A, a_m, a_k, tb, C, c_m, false, 0, M, n0, n1);
            } else {
                const int64_t chunk = ((M + parts - 1) / parts + 11) / 12 * 12;
                const int64_t m0 = std::min<int64_t>(M, p * chunk), m1 = std::min<int64_t>(M, m0 + chunk);
                if (m0 < m1) forge_gemm_typed(M, N, K, A, a_m, a_k, tb, C, c_m, false, m0, m1, 0, N);
            }
        };
        if (np == 1 || nth > 1) { part(nth > 1 ? ith : 0, np); return; }
        struct Ctx { decltype(part) * f; int64_t np; } c{&part, np};
        forge_pool_run((int) np, [](int t, void * v) { Ctx * c = (Ctx *) v; (*c->f)(t, c->np); }, &c);
        return;
    }

    auto run = [&](int64_t b, int64_t m0, int64_t m1) {
        const int64_t i2 = b % ne2, i3 = b / ne2;
        const float * A = (const float *) ((const char *) s1->data + i2 * s1->nb[2] + i3 * s1->nb[3]);
        const float * B = (const float *) ((const char *) s0->data + (i2 / r2) * s0->nb[2] + (i3 / r3) * s0->nb[3]);
        float * C = (float *) ((char *) dst->data + i2 * dst->nb[2] + i3 * dst->nb[3]);
        if (bf16) forge_sgemm_bf16(M, N, K, A, a_m, a_k, B, b_k, b_n, C, c_m, false, m0, m1);
        else forge_sgemm(M, N, K, A, a_m, a_k, B, b_k, b_n, C, c_m, false, m0, m1);
    };
    // Split into parts: whole batches when there are enough, else row blocks of whole micro-tiles.
    auto part = [&](int64_t p, int64_t np) {
        if (nb >= np) {
            for (int64_t b = p; b < nb; b += np) run(b, 0, M);
        } else {
            const int64_t chunk = ((M + np - 1) / np + 11) / 12 * 12;
            const int64_t m0 = std::min<int64_t>(M, p * chunk), m1 = std::min<int64_t>(M, m0 + chunk);
            for (int64_t b = 0; b < nb; b++) if (m0 < m1) run(b, m0, m1);
        }
    };
    if (nth > 1 || forge_pool_size() == 1) { part(ith, nth); return; } // ggml's threads
    // 4 parts per pool thread: whoever is actually running picks up the slack.
    struct Ctx { decltype(part) * f; int64_t np; } c{&part, np};
    forge_pool_run((int) c.np, [](int t, void * v) { Ctx * c = (Ctx *) v; (*c->f)(t, c->np); }, &c);
}

static bool gemm_eligible(const ggml_tensor * t) {
    if (t->op != GGML_OP_MUL_MAT && t->op != GGML_OP_OUT_PROD) return false;
    const ggml_tensor * s0 = t->src[0];
    const ggml_tensor * s1 = t->src[1];
    if (s1->type != GGML_TYPE_F32 || t->type != GGML_TYPE_F32) return false;
    for (const ggml_tensor * x : {s1, t}) for (int d = 0; d < 4; d++) if (x->nb[d] % 4) return false;
    if (!ggml_is_contiguous_rows(t)) return false;
    if (s0->type != GGML_TYPE_F32) {
        // typed (frozen) weight: a plain 2-D matrix of whole rows; the activations 2-D as well
        if (!forge_typed_supported(s0->type) || !ggml_is_contiguous(s0)) return false;
        for (const ggml_tensor * x : {s0, s1, t}) if (x->ne[2] != 1 || x->ne[3] != 1) return false;
        return true;
    }
    for (int d = 0; d < 4; d++) if (s0->nb[d] % 4) return false;
    return t->ne[2] % s0->ne[2] == 0 && t->ne[3] % s0->ne[3] == 0;
}

void rewrite_gemm(ggml_context * ctx, ggml_cgraph * g, bool bf16) {
    for (int i = 0; i < ggml_graph_n_nodes(g); i++) {
        ggml_tensor * node = ggml_graph_node(g, i);
        if (!gemm_eligible(node)) continue;
        ggml_tensor * args[2] = {node->src[0], node->src[1]};
        // typed (frozen) weights keep their own exact path; F32 products take BF16 operands when asked
        const bool half = bf16 && node->src[0]->type == GGML_TYPE_F32;
        void * ud = (void *) (uintptr_t) ((node->op == GGML_OP_OUT_PROD ? 1 : 0) | (half ? 2 : 0));
        // Borrow op/op_params from a public-API custom node; consumers keep pointing at `node`.
        ggml_tensor * tmpl = ggml_custom_4d(ctx, GGML_TYPE_F32, node->ne[0], node->ne[1], node->ne[2], node->ne[3], args, 2, gemm_op, GGML_N_TASKS_MAX, ud);
        node->op = tmpl->op;
        memcpy(node->op_params, tmpl->op_params, sizeof(node->op_params));
    }
}

StepGraph * build_segment_graph(Model & m, Segment seg, int layer, int B, int T, int M, bool train, bool dropout, bool fast_gemm, bool bf16,
                                const std::map<ggml_tensor *, ggml_tensor *> & grad_of, ggml_tensor * loss_grad, const SegmentIO & io) {
    StepGraph * g = new StepGraph();
    g->B = B; g->T = T; g->M = M;
    // node budget: the whole model, or one block (+ the head) for a segment
    size_t gsize = graph_size_for(m.hp, !m.lora.empty());
    if (seg == Segment::Head || seg == Segment::Layer || seg == Segment::Embed) {
        HParams one = m.hp;
        one.n_layer = 1;
        gsize = graph_size_for(one, !m.lora.empty());
    }
    ggml_init_params ip = { gsize * 3 * ggml_tensor_overhead() + ggml_graph_overhead_custom(gsize, true), nullptr, true };
    g->ctx = ggml_init(ip);
    ggml_context * ctx = g->ctx;
    auto input = [&](ggml_tensor * t) { ggml_set_input(t); return t; };
    const bool tokens = seg == Segment::Full || seg == Segment::Forward || seg == Segment::Embed;
    const bool attn = seg == Segment::Full || seg == Segment::Forward || seg == Segment::Layer;
    const bool head = seg == Segment::Full || seg == Segment::Head;
    if (tokens) {
        g->tokens = input(ggml_new_tensor_1d(ctx, GGML_TYPE_I32, (int64_t) B * T));
        ggml_set_name(g->tokens, "in_tokens");
    }
    if (attn) {
        g->pos = input(ggml_new_tensor_1d(ctx, GGML_TYPE_I32, T));
        g->kq_mask = input(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, T, T));
        if (!m.hp.swa_layer.empty()) g->kq_mask_swa = input(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, T, T));
        if (m.hp.attn_temp_scale != 0.0f) g->attn_temp = input(ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 1, 1, T, 1));
    }
    if (head) {
        g->idx = input(ggml_new_tensor_1d(ctx, GGML_TYPE_I32, M));
        g->labels = input(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, m.hp.n_vocab, M));
        g->rowmask = input(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 1, M));
    }

    Builder b{m, ctx, *g, dropout, B * T};
    std::map<ggml_tensor *, ggml_tensor *> accs_of; // extra gradient accumulators of this segment
    ggml_tensor * loss_acc = loss_grad;
    std::vector<ggml_tensor *> roots;
    switch (seg) {
        case Segment::Full: g->loss = b.build(); break;
        case Segment::Forward: {
            // x_0 .. x_L into the checkpoint tensors; nothing else outlives its layer
            ggml_tensor * x = b.embed();
            roots.push_back(ggml_cpy(ctx, x, io.ckpt[0]));
            for (int l = 0; l < m.hp.n_layer; l++) {
                x = b.block(l, x);
                roots.push_back(ggml_cpy(ctx, x, io.ckpt[l + 1]));
            }
            break;
        }
        case Segment::Head:
            g->loss = b.head(io.ckpt[m.hp.n_layer]);
            accs_of[io.ckpt[m.hp.n_layer]] = io.gx_out;
            break;
        case Segment::Layer:
            // surrogate loss <block(x_l), dL/dx_{l+1}>: its gradient is the vector-Jacobian product of the block
            g->loss = ggml_sum(ctx, ggml_mul(ctx, b.block(layer, io.ckpt[layer]), io.gx_in));
            accs_of[io.ckpt[layer]] = io.gx_out;
            loss_acc = io.one;
            break;
        case Segment::Embed:
            g->loss = ggml_sum(ctx, ggml_mul(ctx, b.embed(), io.gx_in));
            loss_acc = io.one;
            break;
    }
    if (g->loss) {
        ggml_set_name(g->loss, "loss");
        ggml_set_output(g->loss);
        roots.push_back(g->loss);
    }

    g->graph = ggml_new_graph_custom(ctx, gsize, train);
    if (train && g->loss) {
        ggml_set_loss(g->loss);
        ggml_build_forward_expand(g->graph, g->loss);
        std::vector<ggml_tensor *> accs(ggml_graph_n_nodes(g->graph), nullptr);
        for (int i = 0; i < ggml_graph_n_nodes(g->graph); i++) {
            ggml_tensor * node = ggml_graph_node(g->graph, i);
            if (node == g->loss) accs[i] = loss_acc;
            auto it = grad_of.find(node);
            if (it != grad_of.end()) accs[i] = it->second;
            auto jt = accs_of.find(node);
            if (jt != accs_of.end()) accs[i] = jt->second;
        }
        ggml_build_backward_expand(ctx, g->graph, accs.data());
    } else {
        for (ggml_tensor * r : roots) ggml_build_forward_expand(g->graph, r);
    }
    // Stand-ins first: rewrite_cpu_ops would otherwise turn them into forge's own SILU ops.
    rewrite_fn_ops(ctx, g->graph, g->fn_ops);
    if (fast_gemm) {
        rewrite_gemm(ctx, g->graph, bf16);
        const char * keep = getenv("ATELIER_FORGE_GGML_OPS"); // A/B switch: ggml's own non-GEMM ops
        if (!(keep && *keep && *keep != '0')) rewrite_cpu_ops(ctx, g->graph);
    }
    return g;
}

StepGraph * build_step_graph(Model & m, int B, int T, int M, bool train, bool dropout, bool fast_gemm, bool bf16,
                             const std::map<ggml_tensor *, ggml_tensor *> & grad_of, ggml_tensor * loss_grad) {
    return build_segment_graph(m, Segment::Full, -1, B, T, M, train, dropout, fast_gemm, bf16, grad_of, loss_grad, SegmentIO{});
}
