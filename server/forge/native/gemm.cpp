// BLIS-style SGEMM: pack A into MR-row panels and B into NR-column panels per cache block,
// then run a register-blocked FMA micro-kernel. Only the micro-kernels are compiled for
// AVX2/AVX-512 (function target attributes + runtime dispatch), so the binary still runs
// on any x86-64 and the build needs no -march flags.
#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own `__Y = __Y` idiom (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#define FORGE_X86 1
#endif

namespace {

constexpr int64_t KC = 256;

typedef void (*ukernel_t)(int64_t kc, const float * A, const float * B, float * C, int64_t ldc, bool overwrite, int mr, int nr);

struct Kernel {
    const char * name;
    int MR, NR;
    int64_t MC, NC;
    ukernel_t fn;
};

template <int MR, int NR>
inline void store_tile(const float * acc, float * C, int64_t ldc, bool overwrite, int mr, int nr) {
    for (int i = 0; i < mr; i++) {
        float * c = C + i * ldc;
        const float * a = acc + i * NR;
        if (overwrite) for (int j = 0; j < nr; j++) c[j] = a[j];
        else for (int j = 0; j < nr; j++) c[j] += a[j];
    }
}

#ifdef FORGE_X86
// Write an MR×32 accumulator tile (two zmm per row) to C: straight stores for a full tile, else through a
// buffer so only the mr×nr valid corner is touched.
template <int MR>
__attribute__((target("avx512f"), always_inline)) inline void store_tile_512(const __m512 (*c)[2], float * C, int64_t ldc, bool overwrite, int mr, int nr) {
    constexpr int NR = 32;
    if (mr == MR && nr == NR) {
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            float * ci = C + i * ldc;
            if (overwrite) {
                _mm512_storeu_ps(ci, c[i][0]);
                _mm512_storeu_ps(ci + 16, c[i][1]);
            } else {
                _mm512_storeu_ps(ci, _mm512_add_ps(_mm512_loadu_ps(ci), c[i][0]));
                _mm512_storeu_ps(ci + 16, _mm512_add_ps(_mm512_loadu_ps(ci + 16), c[i][1]));
            }
        }
        return;
    }
    alignas(64) float tmp[MR * NR];
    for (int i = 0; i < MR; i++) { _mm512_store_ps(tmp + i * NR, c[i][0]); _mm512_store_ps(tmp + i * NR + 16, c[i][1]); }
    store_tile<MR, NR>(tmp, C, ldc, overwrite, mr, nr);
}

__attribute__((target("avx512f")))
void ukernel_avx512(int64_t kc, const float * A, const float * B, float * C, int64_t ldc, bool overwrite, int mr, int nr) {
    constexpr int MR = 12, NR = 32;
    __m512 c[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) { c[i][0] = _mm512_setzero_ps(); c[i][1] = _mm512_setzero_ps(); }
    for (int64_t k = 0; k < kc; k++) {
        const __m512 b0 = _mm512_loadu_ps(B);
        const __m512 b1 = _mm512_loadu_ps(B + 16);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            const __m512 a = _mm512_set1_ps(A[i]);
            c[i][0] = _mm512_fmadd_ps(a, b0, c[i][0]);
            c[i][1] = _mm512_fmadd_ps(a, b1, c[i][1]);
        }
        A += MR;
        B += NR;
    }
    store_tile_512<MR>(c, C, ldc, overwrite, mr, nr);
}

__attribute__((target("avx2,fma")))
void ukernel_avx2(int64_t kc, const float * A, const float * B, float * C, int64_t ldc, bool overwrite, int mr, int nr) {
    constexpr int MR = 6, NR = 16;
    __m256 c[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) { c[i][0] = _mm256_setzero_ps(); c[i][1] = _mm256_setzero_ps(); }
    for (int64_t k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_loadu_ps(B);
        const __m256 b1 = _mm256_loadu_ps(B + 8);
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            const __m256 a = _mm256_broadcast_ss(A + i);
            c[i][0] = _mm256_fmadd_ps(a, b0, c[i][0]);
            c[i][1] = _mm256_fmadd_ps(a, b1, c[i][1]);
        }
        A += MR;
        B += NR;
    }
    alignas(32) float tmp[MR * NR];
    for (int i = 0; i < MR; i++) { _mm256_store_ps(tmp + i * NR, c[i][0]); _mm256_store_ps(tmp + i * NR + 8, c[i][1]); }
    store_tile<MR, NR>(tmp, C, ldc, overwrite, mr, nr);
}
#endif

const Kernel * pick_kernel() {
#ifdef FORGE_X86
    static const Kernel k512 = {"avx512", 12, 32, 144, 512, ukernel_avx512};
    static const Kernel k256 = {"avx2", 6, 16, 96, 512, ukernel_avx2};
    __builtin_cpu_init();
    const char * force = getenv("ATELIER_FORGE_GEMM_KERNEL"); // "avx2" to test the fallback on AVX-512 machines
    const bool want512 = !(force && std::string(force) == "avx2");
    if (want512 && __builtin_cpu_supports("avx512f")) return &k512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &k256;
#endif
    return nullptr;
}

const Kernel * kernel() {
    static const Kernel * k = pick_kernel();
    return k;
}

// Packing reads through arbitrary strides, which is how transposed operands cost nothing extra.
void pack_a(const Kernel & K, const float * A, int64_t a_m, int64_t a_k, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float * dst) {
    const int MR = K.MR;
    for (int64_t ir = 0; ir < mc; ir += MR) {
        const int mr = (int) std::min<int64_t>(MR, mc - ir);
        const float * base = A + (i0 + ir) * a_m + p0 * a_k;
        if (a_m == 1 && mr == MR) {
            // column access is contiguous: copy MR floats per k
            for (int64_t k = 0; k < kc; k++) memcpy(dst + k * MR, base + k * a_k, MR * sizeof(float));
        } else {
            for (int64_t k = 0; k < kc; k++) {
                float * d = dst + k * MR;
                const float * s = base + k * a_k;
                int i = 0;
                for (; i < mr; i++) d[i] = s[i * a_m];
                for (; i < MR; i++) d[i] = 0.0f;
            }
        }
        dst += MR * kc;
    }
}

void pack_b(const Kernel & K, const float * B, int64_t b_k, int64_t b_n, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float * dst) {
    const int NR = K.NR;
    for (int64_t jr = 0; jr < nc; jr += NR) {
        const int nr = (int) std::min<int64_t>(NR, nc - jr);
        const float * base = B + p0 * b_k + (j0 + jr) * b_n;
        if (b_n == 1 && nr == NR) {
            for (int64_t k = 0; k < kc; k++) memcpy(dst + k * NR, base + k * b_k, NR * sizeof(float));
        } else if (b_k == 1) {
            // B(k, n) contiguous along k: walk each column once (cache friendly), scatter into the panel
            for (int j = 0; j < nr; j++) {
                const float * s = base + j * b_n;
                for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = s[k];
            }
            for (int j = nr; j < NR; j++) for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = 0.0f;
        } else {
            for (int64_t k = 0; k < kc; k++) {
                float * d = dst + k * NR;
                const float * s = base + k * b_k;
                int j = 0;
                for (; j < nr; j++) d[j] = s[j * b_n];
                for (; j < NR; j++) d[j] = 0.0f;
            }
        }
        dst += NR * kc;
    }
}

} // namespace

const char * forge_sgemm_kernel() {
    const Kernel * k = kernel();
    return k ? k->name : nullptr;
}

namespace {

// The BLIS loop nest shared by the F32 and the typed-B GEMMs: for each NC-column block and KC-deep
// slice, pack B once (pack(p0, kc, j0, nc, dst)), then every MC-row block of A against it.
template <class PackB>
void gemm_driver(const Kernel & kn, int64_t N, int64_t K, const float * A, int64_t a_m, int64_t a_k, const PackB & pack,
                 float * C, int64_t c_m, bool accumulate, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    thread_local std::vector<float> abuf, bbuf;
    const int64_t MC = kn.MC, NC = kn.NC;
    abuf.resize((size_t) (MC + kn.MR) * KC);
    bbuf.resize((size_t) (NC + kn.NR) * KC);
    (void) N;
    if (K == 0) {
        if (!accumulate) for (int64_t i = m0; i < m1; i++) memset(C + i * c_m + n0, 0, (n1 - n0) * sizeof(float));
        return;
    }
    for (int64_t jc = n0; jc < n1; jc += NC) {
        const int64_t nc = std::min(NC, n1 - jc);
        for (int64_t pc = 0; pc < K; pc += KC) {
            const int64_t kc = std::min(KC, K - pc);
            const bool overwrite = pc == 0 && !accumulate;
            pack(pc, kc, jc, nc, bbuf.data());
            for (int64_t ic = m0; ic < m1; ic += MC) {
                const int64_t mc = std::min(MC, m1 - ic);
                pack_a(kn, A, a_m, a_k, ic, mc, pc, kc, abuf.data());
                for (int64_t jr = 0; jr < nc; jr += kn.NR) {
                    const int nr = (int) std::min<int64_t>(kn.NR, nc - jr);
                    const float * bp = bbuf.data() + (jr / kn.NR) * kn.NR * kc;
                    for (int64_t ir = 0; ir < mc; ir += kn.MR) {
                        const int mr = (int) std::min<int64_t>(kn.MR, mc - ir);
                        kn.fn(kc, abuf.data() + (ir / kn.MR) * kn.MR * kc, bp, C + (ic + ir) * c_m + jc + jr, c_m, overwrite, mr, nr);
                    }
                }
            }
        }
    }
}

// ------------------------------------------------------------------ typed B: row segment -> F32
// F16 -> F32 with the F16C conversion instruction (exact: every half is a float).
#ifdef FORGE_X86
__attribute__((target("avx512f"))) void f16_to_f32_avx512(const uint16_t * x, float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (x + i))));
    for (; i < n; i++) y[i] = ggml_fp16_to_fp32(x[i]);
}
__attribute__((target("avx2,f16c"))) void f16_to_f32_f16c(const uint16_t * x, float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (x + i))));
    for (; i < n; i++) y[i] = ggml_fp16_to_fp32(x[i]);
}
#endif

// BF16 is the top half of an F32: widening is a 16-bit shift (exact).
#define FORGE_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), optimize("O3")))
FORGE_CLONES void bf16_to_f32(const uint16_t * x, float * y, int64_t n) {
    uint32_t * o = (uint32_t *) y;
    for (int64_t i = 0; i < n; i++) o[i] = (uint32_t) x[i] << 16;
}

void f16_to_f32(const uint16_t * x, float * y, int64_t n) {
#ifdef FORGE_X86
    static const int level = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") ? 1 : 0;
    }();
    if (level == 2) { f16_to_f32_avx512(x, y, n); return; }
    if (level == 1) { f16_to_f32_f16c(x, y, n); return; }
#endif
    ggml_fp16_to_fp32_row((const ggml_fp16_t *) x, y, n);
}

// Elements [start, start + n) of one row as F32. For block types, start is a multiple of the block size
// and n is a multiple too or reaches the row end (callers align to 256 elements).
void row_to_f32(ggml_type t, const void * row, int64_t start, int64_t n, float * out) {
    switch (t) {
        case GGML_TYPE_F32: memcpy(out, (const float *) row + start, n * sizeof(float)); return;
        case GGML_TYPE_F16: f16_to_f32((const uint16_t *) row + start, out, n); return;
        case GGML_TYPE_BF16: bf16_to_f32((const uint16_t *) row + start, out, n); return;
        default: {
            const int64_t bs = ggml_blck_size(t);
            ggml_get_type_traits(t)->to_float((const char *) row + (start / bs) * ggml_type_size(t), out, n);
        }
    }
}

// Pack B(k, n) for k in [p0, p0+kc), n in [j0, j0+nc) into NR-wide panels (layout as pack_b).
void pack_b_typed(const Kernel & K, const TypedB & B, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float * dst) {
    const int NR = K.NR;
    thread_local std::vector<float> seg;
    seg.resize((size_t) std::max<int64_t>(KC, K.NC));
    const int64_t panels = (nc + NR - 1) / NR;
    // panel p, row k, lane j lives at dst[(p * kc + k) * NR + j]
    if (B.rows_along_k) {
        // column n of B is row n of W: convert its k-slice once, spread it down the panel
        for (int64_t j = 0; j < nc; j++) {
            row_to_f32(B.type, (const char *) B.data + (j0 + j) * B.row_bytes, p0, kc, seg.data());
            float * d = dst + (j / NR) * kc * NR + (j % NR);
            for (int64_t k = 0; k < kc; k++) d[k * NR] = seg[k];
        }
    } else {
        // row k of B is row k of W: convert its n-slice once, cut it into the panels
        for (int64_t k = 0; k < kc; k++) {
            row_to_f32(B.type, (const char *) B.data + (p0 + k) * B.row_bytes, j0, nc, seg.data());
            for (int64_t p = 0; p < panels; p++) {
                const int64_t w = std::min<int64_t>(NR, nc - p * NR);
                memcpy(dst + (p * kc + k) * NR, seg.data() + p * NR, w * sizeof(float));
            }
        }
    }
    // zero the unused lanes of the last panel (the micro-kernel reads full NR-wide rows)
    const int64_t tail = nc % NR;
    if (tail) {
        float * d = dst + (panels - 1) * kc * NR;
        for (int64_t k = 0; k < kc; k++) memset(d + k * NR + tail, 0, (NR - tail) * sizeof(float));
    }
}

} // namespace

void forge_sgemm(int64_t M, int64_t N, int64_t K, const float * A, int64_t a_m, int64_t a_k,
                 const float * B, int64_t b_k, int64_t b_n, float * C, int64_t c_m, bool accumulate, int64_t m0, int64_t m1) {
    (void) M;
    const Kernel & kn = *kernel();
    auto pack = [&](int64_t pc, int64_t kc, int64_t jc, int64_t nc, float * dst) { pack_b(kn, B, b_k, b_n, pc, kc, jc, nc, dst); };
    gemm_driver(kn, N, K, A, a_m, a_k, pack, C, c_m, accumulate, m0, m1, 0, N);
}

void forge_gemm_typed(int64_t M, int64_t N, int64_t K, const float * A, int64_t a_m, int64_t a_k, const TypedB & B,
                      float * C, int64_t c_m, bool accumulate, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    (void) M;
    const Kernel & kn = *kernel();
    auto pack = [&](int64_t pc, int64_t kc, int64_t jc, int64_t nc, float * dst) { pack_b_typed(kn, B, pc, kc, jc, nc, dst); };
    gemm_driver(kn, N, K, A, a_m, a_k, pack, C, c_m, accumulate, m0, m1, n0, n1);
}

// ------------------------------------------------------------------ BF16 GEMM (AVX512-BF16)
// Operands are rounded to BF16 (round-to-nearest-even, as PyTorch's autocast does) while packing; vdpbf16ps
// multiplies pairs of BF16 along k and accumulates in F32: c += a[2p]·b[2p] + a[2p+1]·b[2p+1]. Panels hold
// k-pairs as one uint32 (low half = even k), so A panel = [kc/2][MR] pairs, B panel = [kc/2][NR] pairs.
namespace {

inline uint32_t bf16_rne(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40; // NaN stays NaN
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

#ifdef FORGE_X86
constexpr int BMR = 12, BNR = 32;
constexpr int64_t BMC = 144, BNC = 512, BKC = 512; // KC in k (256 pairs): half the bytes of an F32 panel

__attribute__((target("avx512f,avx512bf16")))
void ukernel_bf16(int64_t kc2, const uint32_t * A, const uint32_t * B, float * C, int64_t ldc, bool overwrite, int mr, int nr) {
    __m512 c[BMR][2];
#pragma GCC unroll 12
    for (int i = 0; i < BMR; i++) { c[i][0] = _mm512_setzero_ps(); c[i][1] = _mm512_setzero_ps(); }
    for (int64_t p = 0; p < kc2; p++) {
        const __m512bh b0 = (__m512bh) _mm512_loadu_si512(B);
        const __m512bh b1 = (__m512bh) _mm512_loadu_si512(B + 16);
#pragma GCC unroll 12
        for (int i = 0; i < BMR; i++) {
            const __m512bh a = (__m512bh) _mm512_set1_epi32((int) A[i]);
            c[i][0] = _mm512_dpbf16_ps(c[i][0], a, b0);
            c[i][1] = _mm512_dpbf16_ps(c[i][1], a, b1);
        }
        A += BMR;
        B += BNR;
    }
    store_tile_512<BMR>(c, C, ldc, overwrite, mr, nr);
}

// n floats at stride `st` -> n BF16 (RNE); contiguous runs use the conversion instruction (same rounding)
__attribute__((target("avx512f,avx512bf16")))
void to_bf16(const float * x, int64_t st, int64_t n, uint16_t * out) {
    int64_t i = 0;
    if (st == 1)
        for (; i + 16 <= n; i += 16) _mm256_storeu_si256((__m256i *) (out + i), (__m256i) _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i)));
    for (; i < n; i++) out[i] = (uint16_t) bf16_rne(x[i * st]);
}

// A contiguous along m (the OUT_PROD GEMMs of the backward pass): per k-pair, 12 rows of k and of k+1 are two
// masked vector loads; widen both BF16 halves to 32 bits and merge them into pairs.
__attribute__((target("avx512f,avx512bf16")))
void pack_a_bf16_mcontig(const float * A, int64_t a_k, int64_t i0, int64_t mc, int64_t p0, int64_t kc, uint32_t * dst) {
    const int64_t kc2 = (kc + 1) / 2;
    for (int64_t ir = 0; ir < mc; ir += BMR) {
        const int mr = (int) std::min<int64_t>(BMR, mc - ir);
        const __mmask16 ld = (__mmask16) ((1u << mr) - 1), st = (__mmask16) ((1u << BMR) - 1);
        const float * base = A + (i0 + ir) + p0 * a_k;
        for (int64_t p = 0; p < kc2; p++) {
            const __m512 lo = _mm512_maskz_loadu_ps(ld, base + 2 * p * a_k);
            const __m512 hi = 2 * p + 1 < kc ? _mm512_maskz_loadu_ps(ld, base + (2 * p + 1) * a_k) : _mm512_setzero_ps();
            const __m512i l = _mm512_cvtepu16_epi32((__m256i) _mm512_cvtneps_pbh(lo));
            const __m512i h = _mm512_cvtepu16_epi32((__m256i) _mm512_cvtneps_pbh(hi));
            _mm512_mask_storeu_epi32(dst + p * BMR, st, _mm512_or_si512(l, _mm512_slli_epi32(h, 16)));
        }
        dst += BMR * kc2;
    }
}

// A(m, k) rows [i0, i0+mc) × k [p0, p0+kc) -> MR-row panels of k-pairs (zero padded in m and odd k)
void pack_a_bf16(const float * A, int64_t a_m, int64_t a_k, int64_t i0, int64_t mc, int64_t p0, int64_t kc, uint32_t * dst) {
    if (a_m == 1) { pack_a_bf16_mcontig(A, a_k, i0, mc, p0, kc, dst); return; }
    const int64_t kc2 = (kc + 1) / 2;
    thread_local std::vector<uint16_t> row;
    row.resize(2 * kc2);
    for (int64_t ir = 0; ir < mc; ir += BMR) {
        const int mr = (int) std::min<int64_t>(BMR, mc - ir);
        for (int i = 0; i < BMR; i++) {
            if (i >= mr) { for (int64_t p = 0; p < kc2; p++) dst[p * BMR + i] = 0; continue; }
            to_bf16(A + (i0 + ir + i) * a_m + p0 * a_k, a_k, kc, row.data());
            if (kc & 1) row[kc] = 0;
            const uint32_t * pairs = (const uint32_t *) row.data();
            for (int64_t p = 0; p < kc2; p++) dst[p * BMR + i] = pairs[p];
        }
        dst += BMR * kc2;
    }
}

// B(k, n) k [p0, p0+kc) × columns [j0, j0+nc) -> NR-column panels of k-pairs
void pack_b_bf16(const float * B, int64_t b_k, int64_t b_n, int64_t p0, int64_t kc, int64_t j0, int64_t nc, uint32_t * dst) {
    const int64_t kc2 = (kc + 1) / 2;
    thread_local std::vector<uint16_t> lo, hi;
    for (int64_t jr = 0; jr < nc; jr += BNR) {
        const int nr = (int) std::min<int64_t>(BNR, nc - jr);
        if (b_k == 1) {
            // each column is contiguous along k: convert it, its pairs are consecutive
            lo.resize(2 * kc2);
            for (int j = 0; j < BNR; j++) {
                if (j >= nr) { for (int64_t p = 0; p < kc2; p++) dst[p * BNR + j] = 0; continue; }
                to_bf16(B + p0 + (j0 + jr + j) * b_n, 1, kc, lo.data());
                if (kc & 1) lo[kc] = 0;
                const uint32_t * pairs = (const uint32_t *) lo.data();
                for (int64_t p = 0; p < kc2; p++) dst[p * BNR + j] = pairs[p];
            }
        } else {
            // rows of B along n: convert rows 2p and 2p+1, interleave
            lo.resize(BNR);
            hi.resize(BNR);
            for (int64_t p = 0; p < kc2; p++) {
                const int64_t k = p0 + 2 * p;
                to_bf16(B + k * b_k + (j0 + jr) * b_n, b_n, nr, lo.data());
                if (2 * p + 1 < kc) to_bf16(B + (k + 1) * b_k + (j0 + jr) * b_n, b_n, nr, hi.data());
                else std::fill(hi.begin(), hi.begin() + nr, (uint16_t) 0);
                uint32_t * d = dst + p * BNR;
                for (int j = 0; j < nr; j++) d[j] = lo[j] | ((uint32_t) hi[j] << 16);
                for (int j = nr; j < BNR; j++) d[j] = 0;
            }
        }
        dst += BNR * kc2;
    }
}
#endif

} // namespace

bool forge_bf16_available() {
#ifdef FORGE_X86
    static const bool yes = [] {
        __builtin_cpu_init();
        // ATELIER_FORGE_GEMM_KERNEL=avx2 stands for an AVX2-only CPU, which has no BF16 dot product either
        const char * force = getenv("ATELIER_FORGE_GEMM_KERNEL");
        if (force && std::string(force) == "avx2") return false;
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
    }();
    return yes;
#else
    return false;
#endif
}

void forge_sgemm_bf16(int64_t M, int64_t N, int64_t K, const float * A, int64_t a_m, int64_t a_k,
                      const float * B, int64_t b_k, int64_t b_n, float * C, int64_t c_m, bool accumulate, int64_t m0, int64_t m1) {
    (void) M;
#ifdef FORGE_X86
    thread_local std::vector<uint32_t> abuf, bbuf;
    abuf.resize((size_t) (BMC + BMR) * (BKC / 2 + 1));
    bbuf.resize((size_t) (BNC + BNR) * (BKC / 2 + 1));
    if (K == 0) {
        if (!accumulate) for (int64_t i = m0; i < m1; i++) memset(C + i * c_m, 0, N * sizeof(float));
        return;
    }
    for (int64_t jc = 0; jc < N; jc += BNC) {
        const int64_t nc = std::min(BNC, N - jc);
        for (int64_t pc = 0; pc < K; pc += BKC) {
            const int64_t kc = std::min(BKC, K - pc), kc2 = (kc + 1) / 2;
            const bool overwrite = pc == 0 && !accumulate;
            pack_b_bf16(B, b_k, b_n, pc, kc, jc, nc, bbuf.data());
            for (int64_t ic = m0; ic < m1; ic += BMC) {
                const int64_t mc = std::min(BMC, m1 - ic);
                pack_a_bf16(A, a_m, a_k, ic, mc, pc, kc, abuf.data());
                for (int64_t jr = 0; jr < nc; jr += BNR) {
                    const int nr = (int) std::min<int64_t>(BNR, nc - jr);
                    const uint32_t * bp = bbuf.data() + (jr / BNR) * BNR * kc2;
                    for (int64_t ir = 0; ir < mc; ir += BMR) {
                        const int mr = (int) std::min<int64_t>(BMR, mc - ir);
                        ukernel_bf16(kc2, abuf.data() + (ir / BMR) * BMR * kc2, bp, C + (ic + ir) * c_m + jc + jr, c_m, overwrite, mr, nr);
                    }
                }
            }
        }
    }
#else
    (void) N; (void) K; (void) A; (void) a_m; (void) a_k; (void) B; (void) b_k; (void) b_n; (void) C; (void) c_m; (void) accumulate; (void) m0; (void) m1;
    abort(); // callers check forge_bf16_available() first
#endif
}

int64_t forge_typed_n_align(const TypedB & B) {
    // rows along n are converted NC (512) columns at a time from column n0: n0 must sit on a 256 boundary
    return B.rows_along_k ? kernel()->NR : 256;
}

bool forge_typed_supported(ggml_type t) {
    if (t == GGML_TYPE_F32 || t == GGML_TYPE_F16 || t == GGML_TYPE_BF16) return true;
    const ggml_type_traits * tr = ggml_get_type_traits(t);
    return tr && tr->to_float && 256 % ggml_blck_size(t) == 0;
}

namespace {
inline void cpu_relax() {
#ifdef FORGE_X86
    _mm_pause();
#endif
}

// A job lives on the heap and is shared with the workers that picked it up: the caller waits
// only for its tasks to finish, never for a worker that woke up late (or not at all).
struct Job {
    void (*fn)(int, void *);
    void * ctx;
    int n_tasks;
    std::atomic<int> next{0};
    std::atomic<int> done{0};
};

struct Pool {
    std::vector<std::thread> workers;
    std::mutex mu;
    std::condition_variable wake, finished;
    std::shared_ptr<Job> job;
    std::atomic<uint64_t> gen{0};
    bool quit = false;
    static constexpr int SPIN = 2500; // ~100 us (pause is ~40 ns on Zen 4 under KVM)

    void work(Job & j) {
        for (int t; (t = j.next.fetch_add(1)) < j.n_tasks;) {
            j.fn(t, j.ctx);
            if (j.done.fetch_add(1) + 1 == j.n_tasks) {
                std::lock_guard<std::mutex> lk(mu);
                finished.notify_all();
            }
        }
    }
    void loop() {
        uint64_t seen = 0;
        while (true) {
            // Spin briefly first: a step is ~100 short jobs back to back, and a futex wake-up
            // per job costs more than the small ones. Then sleep, so an idle or descheduled
            // pool costs nothing (unlike ggml's barrier, which spins for the whole graph).
            for (int i = 0; i < SPIN && gen.load(std::memory_order_acquire) == seen; i++) cpu_relax();
            std::shared_ptr<Job> j;
            {
                std::unique_lock<std::mutex> lk(mu);
                wake.wait(lk, [&] { return quit || gen.load() != seen; });
                if (quit) return;
                seen = gen.load();
                j = job;
            }
            if (j) work(*j);
        }
    }
    ~Pool() {
        { std::lock_guard<std::mutex> lk(mu); quit = true; }
        wake.notify_all();
        for (auto & w : workers) w.join();
    }
};
Pool * g_pool = nullptr;
} // namespace

void forge_pool_init(int n) {
    if (g_pool || n <= 1) return;
    g_pool = new Pool();
    for (int i = 1; i < n; i++) g_pool->workers.emplace_back([] { g_pool->loop(); });
}

int forge_pool_size() { return g_pool ? (int) g_pool->workers.size() + 1 : 1; }

void forge_pool_run(int n_tasks, void (*f)(int, void *), void * ctx) {
    Pool * p = g_pool;
    if (!p || n_tasks <= 1) {
        for (int t = 0; t < n_tasks; t++) f(t, ctx);
        return;
    }
    auto j = std::make_shared<Job>();
    j->fn = f;
    j->ctx = ctx;
    j->n_tasks = n_tasks;
    {
        std::lock_guard<std::mutex> lk(p->mu);
        p->job = j;
        p->gen.fetch_add(1);
    }
    p->wake.notify_all();
    p->work(*j);
    for (int i = 0; i < Pool::SPIN && j->done.load(std::memory_order_acquire) != n_tasks; i++) cpu_relax();
    std::unique_lock<std::mutex> lk(p->mu);
    p->finished.wait(lk, [&] { return j->done.load() == n_tasks; });
    p->job.reset();
}
