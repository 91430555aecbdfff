// llama.cpp's own training path (llama_opt_init / llama_opt_epoch from the shipped libllama) on
// the same GGUF and the same ATDS token rows as atelier-forge: the floor of the forge benchmark.
//
//   llama-opt --model m.gguf --train t.atds --eval e.atds [--epochs 2 | --steps N] [--threads 2]
//             [--lr 1e-3 --min-lr-ratio 0.1 --warmup 0 --wd 0.1 --beta1 0.9 --beta2 0.95 --eps 1e-8]
//             [--seed 42] [--out trained.gguf] --libs <dir with libggml-cpu-*.so>
//
// One JSON line per epoch and a final {"type":"done",...} on stdout (tok_s counts training only,
// eval excluded). llama_opt's limits, reported as they are: one sequence of n_ctx tokens per optimizer
// step (opt_period = n_batch/n_ubatch and n_batch <= n_ctx, so no multi-sequence batches), no grad
// clipping, token_embd.weight is never trained (llama.cpp FIXME). Row order per epoch is forge's
// RowOrder permutation (same seed), the LR schedule is forge's warmup + cosine, per optimizer step.
#include "ggml-backend.h"
#include "ggml-opt.h"
#include "llama.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

struct Atds {
    uint32_t row_len = 0, n_rows = 0;
    std::vector<int32_t> tok;
};

static Atds load_atds(const std::string & path) {
    Atds d;
    FILE * f = fopen(path.c_str(), "rb");
    char magic[4];
    uint32_t h[3];
    if (!f || fread(magic, 1, 4, f) != 4 || memcmp(magic, "ATDS", 4) || fread(h, 4, 3, f) != 3 || h[0] != 1) {
        fprintf(stderr, "bad ATDS file %s\n", path.c_str());
        exit(1);
    }
    d.row_len = h[1];
    d.n_rows = h[2];
    d.tok.resize((size_t) d.row_len * d.n_rows);
    if (fread(d.tok.data(), 4, d.tok.size(), f) != d.tok.size()) { fprintf(stderr, "truncated %s\n", path.c_str()); exit(1); }
    fclose(f); // mask ignored: the benchmark data set has every position as a target
    return d;
}

// Same as server/forge/native/dataset.cpp (RowOrder), so all systems see rows in the same order.
static uint64_t splitmix64(uint64_t & s) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static std::vector<uint32_t> epoch_perm(uint32_t n, uint64_t seed, int64_t epoch) {
    std::vector<uint32_t> p(n);
    for (uint32_t i = 0; i < n; i++) p[i] = i;
    uint64_t st = seed * 0x100000001B3ull + (uint64_t) epoch * 0x9E3779B97F4A7C15ull + 1;
    for (uint32_t i = n - 1; i > 0; i--) std::swap(p[i], p[(uint32_t) (splitmix64(st) % (i + 1))]);
    return p;
}

struct Sched {
    double lr, min_ratio, wd, b1, b2, eps;
    int64_t warmup, total, step = 0;
};

static ggml_opt_optimizer_params opt_pars(void * ud) {
    Sched & s = *(Sched *) ud;
    double lr;
    if (s.step < s.warmup) lr = s.lr * (double) (s.step + 1) / (double) s.warmup;
    else {
        const double span = (double) std::max<int64_t>(1, s.total - s.warmup);
        const double prog = std::min(1.0, (double) (s.step - s.warmup) / span);
        lr = s.lr * s.min_ratio + (s.lr - s.lr * s.min_ratio) * 0.5 * (1.0 + std::cos(M_PI * prog));
    }
    s.step++; // called once per optimizer step (ggml_opt_eval with the optimizer graph)
    ggml_opt_optimizer_params p = ggml_opt_get_default_optimizer_params(nullptr);
    p.adamw.alpha = (float) lr;
    p.adamw.beta1 = (float) s.b1;
    p.adamw.beta2 = (float) s.b2;
    p.adamw.eps = (float) s.eps;
    p.adamw.wd = (float) s.wd;
    return p;
}

static ggml_opt_dataset_t make_dataset(const Atds & d, const std::vector<uint32_t> & rows, int n_ctx) {
    ggml_opt_dataset_t ds = ggml_opt_dataset_init(GGML_TYPE_I32, GGML_TYPE_I32, n_ctx, n_ctx, (int64_t) rows.size(), 1);
    int32_t * data = (int32_t *) ggml_opt_dataset_data(ds)->data;
    int32_t * labels = (int32_t *) ggml_opt_dataset_labels(ds)->data;
    for (size_t i = 0; i < rows.size(); i++) {
        const int32_t * r = d.tok.data() + (size_t) rows[i] * d.row_len;
        memcpy(data + i * n_ctx, r, n_ctx * 4);
        memcpy(labels + i * n_ctx, r + 1, n_ctx * 4);
    }
    return ds;
}

static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

static void quiet(ggml_log_level lvl, const char * text, void *) {
    if (lvl >= GGML_LOG_LEVEL_WARN || getenv("LLAMA_OPT_VERBOSE")) fputs(text, stderr);
}

int main(int argc, char ** argv) {
    std::map<std::string, std::string> a;
    for (int i = 1; i + 1 < argc; i += 2) a[std::string(argv[i]).substr(2)] = argv[i + 1];
    auto S = [&](const char * k, const char * def) { return a.count(k) ? a[k] : std::string(def); };
    auto D = [&](const char * k, double def) { return a.count(k) ? atof(a[k].c_str()) : def; };
    if (!a.count("model") || !a.count("train") || !a.count("libs")) {
        fprintf(stderr, "usage: llama-opt --model m.gguf --train t.atds [--eval e.atds] --libs DIR [--epochs N|--steps N] ...\n");
        return 2;
    }
    const int threads = (int) D("threads", 2);
    const uint64_t seed = (uint64_t) D("seed", 42);

    llama_log_set(quiet, nullptr);
    ggml_backend_load_all_from_path(S("libs", "").c_str()); // the shipped libggml registers nothing by itself
    llama_backend_init();

    Atds tr = load_atds(a["train"]);
    Atds ev;
    if (a.count("eval")) ev = load_atds(a["eval"]);
    const int n_ctx = (int) tr.row_len - 1;

    llama_model_params mp = llama_model_default_params();
    mp.load_mode = LLAMA_LOAD_MODE_NONE; // weights must be writable
    mp.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(a["model"].c_str(), mp);
    if (!model) { fprintf(stderr, "cannot load %s\n", a["model"].c_str()); return 1; }

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_ctx;
    cp.n_ubatch = n_ctx;
    cp.n_seq_max = 1;
    cp.n_threads = threads;       // set explicitly: otherwise training runs on GGML_DEFAULT_N_THREADS (4)
    cp.n_threads_batch = threads;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED; // no backward for FLASH_ATTN_EXT
    cp.type_k = GGML_TYPE_F32;    // no f16 OUT_PROD (as examples/training/finetune.cpp)
    cp.type_v = GGML_TYPE_F32;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "cannot create context\n"); return 1; }
    {
        // llama_opt_epoch computes through ggml_opt, which never applies cparams.n_threads: the CPU
        // backend keeps GGML_DEFAULT_N_THREADS (4) until a decode sets it. One decode fixes that.
        llama_token t0 = 0;
        llama_batch b = llama_batch_get_one(&t0, 1);
        if (llama_decode(ctx, b) != 0) { fprintf(stderr, "warm-up decode failed\n"); return 1; }
        llama_memory_clear(llama_get_memory(ctx), true);
    }

    // Steps: one optimizer step per row (sequence).
    const int64_t steps = a.count("steps") ? (int64_t) D("steps", 0) : (int64_t) std::ceil(D("epochs", 1) * tr.n_rows);
    Sched sch{D("lr", 1e-3), D("min-lr-ratio", 0.1), D("wd", 0.1), D("beta1", 0.9), D("beta2", 0.95), D("eps", 1e-8),
              (int64_t) D("warmup", 0), steps};
    llama_opt_params op{};
    op.n_ctx_train = 0;
    op.param_filter = llama_opt_param_filter_all;
    op.get_opt_pars = opt_pars;
    op.get_opt_pars_ud = &sch;
    op.optimizer_type = GGML_OPT_OPTIMIZER_TYPE_ADAMW;
    llama_opt_init(ctx, model, op);

    ggml_opt_result_t res_train = ggml_opt_result_init(), res_eval = ggml_opt_result_init();
    auto evaluate = [&]() -> double {
        if (ev.n_rows == 0) return NAN;
        std::vector<uint32_t> rows(ev.n_rows);
        for (uint32_t i = 0; i < ev.n_rows; i++) rows[i] = i;
        ggml_opt_dataset_t ds = make_dataset(ev, rows, n_ctx);
        ggml_opt_result_reset(res_eval);
        llama_opt_epoch(ctx, ds, res_train, res_eval, /*idata_split*/ 0, nullptr, nullptr);
        double loss = NAN, unc = 0;
        ggml_opt_result_loss(res_eval, &loss, &unc);
        ggml_opt_dataset_free(ds);
        return loss;
    };

    double train_s = 0, tokens = 0, last_loss = NAN;
    int64_t done = 0;
    for (int64_t epoch = 0; done < steps; epoch++) {
        std::vector<uint32_t> perm = epoch_perm(tr.n_rows, seed, epoch);
        if ((int64_t) perm.size() > steps - done) perm.resize(steps - done);
        ggml_opt_dataset_t ds = make_dataset(tr, perm, n_ctx);
        ggml_opt_result_reset(res_train);
        const double t0 = now();
        llama_opt_epoch(ctx, ds, res_train, res_eval, /*idata_split*/ (int64_t) perm.size(), nullptr, nullptr);
        const double dt = now() - t0;
        ggml_opt_dataset_free(ds);
        train_s += dt;
        tokens += (double) perm.size() * n_ctx;
        done += (int64_t) perm.size();
        double unc = 0;
        ggml_opt_result_loss(res_train, &last_loss, &unc);
        printf("{\"type\":\"epoch\",\"epoch\":%lld,\"steps\":%lld,\"train_loss\":%.6f,\"tok_s\":%.2f,\"seconds\":%.3f}\n",
               (long long) epoch + 1, (long long) done, last_loss, perm.size() * n_ctx / dt, dt);
        fflush(stdout);
    }
    const double t_eval = now();
    const double eval_loss = evaluate();
    const double eval_s = now() - t_eval;
    if (a.count("out")) llama_model_save_to_file(model, a["out"].c_str());
    printf("{\"type\":\"done\",\"steps\":%lld,\"tokens\":%.0f,\"train_seconds\":%.3f,\"tok_s\":%.2f,\"train_loss\":%.6f,"
           "\"eval_loss\":%.6f,\"eval_ppl\":%.4f,\"eval_seconds\":%.3f,\"threads\":%d}\n",
           (long long) done, tokens, train_s, tokens / train_s, last_loss, eval_loss, std::exp(eval_loss), eval_s, threads);
    ggml_opt_result_free(res_train);
    ggml_opt_result_free(res_eval);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
