// Packed, cache-blocked SGEMM for the training hot path. ggml's F32 GEMM reaches ~35 GFLOP/s
// per core on AVX-512 machines; training is ~90% GEMM (forward, dW, dx), so this matters.
#pragma once
#include "ggml.h"

#include <cstdint>

// C[m][n] (=|+=) sum_k A(m,k) * B(k,n), all F32, element strides (not bytes):
//   A(m,k) = A[m*a_m + k*a_k], B(k,n) = B[k*b_k + n*b_n], C[m*c_m + n] (rows contiguous).
// Rows [m0, m1) only, so callers can split M across threads.
void forge_sgemm(int64_t M, int64_t N, int64_t K,
                 const float * A, int64_t a_m, int64_t a_k,
                 const float * B, int64_t b_k, int64_t b_n,
                 float * C, int64_t c_m, bool accumulate, int64_t m0, int64_t m1);

// B operand held in a ggml storage type (F16, BF16, Q8_0, Q4_K, ...): a frozen weight W with `rows`
// contiguous rows of `row_bytes` bytes each. rows_along_k: B(k, n) = W[row n][k] (y = W x, the forward
// GEMM); otherwise B(k, n) = W[row k][n] (dx = W^T dy). Panels are dequantised to F32 while packing,
// so the micro-kernel and its F32 accumulation are those of forge_sgemm, and a quantized model is
// never expanded to F32 as a whole. Element offsets passed to the converter are multiples of 256 (or
// reach the row end), which every ggml block size divides.
struct TypedB {
    const void * data;
    ggml_type type;
    size_t row_bytes;
    bool rows_along_k;
};

// C[m][n] (=|+=) sum_k A(m,k) * B(k,n) for rows [m0, m1) and columns [n0, n1) of C. n0 must be a
// multiple of forge_typed_n_align(B) and n1 either N or such a multiple.
void forge_gemm_typed(int64_t M, int64_t N, int64_t K,
                      const float * A, int64_t a_m, int64_t a_k, const TypedB & B,
                      float * C, int64_t c_m, bool accumulate, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
int64_t forge_typed_n_align(const TypedB & B);
// Whether forge_gemm_typed can read this storage type (F16, BF16 or any type ggml can dequantise).
bool forge_typed_supported(ggml_type t);

// Same contract as forge_sgemm with both operands rounded to BF16 (RNE) while packing and the products
// accumulated in F32 by AVX512-BF16's vdpbf16ps ("bf16" precision: F32 master weights, BF16 matmul inputs).
// Only call when forge_bf16_available().
void forge_sgemm_bf16(int64_t M, int64_t N, int64_t K,
                      const float * A, int64_t a_m, int64_t a_k,
                      const float * B, int64_t b_k, int64_t b_n,
                      float * C, int64_t c_m, bool accumulate, int64_t m0, int64_t m1);
bool forge_bf16_available();

// Which kernel forge_sgemm uses on this CPU: "avx512", "avx2" or nullptr (not available:
// callers must keep ggml's own ops).
const char * forge_sgemm_kernel();

// Worker pool for GEMM parallelism. ggml's own CPU threads synchronise at a spinning barrier
// after every graph node, which collapses when the machine is oversubscribed (other jobs on
// the cores). With the pool, ggml runs single-threaded and only the GEMMs (~85% of the work)
// fan out; idle workers sleep on a condition variable instead of spinning.
void forge_pool_init(int n_threads);   // 1 = no pool
int forge_pool_size();
// Run f(0..n_tasks-1) on the pool (caller participates); returns when all are done.
void forge_pool_run(int n_tasks, void (*f)(int task, void * ctx), void * ctx);
