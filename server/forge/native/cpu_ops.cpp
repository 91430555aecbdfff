// Pool-parallel replacements for the non-GEMM ops of a training step (cpu_ops.h), the GELU / tanh
// soft-capping stand-ins with their derivatives, and the fused optimizer (f64 global grad norm, AdamW).
// Every kernel works on rows (ne[0] contiguous F32) of tensors up to 4-D, with a fixed row partition so results
// do not depend on the thread count.
#include "cpu_ops.h"
#include "gemm.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own `__Y = __Y` idiom (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#define FORGE_X86 1
#endif

namespace {

// ---------------------------------------------------------------------------------- scheduling
// f(i0, i1) over [0, n) in at most 4 chunks per pool thread, none smaller than `grain` items.
// Inside a ggml custom op running on ggml's own threads (nth > 1) the op splits by ith instead.
template <class F>
void par_range(int64_t n, int64_t grain, const F & f) {
    const int64_t want = std::min<int64_t>(4 * (int64_t) forge_pool_size(), (n + grain - 1) / std::max<int64_t>(grain, 1));
    if (want <= 1) {
        if (n > 0) f(0, n);
        return;
    }
    struct Ctx { const F * f; int64_t n, parts; } c{&f, n, want};
    forge_pool_run((int) want, [](int t, void * v) {
        Ctx * c = (Ctx *) v;
        (*c->f)(c->n * t / c->parts, c->n * (t + 1) / c->parts);
    }, &c);
}

template <class F>
void op_rows(int ith, int nth, int64_t rows, int64_t row_len, const F & f) {
    if (nth > 1) {
        f(rows * ith / nth, rows * (ith + 1) / nth);
        return;
    }
    // ~16K floats per chunk: below that the hand-off costs more than it saves.
    par_range(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(row_len, 1)), f);
}

// ---------------------------------------------------------------------------------- exp
// expf for 16 lanes: ggml's ggml_v_expf (vec.h, MIT), max error ~1.5 ulp, so forge's softmax and
// SiLU backward match ggml's vectorised math closely.
#ifdef FORGE_X86
__attribute__((target("avx512f,avx512dq"))) inline __m512 v_expf(__m512 x) {
    const __m512 r = _mm512_set1_ps(0x1.8p23f);
    const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), r);
    const __m512 n = _mm512_sub_ps(z, r);
    const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f), _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
    const __mmask16 d = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(192), _CMP_GT_OQ);
    const __m512 u = _mm512_mul_ps(b, b);
    const __m512 j = _mm512_fmadd_ps(
        _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
                        _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f))),
        u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f)));
    const __m512 res = _mm512_scalef_ps(j, n);
    if (_mm512_kortestz(d, d)) return res;
    const __m512 zero = _mm512_setzero_ps();
    const __m512 alt = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(n, zero, _CMP_LE_OQ), _mm512_set1_ps(INFINITY), zero);
    return _mm512_mask_blend_ps(d, res, alt);
}

__attribute__((target("avx512f,avx512dq"))) void silu_back_avx512(int64_t n, float * dx, const float * x, const float * dy) {
    const __m512 one = _mm512_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 xv = _mm512_loadu_ps(x + i);
        const __m512 s = _mm512_div_ps(one, _mm512_add_ps(one, v_expf(_mm512_sub_ps(_mm512_setzero_ps(), xv))));
        const __m512 t = _mm512_fmadd_ps(xv, _mm512_sub_ps(one, s), one);
        _mm512_storeu_ps(dx + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(dy + i), s), t));
    }
    for (; i < n; i++) {
        const float s = 1.0f / (1.0f + expf(-x[i]));
        dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

// d = silu(x) * (y ? y : 1)
__attribute__((target("avx512f,avx512dq"))) void silu_mul_avx512(int64_t n, float * d, const float * x, const float * y) {
    const __m512 one = _mm512_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 xv = _mm512_loadu_ps(x + i);
        __m512 r = _mm512_div_ps(xv, _mm512_add_ps(one, v_expf(_mm512_sub_ps(_mm512_setzero_ps(), xv))));
        if (y) r = _mm512_mul_ps(r, _mm512_loadu_ps(y + i));
        _mm512_storeu_ps(d + i, r);
    }
    for (; i < n; i++) d[i] = x[i] / (1.0f + expf(-x[i])) * (y ? y[i] : 1.0f);
}

// y = exp(w - max) in place, returns the sum (f64 accumulation of 16-lane partials)
__attribute__((target("avx512f,avx512dq"))) double exp_sum_avx512(int64_t n, float * w, float max) {
    __m512d acc = _mm512_setzero_pd();
    int64_t i = 0;
    const __m512 mx = _mm512_set1_ps(max);
    for (; i + 16 <= n; i += 16) {
        const __m512 e = v_expf(_mm512_sub_ps(_mm512_loadu_ps(w + i), mx));
        _mm512_storeu_ps(w + i, e);
        acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
    }
    alignas(64) double lanes[8];
    _mm512_store_pd(lanes, acc);
    double sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    for (; i < n; i++) { w[i] = expf(w[i] - max); sum += w[i]; }
    return sum;
}

__attribute__((target("avx512f,avx512dq"))) float scale_mask_max_avx512(int64_t n, float * d, const float * x, const float * m, float scale) {
    const __m512 sc = _mm512_set1_ps(scale);
    __m512 mx = _mm512_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i), sc);
        if (m) v = _mm512_add_ps(v, _mm512_loadu_ps(m + i));
        _mm512_storeu_ps(d + i, v);
        mx = _mm512_max_ps(mx, v);
    }
    float max = _mm512_reduce_max_ps(mx);
    for (; i < n; i++) { d[i] = x[i] * scale + (m ? m[i] : 0.0f); max = std::max(max, d[i]); }
    return max;
}

__attribute__((target("avx512f,avx512dq"))) double dot_avx512(int64_t n, const float * a, const float * b) {
    __m512d acc = _mm512_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        acc = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + i)), _mm512_cvtps_pd(_mm256_loadu_ps(b + i)), acc);
    double s = _mm512_reduce_add_pd(acc);
    for (; i < n; i++) s += (double) a[i] * b[i];
    return s;
}
#endif

bool has_avx512() {
#ifdef FORGE_X86
    static const bool yes = [] { __builtin_cpu_init(); return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"); }();
    return yes;
#else
    return false;
#endif
}

void silu_back_vec(int64_t n, float * dx, const float * x, const float * dy) {
#ifdef FORGE_X86
    if (has_avx512()) { silu_back_avx512(n, dx, x, dy); return; }
#endif
    for (int64_t i = 0; i < n; i++) {
        const float s = 1.0f / (1.0f + expf(-x[i]));
        dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

float scale_mask_max(int64_t n, float * d, const float * x, const float * m, float scale) {
#ifdef FORGE_X86
    if (has_avx512()) return scale_mask_max_avx512(n, d, x, m, scale);
#endif
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) { d[i] = x[i] * scale + (m ? m[i] : 0.0f); max = std::max(max, d[i]); }
    return max;
}

double dot_f64(int64_t n, const float * a, const float * b) {
#ifdef FORGE_X86
    if (has_avx512()) return dot_avx512(n, a, b);
#endif
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double) a[i] * b[i];
    return s;
}

// Plain element-wise loops: cloned per ISA (ifunc dispatch) and vectorised at O3.
#define FORGE_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), optimize("O3")))
FORGE_CLONES void v_mul(int64_t n, float * __restrict d, const float * x, const float * __restrict y) { for (int64_t i = 0; i < n; i++) d[i] = x[i] * y[i]; }
FORGE_CLONES void v_add(int64_t n, float * __restrict d, const float * x, const float * __restrict y) { for (int64_t i = 0; i < n; i++) d[i] = x[i] + y[i]; }
FORGE_CLONES void v_mul_s(int64_t n, float * d, const float * x, float s) { for (int64_t i = 0; i < n; i++) d[i] = x[i] * s; }
FORGE_CLONES void v_add_s(int64_t n, float * d, const float * x, float s) { for (int64_t i = 0; i < n; i++) d[i] = x[i] + s; }
FORGE_CLONES void v_softmax_back(int64_t n, float * dx, const float * dy, const float * y, float dot, float scale) {
    for (int64_t i = 0; i < n; i++) dx[i] = (dy[i] - dot) * y[i] * scale;
}

void silu_mul(int64_t n, float * d, const float * x, const float * y) {
#ifdef FORGE_X86
    if (has_avx512()) { silu_mul_avx512(n, d, x, y); return; }
#endif
    for (int64_t i = 0; i < n; i++) d[i] = x[i] / (1.0f + expf(-x[i])) * (y ? y[i] : 1.0f);
}

FORGE_CLONES void v_axpy_scale(int64_t n, float * d, const float * dz, const float * x, float a, float s) {
    for (int64_t i = 0; i < n; i++) d[i] = (dz[i] + x[i] * a) * s;
}

double exp_sum(int64_t n, float * w, float max) {
#ifdef FORGE_X86
    if (has_avx512()) return exp_sum_avx512(n, w, max);
#endif
    double sum = 0;
    for (int64_t i = 0; i < n; i++) { w[i] = expf(w[i] - max); sum += w[i]; }
    return sum;
}

// ---------------------------------------------------------------------------------- ops
enum Kind : uintptr_t { K_SILU_BACK = 1, K_MUL, K_ADD, K_CONT, K_SOFT_MAX, K_SOFT_MAX_BACK, K_RMS_NORM, K_RMS_NORM_BACK, K_SILU, K_SWIGLU, K_END };
const char * const kind_names[] = {"?", "silu_back", "mul", "add", "cont", "soft_max", "soft_max_back", "rms_norm", "rms_norm_back", "silu", "swiglu"};

// userdata packs the kind (low 8 bits) and, for softmax, the scale's float bits (high 32).
inline Kind kind_of(void * ud) { return (Kind) ((uintptr_t) ud & 0xff); }
inline float scale_of(void * ud) {
    uint32_t b = (uint32_t) ((uint64_t) (uintptr_t) ud >> 32);
    float f;
    memcpy(&f, &b, 4);
    return f;
}

inline float * row_ptr(const ggml_tensor * t, int64_t i1, int64_t i2, int64_t i3) {
    return (float *) ((char *) t->data + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3]);
}

// f(i1, i2, i3, dst row) for flat rows [r0, r1) of dst
template <class F>
void each_row(const ggml_tensor * dst, int64_t r0, int64_t r1, const F & f) {
    for (int64_t r = r0; r < r1; r++) {
        const int64_t i1 = r % dst->ne[1], i2 = (r / dst->ne[1]) % dst->ne[2], i3 = r / (dst->ne[1] * dst->ne[2]);
        f(i1, i2, i3, row_ptr(dst, i1, i2, i3));
    }
}

void binary_rows(const ggml_tensor * dst, bool mul, int64_t r0, int64_t r1) {
    const ggml_tensor * a = dst->src[0];
    const ggml_tensor * b = dst->src[1];
    const int64_t n = dst->ne[0], nb0 = b->ne[0];
    each_row(dst, r0, r1, [&](int64_t i1, int64_t i2, int64_t i3, float * d) {
        const float * x = row_ptr(a, i1, i2, i3);
        const float * y = row_ptr(b, i1 % b->ne[1], i2 % b->ne[2], i3 % b->ne[3]);
        // d may alias x (in-place accumulation into a gradient): element i is read before written.
        if (nb0 == n) {
            if (mul) v_mul(n, d, x, y);
            else v_add(n, d, x, y);
        } else if (nb0 == 1) {
            if (mul) v_mul_s(n, d, x, y[0]);
            else v_add_s(n, d, x, y[0]);
        } else {
            if (mul) for (int64_t i = 0; i < n; i++) d[i] = x[i] * y[i % nb0];
            else for (int64_t i = 0; i < n; i++) d[i] = x[i] + y[i % nb0];
        }
    });
}

void cont_rows(const ggml_tensor * dst, int64_t r0, int64_t r1) {
    const ggml_tensor * s = dst->src[0];
    const int64_t n = dst->ne[0], st = s->nb[0] / 4;
    each_row(dst, r0, r1, [&](int64_t i1, int64_t i2, int64_t i3, float * d) {
        const float * x = row_ptr(s, i1, i2, i3);
        if (st == 1) memcpy(d, x, n * 4);
        else for (int64_t i = 0; i < n; i++) d[i] = x[i * st];
    });
}

void soft_max_rows(const ggml_tensor * dst, float scale, int64_t r0, int64_t r1) {
    const ggml_tensor * s = dst->src[0];
    const ggml_tensor * mk = dst->src[1];
    const int64_t n = dst->ne[0];
    each_row(dst, r0, r1, [&](int64_t i1, int64_t i2, int64_t i3, float * d) {
        const float * m = mk ? row_ptr(mk, i1, i2 % mk->ne[2], i3 % mk->ne[3]) : nullptr;
        // d may alias the input (in place): every pass reads element i before writing element i.
        const float max = scale_mask_max(n, d, row_ptr(s, i1, i2, i3), m, scale);
        v_mul_s(n, d, d, (float) (1.0 / exp_sum(n, d, max)));
    });
}

// softmax backward per row: y = softmax(scale·x) ⇒ dx = scale · y ⊙ (dy − ⟨y, dy⟩)  (dot in f64)
void soft_max_back_rows(const ggml_tensor * dst, float scale, int64_t r0, int64_t r1) {
    const ggml_tensor * gdy = dst->src[0];
    const ggml_tensor * gy = dst->src[1];
    const int64_t n = dst->ne[0];
    each_row(dst, r0, r1, [&](int64_t i1, int64_t i2, int64_t i3, float * dx) {
        const float * dy = row_ptr(gdy, i1, i2, i3);
        const float * y = row_ptr(gy, i1, i2, i3);
        v_softmax_back(n, dx, dy, y, (float) dot_f64(n, y, dy), scale);
    });
}

// silu(x) = x·σ(x) ⇒ d/dx = σ(x)·(1 + x·(1 − σ(x)))
void silu_back_rows(const ggml_tensor * dst, int64_t r0, int64_t r1) {
    const ggml_tensor * dy = dst->src[0];
    const ggml_tensor * x = dst->src[1];
    each_row(dst, r0, r1, [&](int64_t i1, int64_t i2, int64_t i3, float * d) {
        silu_back_vec(dst->ne[0], d, row_ptr(x, i1, i2, i3), row_ptr(dy, i1, i2, i3));
    });
}

// ggml's RMS_NORM / RMS_NORM_BACK (f64 row sums, as ggml): y = x / sqrt(mean(x^2) + eps);
// dx = (dz - x * sum(x dz) / (sum(x^2) + eps N)) / sqrt(mean(x^2) + eps)
void rms_norm_rows(const ggml_tensor * dst, bool back, float eps, int64_t r0, int64_t r1) {
    const ggml_tensor * a = dst->src[0];
    const ggml_tensor * b = dst->src[1];
    const int64_t n = dst->ne[0];
    each_row(dst, r0, r1, [&](int64_t i1, int64_t i2, int64_t i3, float * d) {
        const float * x = row_ptr(back ? b : a, i1, i2, i3);
        const double sxx = dot_f64(n, x, x);
        const float rrms = 1.0f / sqrtf((float) sxx / n + eps);
        if (!back) { v_mul_s(n, d, x, rrms); return; }
        const float * dz = row_ptr(a, i1, i2, i3);
        v_axpy_scale(n, d, dz, x, (float) -dot_f64(n, x, dz) / ((float) sxx + eps * n), rrms);
    });
}

void silu_rows(const ggml_tensor * dst, bool gated, int64_t r0, int64_t r1) {
    const ggml_tensor * a = dst->src[0];
    const ggml_tensor * b = dst->src[1];
    each_row(dst, r0, r1, [&](int64_t i1, int64_t i2, int64_t i3, float * d) {
        silu_mul(dst->ne[0], d, row_ptr(a, i1, i2, i3), gated ? row_ptr(b, i1, i2, i3) : nullptr);
    });
}

void cpu_op(ggml_tensor * dst, int ith, int nth, void * ud) {
    const Kind k = kind_of(ud);
    const int64_t rows = ggml_nrows(dst), n = dst->ne[0];
    switch (k) {
        case K_SILU_BACK: op_rows(ith, nth, rows, n, [&](int64_t a, int64_t b) { silu_back_rows(dst, a, b); }); break;
        case K_MUL: op_rows(ith, nth, rows, n, [&](int64_t a, int64_t b) { binary_rows(dst, true, a, b); }); break;
        case K_ADD: op_rows(ith, nth, rows, n, [&](int64_t a, int64_t b) { binary_rows(dst, false, a, b); }); break;
        case K_CONT: op_rows(ith, nth, rows, n, [&](int64_t a, int64_t b) { cont_rows(dst, a, b); }); break;
        case K_SOFT_MAX: {
            const float sc = scale_of(ud);
            op_rows(ith, nth, rows, n, [&](int64_t a, int64_t b) { soft_max_rows(dst, sc, a, b); });
            break;
        }
        case K_SOFT_MAX_BACK: {
            const float sc = scale_of(ud);
            op_rows(ith, nth, rows, n, [&](int64_t a, int64_t b) { soft_max_back_rows(dst, sc, a, b); });
            break;
        }
        case K_RMS_NORM:
        case K_RMS_NORM_BACK: {
            const float eps = scale_of(ud);
            op_rows(ith, nth, rows, n, [&](int64_t a, int64_t b) { rms_norm_rows(dst, k == K_RMS_NORM_BACK, eps, a, b); });
            break;
        }
        case K_SILU: op_rows(ith, nth, rows, n, [&](int64_t a, int64_t b) { silu_rows(dst, false, a, b); }); break;
        case K_SWIGLU: op_rows(ith, nth, rows, n, [&](int64_t a, int64_t b) { silu_rows(dst, true, a, b); }); break;
        default: break;
    }
}

bool f32_rows(const ggml_tensor * t) { return t && t->type == GGML_TYPE_F32 && t->nb[0] == 4; }

bool same_shape(const ggml_tensor * a, const ggml_tensor * b) {
    for (int d = 0; d < 4; d++) if (a->ne[d] != b->ne[d]) return false;
    return true;
}

// Which kind replaces this node, or 0. Only shapes whose semantics the row kernels cover exactly.
uintptr_t eligible(const ggml_tensor * t) {
    const ggml_tensor * a = t->src[0];
    const ggml_tensor * b = t->src[1];
    if (!f32_rows(t) || !a || a->type != GGML_TYPE_F32) return 0;
    // k plus op_params[0] (a float: softmax scale, norm eps); op_params[1] (max_bias) must be 0
    auto with_scale = [&](Kind k, bool check_bias = true) {
        float sc, mb;
        memcpy(&sc, (const float *) t->op_params + 0, 4);
        memcpy(&mb, (const float *) t->op_params + 1, 4);
        if (check_bias && mb != 0.0f) return (uintptr_t) 0;
        uint32_t bits;
        memcpy(&bits, &sc, 4);
        return (uintptr_t) k | ((uintptr_t) bits << 32);
    };
    switch (t->op) {
        case GGML_OP_SILU_BACK:
            return f32_rows(a) && f32_rows(b) && same_shape(a, t) && same_shape(b, t) ? K_SILU_BACK : 0;
        case GGML_OP_MUL:
        case GGML_OP_ADD:
            if (!f32_rows(a) || !f32_rows(b) || !same_shape(a, t)) return 0;
            for (int d = 0; d < 4; d++) if (b->ne[d] == 0 || t->ne[d] % b->ne[d]) return 0;
            return t->op == GGML_OP_MUL ? K_MUL : K_ADD;
        case GGML_OP_CONT:
            return same_shape(a, t) && a->nb[0] % 4 == 0 ? K_CONT : 0;
        case GGML_OP_SOFT_MAX:
            if (t->src[2] || !f32_rows(a) || !same_shape(a, t)) return 0;
            if (b && (!f32_rows(b) || b->ne[0] != t->ne[0] || b->ne[1] < t->ne[1] || t->ne[2] % b->ne[2] || t->ne[3] % b->ne[3])) return 0;
            return with_scale(K_SOFT_MAX);
        case GGML_OP_RMS_NORM:
            return f32_rows(a) && same_shape(a, t) ? with_scale(K_RMS_NORM, false) : 0;
        case GGML_OP_RMS_NORM_BACK:
            return f32_rows(a) && f32_rows(b) && same_shape(a, t) && same_shape(b, t) ? with_scale(K_RMS_NORM_BACK, false) : 0;
        case GGML_OP_UNARY:
            return ggml_get_unary_op(t) == GGML_UNARY_OP_SILU && f32_rows(a) && same_shape(a, t) ? K_SILU : 0;
        case GGML_OP_GLU:
            // split form only (gate and up are separate tensors), not swapped
            return ggml_get_glu_op(t) == GGML_GLU_OP_SWIGLU && b && ((const int32_t *) t->op_params)[1] == 0 && f32_rows(a) &&
                   f32_rows(b) && same_shape(a, t) && same_shape(b, t) ? K_SWIGLU : 0;
        case GGML_OP_SOFT_MAX_BACK:
            return f32_rows(a) && f32_rows(b) && same_shape(a, t) && same_shape(b, t) ? with_scale(K_SOFT_MAX_BACK) : 0;
        default:
            return 0;
    }
}

constexpr int64_t NORM_BLOCK = 16384; // fixed partition: the norm does not depend on the thread count

} // namespace

void rewrite_cpu_ops(ggml_context * ctx, ggml_cgraph * g) {
    for (int i = 0; i < ggml_graph_n_nodes(g); i++) {
        ggml_tensor * node = ggml_graph_node(g, i);
        const uintptr_t ud = eligible(node);
        if (!ud) continue;
        ggml_tensor * args[2] = {node->src[0], node->src[1] ? node->src[1] : node->src[0]};
        // Borrow op/op_params from a public-API custom node; srcs and consumers stay as they are.
        ggml_tensor * tmpl = ggml_custom_4d(ctx, GGML_TYPE_F32, node->ne[0], node->ne[1], node->ne[2], node->ne[3], args, 2,
                                            cpu_op, GGML_N_TASKS_MAX, (void *) ud);
        node->op = tmpl->op;
        memcpy(node->op_params, tmpl->op_params, sizeof(node->op_params));
    }
}

// ---------------------------------------------------------------------------------- fn ops
namespace {
constexpr float GELU_C = 0.7978845608028654f; // sqrt(2/pi)
constexpr float GELU_A = 0.044715f;

// d/dx gelu = (1 + t)/2 + x/2 · (1 - t²) · c·(1 + 3a·x²), t = tanh(c·(x + a·x³))
void fn_rows(const ggml_tensor * dst, const FnOp & op, bool back, int64_t r0, int64_t r1) {
    each_row(dst, r0, r1, [&](int64_t i1, int64_t i2, int64_t i3, float * d) {
        const int64_t n = dst->ne[0];
        const float * x = row_ptr(back ? dst->src[1] : dst->src[0], i1, i2, i3);
        const float * dy = back ? row_ptr(dst->src[0], i1, i2, i3) : nullptr;
        if (op.kind == FN_GELU_TANH) {
            for (int64_t i = 0; i < n; i++) {
                const float v = x[i], t = tanhf(GELU_C * (v + GELU_A * v * v * v));
                d[i] = back ? dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_C * (1.0f + 3.0f * GELU_A * v * v))
                            : 0.5f * v * (1.0f + t);
            }
        } else { // softcap: y = cap·tanh(r·x), dy/dx = cap·r·(1 - t²) = pre·(1 - t²)
            const float r = op.pre / op.cap;
            for (int64_t i = 0; i < n; i++) {
                const float t = tanhf(r * x[i]);
                d[i] = back ? dy[i] * op.pre * (1.0f - t * t) : op.cap * t;
            }
        }
    });
}

void fn_fwd(ggml_tensor * dst, int ith, int nth, void * ud) {
    op_rows(ith, nth, ggml_nrows(dst), dst->ne[0], [&](int64_t a, int64_t b) { fn_rows(dst, *(const FnOp *) ud, false, a, b); });
}
void fn_bwd(ggml_tensor * dst, int ith, int nth, void * ud) {
    op_rows(ith, nth, ggml_nrows(dst), dst->ne[0], [&](int64_t a, int64_t b) { fn_rows(dst, *(const FnOp *) ud, true, a, b); });
}

void swap_for_custom(ggml_context * ctx, ggml_tensor * node, ggml_custom_op_t fun, void * ud) {
    ggml_tensor * args[2] = {node->src[0], node->src[1] ? node->src[1] : node->src[0]};
    ggml_tensor * tmpl = ggml_custom_4d(ctx, GGML_TYPE_F32, node->ne[0], node->ne[1], node->ne[2], node->ne[3], args, 2, fun, GGML_N_TASKS_MAX, ud);
    node->op = tmpl->op;
    memcpy(node->op_params, tmpl->op_params, sizeof(node->op_params));
}
} // namespace

ggml_tensor * forge_fn(ggml_context * ctx, std::deque<FnOp> & ops, ggml_tensor * x, FnKind kind, float cap, float pre) {
    ggml_tensor * y = ggml_silu(ctx, x); // stand-in with the right autodiff shape: SILU_BACK(dy, x)
    ops.push_back({x, y, kind, cap, pre});
    return y;
}

void rewrite_fn_ops(ggml_context * ctx, ggml_cgraph * g, std::deque<FnOp> & ops) {
    if (ops.empty()) return;
    for (int i = 0; i < ggml_graph_n_nodes(g); i++) {
        ggml_tensor * node = ggml_graph_node(g, i);
        if (node->op != GGML_OP_UNARY && node->op != GGML_OP_SILU_BACK) continue;
        for (FnOp & op : ops) {
            if (node == op.y) swap_for_custom(ctx, node, fn_fwd, &op);
            else if (node->op == GGML_OP_SILU_BACK && node->src[1] == op.x) swap_for_custom(ctx, node, fn_bwd, &op);
        }
    }
}

const char * forge_custom_op_name(const ggml_tensor * t) {
    if (t->op != GGML_OP_CUSTOM) return nullptr;
    // ggml_custom_op_params starts with {fun, n_tasks, userdata}
    struct P { ggml_custom_op_t fun; int n_tasks; void * ud; } p;
    memcpy(&p, t->op_params, sizeof p);
    if (p.fun == cpu_op) return kind_names[kind_of(p.ud) < K_END ? kind_of(p.ud) : 0];
    if (p.fun == fn_fwd || p.fun == fn_bwd) {
        const bool gelu = ((const FnOp *) p.ud)->kind == FN_GELU_TANH;
        return p.fun == fn_fwd ? (gelu ? "gelu" : "softcap") : (gelu ? "gelu_back" : "softcap_back");
    }
    return "gemm";
}

double forge_grad_norm(const std::vector<AdamWSlot> & slots) {
    std::vector<std::pair<int, int64_t>> blocks; // (slot, offset)
    for (size_t s = 0; s < slots.size(); s++)
        for (int64_t o = 0; o < slots[s].n; o += NORM_BLOCK) blocks.push_back({(int) s, o});
    std::vector<double> part(blocks.size(), 0.0);
    par_range((int64_t) blocks.size(), 4, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; b++) {
            const AdamWSlot & sl = slots[blocks[b].first];
            const int64_t o = blocks[b].second, e = std::min(sl.n, o + NORM_BLOCK);
            // 8 f64 lanes: vectorisable, and exact enough that the order barely matters
            double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            int64_t i = o;
            for (; i + 8 <= e; i += 8)
                for (int j = 0; j < 8; j++) acc[j] += (double) sl.g[i + j] * sl.g[i + j];
            for (; i < e; i++) acc[0] += (double) sl.g[i] * sl.g[i];
            part[b] = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        }
    });
    double s = 0;
    for (double p : part) s += p;
    return std::sqrt(s);
}

void forge_adamw(const std::vector<AdamWSlot> & slots, float clip, float lr, float beta1, float beta2, float eps,
                 float wd, float beta1h, float beta2h) {
    std::vector<std::pair<int, int64_t>> blocks;
    for (size_t s = 0; s < slots.size(); s++)
        for (int64_t o = 0; o < slots[s].n; o += NORM_BLOCK) blocks.push_back({(int) s, o});
    par_range((int64_t) blocks.size(), 2, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; b++) {
            const AdamWSlot & sl = slots[blocks[b].first];
            const int64_t o = blocks[b].second, e = std::min(sl.n, o + NORM_BLOCK);
            const float keep = 1.0f - lr * (sl.decay ? wd : 0.0f);
            float * __restrict w = sl.w;
            float * __restrict g = sl.g;
            float * __restrict m = sl.m;
            float * __restrict v = sl.v;
            for (int64_t i = o; i < e; i++) {
                const float gi = g[i] * clip; // the same F32 product as ggml_mul(grad, clip_scale)
                m[i] = m[i] * beta1 + gi * (1.0f - beta1);
                v[i] = v[i] * beta2 + gi * gi * (1.0f - beta2);
                const float mh = m[i] * beta1h;
                const float vh = sqrtf(v[i] * beta2h) + eps;
                w[i] = w[i] * keep - lr * mh / vh;
                g[i] = 0.0f;
            }
        }
    });
}
