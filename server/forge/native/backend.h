// Backend bring-up: load ggml backends from node-llama-cpp's prebuilt libraries,
// prefer CUDA when it is present and sees a GPU, always keep CPU for fallback ops.
#pragma once
#include "ggml-backend.h"

#include <string>

struct Backends {
    ggml_backend_t cpu = nullptr;
    ggml_backend_t gpu = nullptr;   // null on CPU-only machines
    ggml_backend_sched_t sched = nullptr;
    int threads = 1;
    bool ggml_threads = false;      // threads go to ggml's pool (GPU, no forge GEMM kernel, or ATELIER_FORGE_GGML_THREADS=1)
    std::string name = "cpu";

    ggml_backend_t main() const { return gpu ? gpu : cpu; }
    uint64_t free_memory() const;
    bool cpu_has_bf16() const;      // AVX512-BF16 (fast BF16 GEMM in ggml-cpu)   // RAM or device memory available for our buffers
    // forge's own GEMM kernels (gemm.cpp) run the step's matrix products: CPU backend on x86 with
    // AVX2/AVX-512, unless ATELIER_FORGE_GGML_GEMM=1 keeps ggml's kernels.
    bool forge_gemm() const;
    void make_sched(size_t graph_size);
    ~Backends();
};

void backends_init(Backends & b, int threads);
