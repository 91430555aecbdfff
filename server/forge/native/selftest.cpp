// `atelier-forge selftest`: forge's own kernels against naive double-precision loops, on odd shapes.
// Owns no production code path; it exercises gemm.cpp (F32 SGEMM with every stride layout, the typed-B
// GEMM over F16/BF16/Q8_0/Q4_K/Q6_K weights, and the ggml custom op with batch broadcasting and row/
// column splits), every cpu_ops.cpp replacement op (through a real ggml graph rewritten as training
// rewrites it), the GELU/soft-capping stand-ins, the fused AdamW and the gradient norm.
// Prints one JSON line per check ({"type":"selftest","name","max_err","tol","ok"}) and exits 1 if any fails.
// Error metric for sums: |forge - ref| / (sum of |terms| + tiny): relative to the sum's own condition.
#include "backend.h"
#include "commands.h"
#include "common.h"
#include "cpu_ops.h"
#include "dataset.h"
#include "gemm.h"
#include "json.h"
#include "model.h"

#include "ggml-alloc.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <vector>

namespace {

struct Rand {
    uint64_t st;
    float operator()() { return (float) ((splitmix64(st) >> 11) * (2.0 / 9007199254740992.0) - 1.0); } // U(-1, 1)
};

int g_failed = 0, g_checks = 0;

void report(const std::string & name, double err, double tol) {
    const bool ok = err <= tol && std::isfinite(err);
    g_checks++;
    if (!ok) g_failed++;
    JsonLine().add("type", "selftest").add("name", name).add("max_err", err).add("tol", tol).add("ok", ok).emit();
}

// ------------------------------------------------------------------------------------------ GEMM
void check_sgemm(Rand & r) {
    const int64_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {13, 17, 19}, {37, 65, 300}, {100, 3, 513}, {12, 32, 256}, {25, 49, 1}, {29, 97, 260}};
    for (auto & s : shapes) {
        const int64_t M = s[0], N = s[1], K = s[2];
        for (int at = 0; at < 2; at++) for (int bt = 0; bt < 2; bt++) for (int acc = 0; acc < 2; acc++) {
            std::vector<float> A(M * K), B(K * N), C(M * N), C0(M * N);
            for (auto & x : A) x = r();
            for (auto & x : B) x = r();
            for (auto & x : C0) x = r();
            C = C0;
            // A(m,k): row-major (a_m=K) or transposed storage (a_m=1); B(k,n) likewise
            const int64_t a_m = at ? 1 : K, a_k = at ? M : 1, b_k = bt ? 1 : N, b_n = bt ? K : 1;
            const int64_t mid = M / 2; // two calls over row ranges, as the thread split does
            forge_sgemm(M, N, K, A.data(), a_m, a_k, B.data(), b_k, b_n, C.data(), N, acc, 0, mid);
            forge_sgemm(M, N, K, A.data(), a_m, a_k, B.data(), b_k, b_n, C.data(), N, acc, mid, M);
            double worst = 0;
            for (int64_t i = 0; i < M; i++) for (int64_t j = 0; j < N; j++) {
                double ref = acc ? C0[i * N + j] : 0, mag = std::fabs(ref);
                for (int64_t k = 0; k < K; k++) {
                    const double t = (double) A[i * a_m + k * a_k] * B[k * b_k + j * b_n];
                    ref += t;
                    mag += std::fabs(t);
                }
                worst = std::max(worst, std::fabs(C[i * N + j] - ref) / (mag + 1e-30));
            }
            report("sgemm " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K) + (at ? " At" : " A") + (bt ? " Bt" : " B") + (acc ? " +=" : " ="), worst, 1e-6);
            if (!forge_bf16_available()) continue;
            // BF16 operands: the exact products of the rounded inputs, summed in F32
            auto bf = [](float f) { // round to nearest even at 8 mantissa bits, by arithmetic on the double
                if (f == 0.0f || !std::isfinite(f)) return (double) f;
                int e;
                const double m = std::frexp((double) f, &e);      // f = m·2^e, 0.5 <= |m| < 1
                return std::ldexp(std::nearbyint(std::ldexp(m, 8)), e - 8);
            };
            C = C0;
            forge_sgemm_bf16(M, N, K, A.data(), a_m, a_k, B.data(), b_k, b_n, C.data(), N, acc, 0, mid);
            forge_sgemm_bf16(M, N, K, A.data(), a_m, a_k, B.data(), b_k, b_n, C.data(), N, acc, mid, M);
            worst = 0;
            for (int64_t i = 0; i < M; i++) for (int64_t j = 0; j < N; j++) {
                double ref = acc ? C0[i * N + j] : 0, mag = std::fabs(ref);
                for (int64_t k = 0; k < K; k++) {
                    const double t = bf(A[i * a_m + k * a_k]) * bf(B[k * b_k + j * b_n]);
                    ref += t;
                    mag += std::fabs(t);
                }
                worst = std::max(worst, std::fabs(C[i * N + j] - ref) / (mag + 1e-30));
            }
            report("bf16 gemm " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K) + (at ? " At" : " A") + (bt ? " Bt" : " B") + (acc ? " +=" : " ="), worst, 1e-6);
        }
    }
}

// W in type t with `rows` rows of `len` elements, plus its exact F32 value (what the kernel must compute with)
struct TypedW {
    std::vector<uint8_t> data;
    std::vector<float> f32;
    size_t row_bytes;
};
TypedW make_typed(ggml_type t, int64_t rows, int64_t len, Rand & r) {
    TypedW w;
    std::vector<float> src(rows * len);
    for (auto & x : src) x = r();
    w.row_bytes = ggml_row_size(t, len);
    w.data.resize(w.row_bytes * rows);
    ggml_quantize_chunk(t, src.data(), w.data.data(), 0, rows, len, nullptr);
    w.f32.resize(rows * len);
    for (int64_t i = 0; i < rows; i++) ggml_get_type_traits(t)->to_float(w.data.data() + i * w.row_bytes, w.f32.data() + i * len, len);
    return w;
}

void check_typed(Rand & r) {
    const ggml_type types[] = {GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q8_0, GGML_TYPE_Q4_K, GGML_TYPE_Q6_K};
    for (ggml_type t : types) {
        const bool kq = ggml_blck_size(t) == 256;
        for (int along_k = 0; along_k < 2; along_k++) {
            // along_k: B(k,n) = W[n][k] (W rows of K); else B(k,n) = W[k][n] (W rows of N)
            const int64_t M = 37, K = along_k ? (kq ? 768 : 96) : 67, N = along_k ? 45 : (kq ? 768 : 608);
            TypedW w = along_k ? make_typed(t, N, K, r) : make_typed(t, K, N, r);
            std::vector<float> A(M * K), C(M * N, 0.0f);
            for (auto & x : A) x = r();
            const TypedB tb{w.data.data(), t, w.row_bytes, (bool) along_k};
            const int64_t al = forge_typed_n_align(tb);
            // three column ranges on the alignment grid, like the parts of a column split
            const int64_t n1 = std::min(N, al * ((N / al) / 3 + 1)), n2 = std::min(N, n1 + al * 1);
            forge_gemm_typed(M, N, K, A.data(), K, 1, tb, C.data(), N, false, 0, M, 0, n1);
            forge_gemm_typed(M, N, K, A.data(), K, 1, tb, C.data(), N, false, 0, M, n1, n2);
            forge_gemm_typed(M, N, K, A.data(), K, 1, tb, C.data(), N, false, 0, M, n2, N);
            double worst = 0;
            for (int64_t i = 0; i < M; i++) for (int64_t j = 0; j < N; j++) {
                double ref = 0, mag = 0;
                for (int64_t k = 0; k < K; k++) {
                    const double b = along_k ? w.f32[j * K + k] : w.f32[k * N + j];
                    ref += (double) A[i * K + k] * b;
                    mag += std::fabs((double) A[i * K + k] * b);
                }
                worst = std::max(worst, std::fabs(C[i * N + j] - ref) / (mag + 1e-30));
            }
            report(std::string("typed gemm ") + ggml_type_name(t) + (along_k ? " W x" : " W^T dy") + " " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K), worst, 1e-6);
        }
    }
}

// ------------------------------------------------------------------------------------------ graph ops
// Builds a graph with `build`, rewrites it like a training step (fn stand-ins, GEMM, cpu ops), runs it on
// the CPU backend and hands each output to `check`.
struct GraphCase {
    ggml_context * ctx;
    std::vector<std::pair<ggml_tensor *, std::vector<float>>> inputs;
    std::vector<std::pair<ggml_tensor *, const std::vector<uint8_t> *>> raw; // typed weights
    std::deque<FnOp> fn;
    ggml_tensor * in(Rand & r, int64_t n0, int64_t n1 = 1, int64_t n2 = 1, int64_t n3 = 1, float scale = 1.0f) {
        ggml_tensor * t = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, n0, n1, n2, n3);
        std::vector<float> v(ggml_nelements(t));
        for (auto & x : v) x = r() * scale;
        inputs.push_back({t, v});
        return t;
    }
    const std::vector<float> & value(const ggml_tensor * t) {
        for (auto & p : inputs) if (p.first == t) return p.second;
        fail("IO", "selftest: unknown input");
    }
};

std::vector<float> get(const ggml_tensor * t) {
    std::vector<float> v(ggml_nelements(t));
    ggml_backend_tensor_get(t, v.data(), 0, v.size() * 4);
    return v;
}

void run_graph(Backends & be, const std::string & name, Rand & r,
               const std::function<ggml_tensor *(GraphCase &)> & build,
               const std::function<double(GraphCase &, ggml_tensor *, const std::vector<float> &)> & check, double tol) {
    ggml_init_params ip = {256 * ggml_tensor_overhead() + ggml_graph_overhead(), nullptr, true};
    GraphCase gc{ggml_init(ip), {}, {}, {}};
    ggml_tensor * out = build(gc);
    (void) r;
    ggml_set_output(out);
    ggml_cgraph * g = ggml_new_graph(gc.ctx);
    ggml_build_forward_expand(g, out);
    rewrite_fn_ops(gc.ctx, g, gc.fn);
    rewrite_gemm(gc.ctx, g);
    rewrite_cpu_ops(gc.ctx, g);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(gc.ctx, be.cpu);
    for (auto & p : gc.inputs) ggml_backend_tensor_set(p.first, p.second.data(), 0, p.second.size() * 4);
    for (auto & p : gc.raw) ggml_backend_tensor_set(p.first, p.second->data(), 0, p.second->size());
    const bool ok = ggml_backend_graph_compute(be.cpu, g) == GGML_STATUS_SUCCESS;
    const double err = ok ? check(gc, out, get(out)) : INFINITY;
    report(name, err, tol);
    ggml_backend_buffer_free(buf);
    ggml_free(gc.ctx);
}

// flat index of (i0, i1, i2, i3) with broadcasting of a smaller tensor
inline int64_t bidx(const ggml_tensor * t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    return (i0 % t->ne[0]) + t->ne[0] * ((i1 % t->ne[1]) + t->ne[1] * ((i2 % t->ne[2]) + t->ne[2] * (i3 % t->ne[3])));
}

template <class F>
double each4(const ggml_tensor * t, const F & f) {
    double worst = 0;
    for (int64_t i3 = 0; i3 < t->ne[3]; i3++) for (int64_t i2 = 0; i2 < t->ne[2]; i2++)
        for (int64_t i1 = 0; i1 < t->ne[1]; i1++) for (int64_t i0 = 0; i0 < t->ne[0]; i0++)
            worst = std::max(worst, f(i0, i1, i2, i3, i0 + t->ne[0] * (i1 + t->ne[1] * (i2 + t->ne[2] * i3))));
    return worst;
}

double relerr(double got, double ref) { return std::fabs(got - ref) / (std::fabs(ref) + 1e-6); }

void check_ops(Backends & be, Rand & r) {
    // element-wise MUL / ADD with every broadcast the graph uses (full, per-column weight, per-row scalar, per-batch)
    const int64_t bshapes[][4] = {{129, 7, 3, 2}, {129, 1, 1, 1}, {1, 7, 3, 2}, {129, 1, 3, 1}};
    for (int mul = 0; mul < 2; mul++) for (auto & bs : bshapes) {
        ggml_tensor *x = nullptr, *y = nullptr;
        run_graph(be, std::string(mul ? "mul" : "add") + " broadcast [" + std::to_string(bs[0]) + "," + std::to_string(bs[1]) + "," + std::to_string(bs[2]) + "]", r,
            [&](GraphCase & g) { x = g.in(r, 129, 7, 3, 2); y = g.in(r, bs[0], bs[1], bs[2], bs[3]); return mul ? ggml_mul(g.ctx, x, y) : ggml_add(g.ctx, x, y); },
            [&](GraphCase & g, ggml_tensor * o, const std::vector<float> & v) {
                const auto &X = g.value(x), &Y = g.value(y);
                return each4(o, [&](int64_t a, int64_t b, int64_t c, int64_t d, int64_t i) {
                    const double ref = mul ? (double) X[i] * Y[bidx(y, a, b, c, d)] : (double) X[i] + Y[bidx(y, a, b, c, d)];
                    return relerr(v[i], ref);
                });
            }, 1e-6);
    }
    // CONT of the permutes attention uses
    const int perms[][4] = {{0, 2, 1, 3}, {1, 2, 0, 3}};
    for (auto & pm : perms) {
        ggml_tensor * x = nullptr;
        run_graph(be, "cont permute " + std::to_string(pm[0]) + std::to_string(pm[1]) + std::to_string(pm[2]) + std::to_string(pm[3]), r,
            [&](GraphCase & g) { x = g.in(r, 9, 5, 13, 2); return ggml_cont(g.ctx, ggml_permute(g.ctx, x, pm[0], pm[1], pm[2], pm[3])); },
            [&](GraphCase & g, ggml_tensor * o, const std::vector<float> & v) {
                const auto & X = g.value(x);
                return each4(o, [&](int64_t a, int64_t b, int64_t c, int64_t d, int64_t i) {
                    int64_t src[4];
                    const int64_t dst[4] = {a, b, c, d};
                    for (int k = 0; k < 4; k++) src[k] = dst[pm[k]]; // permute: src axis k went to axis pm[k]
                    return relerr(v[i], X[src[0] + 9 * (src[1] + 5 * (src[2] + 13 * src[3]))]);
                });
            }, 0.0);
    }
    // softmax with scale and a causal mask broadcast over heads, and its backward
    for (int masked = 0; masked < 2; masked++) {
        ggml_tensor *x = nullptr, *mk = nullptr;
        const int T = 23;
        const float sc = 0.37f;
        auto mask_of = [&](GraphCase & g) {
            mk = g.in(r, T, T);
            auto & m = g.inputs.back().second;
            for (int q = 0; q < T; q++) for (int k = 0; k < T; k++) m[q * T + k] = k > q ? -INFINITY : 0.0f;
            return mk;
        };
        auto ref_softmax = [&](const std::vector<float> & X, const std::vector<float> * M, int64_t row, int64_t q, std::vector<double> & p) {
            double mx = -INFINITY, z = 0;
            p.assign(T, 0.0);
            for (int k = 0; k < T; k++) { p[k] = X[row * T + k] * (double) sc + (M ? (*M)[q * T + k] : 0.0); mx = std::max(mx, p[k]); }
            for (int k = 0; k < T; k++) { p[k] = std::exp(p[k] - mx); z += p[k]; }
            for (int k = 0; k < T; k++) p[k] /= z;
        };
        run_graph(be, std::string("soft_max") + (masked ? " masked" : ""), r,
            [&](GraphCase & g) { x = g.in(r, T, T, 3, 2, 4.0f); return ggml_soft_max_ext(g.ctx, x, masked ? mask_of(g) : nullptr, sc, 0.0f); },
            [&](GraphCase & g, ggml_tensor *, const std::vector<float> & v) {
                double worst = 0;
                std::vector<double> p;
                for (int64_t row = 0; row < T * 3 * 2; row++) {
                    ref_softmax(g.value(x), masked ? &g.value(mk) : nullptr, row, row % T, p);
                    for (int k = 0; k < T; k++) worst = std::max(worst, std::fabs(v[row * T + k] - p[k]));
                }
                return worst;
            }, 1e-6);
        ggml_tensor *dy = nullptr, *y = nullptr;
        run_graph(be, std::string("soft_max_back") + (masked ? " masked" : ""), r,
            [&](GraphCase & g) {
                dy = g.in(r, T, T, 3, 2);
                y = g.in(r, T, T, 3, 2);
                for (auto & f : g.inputs.back().second) f = 0.5f * (f + 1.0f); // a distribution-like y
                return ggml_soft_max_ext_back(g.ctx, dy, y, sc, 0.0f);
            },
            [&](GraphCase & g, ggml_tensor *, const std::vector<float> & v) {
                const auto &DY = g.value(dy), &Y = g.value(y);
                double worst = 0;
                for (int64_t row = 0; row < T * 3 * 2; row++) {
                    double dot = 0;
                    for (int k = 0; k < T; k++) dot += (double) DY[row * T + k] * Y[row * T + k];
                    // (dy - dot) cancels: measure against the size of its terms
                    for (int k = 0; k < T; k++)
                        worst = std::max(worst, std::fabs(v[row * T + k] - (DY[row * T + k] - dot) * Y[row * T + k] * sc) /
                                                    ((std::fabs(DY[row * T + k]) + std::fabs(dot)) * Y[row * T + k] * sc + 1e-30));
                }
                return worst;
            }, 1e-5);
    }
    // RMS norm and its backward: y = x / sqrt(mean(x²) + eps); dx = (dy - x·Σ(x dy)/(Σx² + eps n)) / sqrt(mean(x²) + eps)
    const float eps = 1e-5f;
    const int64_t n = 131;
    {
        ggml_tensor * x = nullptr;
        run_graph(be, "rms_norm", r, [&](GraphCase & g) { x = g.in(r, n, 9, 2, 1, 3.0f); return ggml_rms_norm(g.ctx, x, eps); },
            [&](GraphCase & g, ggml_tensor *, const std::vector<float> & v) {
                const auto & X = g.value(x);
                double worst = 0;
                for (int64_t row = 0; row < 18; row++) {
                    double ss = 0;
                    for (int64_t i = 0; i < n; i++) ss += (double) X[row * n + i] * X[row * n + i];
                    const double s = 1.0 / std::sqrt(ss / n + eps);
                    for (int64_t i = 0; i < n; i++) worst = std::max(worst, relerr(v[row * n + i], X[row * n + i] * s));
                }
                return worst;
            }, 1e-5);
        ggml_tensor * dy = nullptr;
        run_graph(be, "rms_norm_back", r, [&](GraphCase & g) { dy = g.in(r, n, 9, 2); x = g.in(r, n, 9, 2, 1, 3.0f); return ggml_rms_norm_back(g.ctx, dy, x, eps); },
            [&](GraphCase & g, ggml_tensor *, const std::vector<float> & v) {
                const auto &X = g.value(x), &DY = g.value(dy);
                double worst = 0;
                for (int64_t row = 0; row < 18; row++) {
                    double ss = 0, sxd = 0;
                    for (int64_t i = 0; i < n; i++) { ss += (double) X[row * n + i] * X[row * n + i]; sxd += (double) X[row * n + i] * DY[row * n + i]; }
                    const double s = 1.0 / std::sqrt(ss / n + eps);
                    double mag = 0;
                    for (int64_t i = 0; i < n; i++) mag = std::max(mag, std::fabs((double) DY[row * n + i]) * s);
                    for (int64_t i = 0; i < n; i++)
                        worst = std::max(worst, std::fabs(v[row * n + i] - (DY[row * n + i] - X[row * n + i] * sxd / (ss + eps * n)) * s) / mag);
                }
                return worst;
            }, 1e-5);
    }
    // SiLU, its backward, split SwiGLU, and the GELU / soft-capping stand-ins with their derivatives
    auto sig = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
    auto gelu = [](double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); };
    auto dgelu = [&](double x) { const double h = 1e-4; return (gelu(x + h) - gelu(x - h)) / (2 * h); }; // independent of the analytic form
    const double cap = 2.5, pre = 0.7;
    auto scap = [&](double x) { return cap * std::tanh(pre * x / cap); };
    auto dscap = [&](double x) { const double h = 1e-4; return (scap(x + h) - scap(x - h)) / (2 * h); };
    struct Unary { const char * name; std::function<ggml_tensor *(GraphCase &, ggml_tensor *, ggml_tensor *)> op; std::function<double(double, double)> ref; bool back; };
    const std::vector<Unary> unaries = {
        {"silu", [](GraphCase & g, ggml_tensor * x, ggml_tensor *) { return ggml_silu(g.ctx, x); }, [&](double x, double) { return x * sig(x); }, false},
        {"silu_back", [](GraphCase & g, ggml_tensor * x, ggml_tensor * dy) { return ggml_silu_back(g.ctx, dy, x); },
         [&](double x, double dy) { const double s = sig(x); return dy * s * (1 + x * (1 - s)); }, true},
        {"gelu (stand-in)", [](GraphCase & g, ggml_tensor * x, ggml_tensor *) { return forge_fn(g.ctx, g.fn, x, FN_GELU_TANH); }, [&](double x, double) { return gelu(x); }, false},
        {"gelu_back (stand-in)", [](GraphCase & g, ggml_tensor * x, ggml_tensor * dy) { forge_fn(g.ctx, g.fn, x, FN_GELU_TANH); return ggml_silu_back(g.ctx, dy, x); },
         [&](double x, double dy) { return dy * dgelu(x); }, true},
        {"softcap (stand-in)", [&](GraphCase & g, ggml_tensor * x, ggml_tensor *) { return forge_fn(g.ctx, g.fn, x, FN_SOFTCAP, (float) cap, (float) pre); },
         [&](double x, double) { return scap(x); }, false},
        {"softcap_back (stand-in)", [&](GraphCase & g, ggml_tensor * x, ggml_tensor * dy) { forge_fn(g.ctx, g.fn, x, FN_SOFTCAP, (float) cap, (float) pre); return ggml_silu_back(g.ctx, dy, x); },
         [&](double x, double dy) { return dy * dscap(x); }, true},
    };
    for (const Unary & u : unaries) {
        ggml_tensor *x = nullptr, *dy = nullptr;
        run_graph(be, u.name, r, [&](GraphCase & g) { x = g.in(r, 77, 5, 3, 1, 6.0f); dy = g.in(r, 77, 5, 3); return u.op(g, x, dy); },
            [&](GraphCase & g, ggml_tensor * o, const std::vector<float> & v) {
                const auto &X = g.value(x), &DY = g.value(dy);
                return each4(o, [&](int64_t, int64_t, int64_t, int64_t, int64_t i) { return std::fabs(v[i] - u.ref(X[i], DY[i])) / (1.0 + std::fabs(u.ref(X[i], DY[i]))); });
            }, u.back ? 2e-5 : 2e-6);
    }
    {
        ggml_tensor *a = nullptr, *b = nullptr;
        run_graph(be, "swiglu split", r, [&](GraphCase & g) { a = g.in(r, 77, 5, 3, 1, 4.0f); b = g.in(r, 77, 5, 3); return ggml_swiglu_split(g.ctx, a, b); },
            [&](GraphCase & g, ggml_tensor * o, const std::vector<float> & v) {
                const auto &A = g.value(a), &B = g.value(b);
                return each4(o, [&](int64_t, int64_t, int64_t, int64_t, int64_t i) { return relerr(v[i], A[i] * sig(A[i]) * B[i]); });
            }, 2e-6);
    }
    // GEMM custom op: batched mul_mat with src0 broadcast over batch dims, out_prod (the dx form), and typed weights
    {
        ggml_tensor *a = nullptr, *b = nullptr;
        run_graph(be, "gemm op mul_mat batch-broadcast", r,
            [&](GraphCase & g) { a = g.in(r, 19, 11, 3, 2); b = g.in(r, 19, 29, 6, 2); return ggml_mul_mat(g.ctx, a, b); },
            [&](GraphCase & g, ggml_tensor * o, const std::vector<float> & v) {
                const auto &A = g.value(a), &B = g.value(b);
                return each4(o, [&](int64_t j, int64_t i, int64_t c, int64_t d, int64_t idx) {
                    double ref = 0, mag = 0;
                    for (int k = 0; k < 19; k++) {
                        const double t = (double) A[k + 19 * (j + 11 * ((c / 2) + 3 * d))] * B[k + 19 * (i + 29 * (c + 6 * d))];
                        ref += t; mag += std::fabs(t);
                    }
                    return std::fabs(v[idx] - ref) / (mag + 1e-30);
                });
            }, 1e-6);
        run_graph(be, "gemm op out_prod", r,
            [&](GraphCase & g) { a = g.in(r, 41, 17); b = g.in(r, 33, 17); return ggml_out_prod(g.ctx, a, b); },
            [&](GraphCase & g, ggml_tensor * o, const std::vector<float> & v) {
                const auto &A = g.value(a), &B = g.value(b);
                return each4(o, [&](int64_t i, int64_t j, int64_t, int64_t, int64_t idx) {
                    double ref = 0, mag = 0;
                    for (int k = 0; k < 17; k++) { const double t = (double) A[i + 41 * k] * B[j + 33 * k]; ref += t; mag += std::fabs(t); }
                    return std::fabs(v[idx] - ref) / (mag + 1e-30);
                });
            }, 1e-6);
    }
    for (ggml_type t : {GGML_TYPE_F16, GGML_TYPE_Q8_0, GGML_TYPE_Q4_K}) {
        for (int dx = 0; dx < 2; dx++) for (int wide = 0; wide < 2; wide++) {
            // forward: W [K, N] (rows of K) x [K, M]; dx: out_prod(W [N, K] rows of N, dy^T) -> [N, M].
            // `wide` makes N large enough for the column split (each part dequantises its own slice).
            const int64_t K = dx ? 23 : 256, N = dx ? (wide ? 4608 : 512) : (wide ? 1040 : 48), M = 19;
            TypedW w = dx ? make_typed(t, K, N, r) : make_typed(t, N, K, r);
            ggml_tensor * x = nullptr;
            run_graph(be, std::string("gemm op typed ") + ggml_type_name(t) + (dx ? " out_prod" : " mul_mat") + (wide ? " col-split" : " row-split"), r,
                [&](GraphCase & g) {
                    // dx: out_prod(W [N, K], dy^T) with dy [K, M] -> [N, M], as autodiff builds it
                    ggml_tensor * W = dx ? ggml_new_tensor_2d(g.ctx, t, N, K) : ggml_new_tensor_2d(g.ctx, t, K, N);
                    g.raw.push_back({W, &w.data});
                    x = g.in(r, K, M);
                    return dx ? ggml_out_prod(g.ctx, W, ggml_transpose(g.ctx, x)) : ggml_mul_mat(g.ctx, W, x);
                },
                [&](GraphCase & g, ggml_tensor *, const std::vector<float> & v) {
                    const auto & X = g.value(x);
                    double worst = 0;
                    for (int64_t m = 0; m < M; m++) for (int64_t j = 0; j < N; j++) {
                        double ref = 0, mag = 0;
                        for (int64_t k = 0; k < K; k++) {
                            const double tt = (dx ? (double) w.f32[k * N + j] : (double) w.f32[j * K + k]) * X[k + K * m];
                            ref += tt; mag += std::fabs(tt);
                        }
                        worst = std::max(worst, std::fabs(v[j + N * m] - ref) / (mag + 1e-30));
                    }
                    return worst;
                }, 1e-6);
        }
    }
}

// ------------------------------------------------------------------------------------------ optimizer
void check_optimizer(Rand & r) {
    std::vector<std::vector<float>> w(3), g(3), m(3), v(3);
    const int64_t sizes[] = {70001, 5, 33333};
    std::vector<AdamWSlot> slots;
    for (int s = 0; s < 3; s++) {
        for (auto * x : {&w[s], &g[s], &m[s], &v[s]}) x->resize(sizes[s]);
        for (int64_t i = 0; i < sizes[s]; i++) { w[s][i] = r(); g[s][i] = r() * 3; m[s][i] = r() * 0.1f; v[s][i] = std::fabs(r()) * 0.01f; }
        slots.push_back({w[s].data(), g[s].data(), m[s].data(), v[s].data(), sizes[s], s != 1});
    }
    double ss = 0;
    for (int s = 0; s < 3; s++) for (float x : g[s]) ss += (double) x * x;
    report("grad norm (f64 blocks)", std::fabs(forge_grad_norm(slots) - std::sqrt(ss)) / std::sqrt(ss), 1e-12);
    auto w0 = w, g0 = g, m0 = m, v0 = v;
    const float clip = 0.8f, lr = 1e-2f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f;
    const int t = 3;
    const float b1h = 1.0f / (1.0f - std::pow(b1, (float) t)), b2h = 1.0f / (1.0f - std::pow(b2, (float) t));
    forge_adamw(slots, clip, lr, b1, b2, eps, wd, b1h, b2h);
    double worst = 0, worst_w = 0, zeroed = 0;
    for (int s = 0; s < 3; s++) for (int64_t i = 0; i < sizes[s]; i++) {
        // PyTorch AdamW: decay first (decoupled, matrices only), then the bias-corrected Adam step
        const double gi = (double) g0[s][i] * clip;
        const double mi = b1 * (double) m0[s][i] + (1 - b1) * gi, vi = b2 * (double) v0[s][i] + (1 - b2) * gi * gi;
        const double mh = mi / (1 - std::pow((double) b1, t)), vh = vi / (1 - std::pow((double) b2, t));
        const double wi = (double) w0[s][i] * (1 - lr * (slots[s].decay ? wd : 0)) - lr * mh / (std::sqrt(vh) + eps);
        // m, v: against the size of the terms they sum. w: in float ulps of the weight (F32 storage is the only
        // slack; 1e-6 of the step allows for the F32 products inside the update)
        const double step = lr * std::fabs(mh) / (std::sqrt(vh) + eps) + std::fabs(w0[s][i]) * lr * wd;
        const double mmag = b1 * std::fabs((double) m0[s][i]) + (1 - b1) * std::fabs(gi);
        const double ulp = std::ldexp(std::max(std::fabs(wi), std::fabs((double) w0[s][i])), -23);
        worst_w = std::max(worst_w, std::fabs(w[s][i] - wi) / (ulp + 1e-6 * step));
        worst = std::max({worst, std::fabs(m[s][i] - mi) / mmag, std::fabs(v[s][i] - vi) / vi});
        zeroed = std::max(zeroed, (double) std::fabs(g[s][i]));
    }
    report("adamw moments (vs PyTorch's AdamW in f64, relative to their terms)", worst, 1e-6);
    report("adamw weights (vs PyTorch's AdamW in f64, in float ulps)", worst_w, 4.0);
    report("adamw clears gradients", zeroed, 0.0);
}

} // namespace

int cmd_selftest(const std::map<std::string, std::string> & args) {
    Backends be;
    int threads = 2;
    if (args.count("threads")) threads = std::atoi(args.at("threads").c_str());
    backends_init(be, threads);
    if (!forge_sgemm_kernel()) fail("IO", "selftest needs forge's x86 GEMM kernels (AVX2 or AVX-512)");
    Rand r{12345};
    JsonLine().add("type", "selftest_start").add("gemm", forge_sgemm_kernel()).add("threads", be.threads).emit();
    check_sgemm(r);
    check_typed(r);
    check_ops(be, r);
    check_optimizer(r);
    JsonLine().add("type", "selftest_done").add("checks", g_checks).add("failed", g_failed).emit();
    return g_failed ? 1 : 0;
}
