// Backend bring-up (backend.h): loads node-llama-cpp's ggml backends, picks CUDA when a GPU is visible, sets
// the threading model (ggml single-threaded + forge's pool, or all threads to ggml), creates the scheduler,
// reports free memory (with the ATELIER_FORGE_MEM_LIMIT test hook) and the ATELIER_FORGE_PROFILE per-op table.
#include "backend.h"
#include "common.h"
#include "gemm.h"
#include "cpu_ops.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <vector>
#include <thread>
#include <unistd.h>

#ifndef FORGE_LIBS_DIR
#define FORGE_LIBS_DIR ""
#define FORGE_LIBS_ABS ""
#endif
#ifndef FORGE_CUDA_DIR
#define FORGE_CUDA_DIR ""
#define FORGE_CUDA_ABS ""
#endif

// Build-time paths are relative to the binary's folder so a moved checkout still works;
// the absolute build-time path is the fallback.
static std::string resolve_dir(const char * rel, const char * abs) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0 && *rel) {
        exe[n] = 0;
        std::string dir(exe);
        dir = dir.substr(0, dir.rfind('/')) + "/" + rel;
        if (access(dir.c_str(), F_OK) == 0) return dir;
    }
    return abs;
}

static void quiet_log(ggml_log_level level, const char * text, void *) {
    // ggml chatters on INFO while loading backends; keep stderr readable for users.
    if (level >= GGML_LOG_LEVEL_WARN || getenv("ATELIER_FORGE_VERBOSE")) fputs(text, stderr);
}

void backends_init(Backends & b, int threads) {
    ggml_log_set(quiet_log, nullptr);
    const char * env_libs = getenv("ATELIER_FORGE_LIBS");
    std::string libs = env_libs && *env_libs ? env_libs : resolve_dir(FORGE_LIBS_DIR, FORGE_LIBS_ABS);
    // Without this nothing is registered: the prebuilt libggml has no static backends.
    ggml_backend_load_all_from_path(libs.c_str());

    const char * no_gpu = getenv("ATELIER_FORGE_CPU_ONLY");
    std::string cuda_dir = resolve_dir(FORGE_CUDA_DIR, FORGE_CUDA_ABS);
    if (!(no_gpu && *no_gpu && *no_gpu != '0') && !cuda_dir.empty() && access("/dev/nvidiactl", F_OK) == 0) {
        std::string lib = cuda_dir + "/libggml-cuda.so";
        if (access(lib.c_str(), R_OK) == 0) ggml_backend_load(lib.c_str());
        ggml_backend_dev_t dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_GPU);
        if (dev) {
            b.gpu = ggml_backend_dev_init(dev, nullptr);
            if (b.gpu) b.name = "cuda";
        }
    }
    b.cpu = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, nullptr);
    if (!b.cpu) fail("IO", "no ggml CPU backend found in " + libs + " (is node-llama-cpp installed?)");
    if (threads <= 0) threads = (int) std::thread::hardware_concurrency();
    if (threads <= 0) threads = 1;
    b.threads = threads;
    // Default: ggml single-threaded + forge_pool for the GEMMs (robust on busy machines, see
    // gemm.h). ATELIER_FORGE_GGML_THREADS=1 gives all threads to ggml instead.
    const char * gt = getenv("ATELIER_FORGE_GGML_THREADS");
    const bool ggml_threads = (gt && *gt && *gt != '0') || !forge_sgemm_kernel() || b.gpu;
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(ggml_backend_get_device(b.cpu));
    auto set_threads = (ggml_backend_set_n_threads_t) ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
    if (set_threads) set_threads(b.cpu, ggml_threads ? threads : 1);
    if (!ggml_threads) forge_pool_init(threads);
    b.ggml_threads = ggml_threads;
}

// ATELIER_FORGE_PROFILE=1: time every node (forces node-by-node execution, so totals are
// slower than normal runs) and print a per-op table at exit. For kernel-level tuning only.
static std::map<std::string, std::pair<double, int>> g_prof;
static double g_prof_t = 0;
static bool prof_cb(ggml_tensor * t, bool ask, void *) {
    if (ask) { g_prof_t = now_seconds(); return true; }
    const char * custom = forge_custom_op_name(t);
    std::string key = custom ? std::string("forge ") + custom : ggml_op_desc(t);
    if (t->op == GGML_OP_MUL_MAT || t->op == GGML_OP_OUT_PROD || (custom && std::string(custom) == "gemm")) {
        key += " " + std::to_string(t->src[0]->ne[0]) + "x" + std::to_string(t->src[0]->ne[1]) + "·" +
               std::to_string(t->src[1]->ne[0]) + "x" + std::to_string(t->src[1]->ne[1]) + "x" + std::to_string(t->src[1]->ne[2]) +
               (ggml_is_contiguous(t->src[0]) ? "" : " nc0") + (ggml_is_contiguous(t->src[1]) ? "" : " nc1");
    }
    auto & e = g_prof[key];
    e.first += now_seconds() - g_prof_t;
    e.second++;
    return true;
}
static void prof_dump() {
    std::vector<std::pair<double, std::string>> v;
    double tot = 0;
    for (auto & kv : g_prof) { v.push_back({kv.second.first, kv.first}); tot += kv.second.first; }
    std::sort(v.rbegin(), v.rend());
    fprintf(stderr, "[forge] profile: %.3fs total\n", tot);
    for (size_t i = 0; i < v.size() && i < 40; i++) fprintf(stderr, "  %7.3fs %5.1f%%  %s (%d)\n", v[i].first, 100 * v[i].first / tot, v[i].second.c_str(), g_prof[v[i].second].second);
}

void Backends::make_sched(size_t graph_size) {
    ggml_backend_t list[2];
    int n = 0;
    if (gpu) list[n++] = gpu;
    list[n++] = cpu;
    sched = ggml_backend_sched_new(list, nullptr, n, graph_size, false, false);
    if (getenv("ATELIER_FORGE_PROFILE")) {
        ggml_backend_sched_set_eval_callback(sched, prof_cb, nullptr);
        atexit(prof_dump);
    }
}

bool Backends::forge_gemm() const {
    const char * off = getenv("ATELIER_FORGE_GGML_GEMM");
    return !gpu && forge_sgemm_kernel() && !(off && *off && *off != '0');
}

uint64_t Backends::free_memory() const {
    uint64_t free_b = 0;
    if (gpu) {
        size_t free = 0, total = 0;
        ggml_backend_dev_memory(ggml_backend_get_device(gpu), &free, &total);
        free_b = free;
    } else {
        free_b = available_ram_bytes();
    }
    // test hook: pretend this much is free (exercises the out-of-memory advice without exhausting the machine)
    if (const char * lim = getenv("ATELIER_FORGE_MEM_LIMIT")) {
        const uint64_t l = strtoull(lim, nullptr, 10);
        if (l && (!free_b || l < free_b)) free_b = l;
    }
    return free_b;
}

Backends::~Backends() {
    if (sched) ggml_backend_sched_free(sched);
    if (gpu) ggml_backend_free(gpu);
    if (cpu) ggml_backend_free(cpu);
}
