// `atelier-forge train`: config → model → training loop with checkpoints and progress lines.
#include "commands.h"
#include "common.h"
#include "engine.h"
#include "gemm.h"
#include "gguf_io.h"

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>

static std::atomic<bool> g_stop{false};
static void on_signal(int) { g_stop = true; }

namespace {

struct TrainConfig {
    std::string mode, base, out, ckpt_dir, train_path, eval_path, name;
    bool resume = false;
    Json model, tokenizer, lora;
    int batch = 4, grad_accum = 1, threads = 0;
    double epochs = 1;
    int64_t steps = -1;
    double lr = 1e-3, min_lr_ratio = 0.1, weight_decay = 0.1, beta1 = 0.9, beta2 = 0.95, eps = 1e-8, grad_clip = 1.0;
    int64_t warmup = 0, eval_every = 0, save_every = 0;
    uint64_t seed = 42;
    ggml_type out_type = GGML_TYPE_F32;
    std::string precision = "f32"; // f32 | bf16 | auto (resolved in cmd_train)
    std::string checkpointing = "auto"; // on | off | auto (on when memory is short or the head's logits are large)
    std::string canonical; // fields that define the run, for the resume check
};

std::string dump(const Json & j) {
    switch (j.kind) {
        case Json::NUL: return "null";
        case Json::BOOL: return j.b ? "true" : "false";
        case Json::NUM: return json_num(j.n);
        case Json::STR: return json_escape(j.s);
        case Json::ARR: {
            std::string s = "[";
            for (size_t i = 0; i < j.a.size(); i++) s += (i ? "," : "") + dump(j.a[i]);
            return s + "]";
        }
        case Json::OBJ: {
            std::string s = "{";
            bool first = true;
            for (auto & kv : j.o) { s += (first ? "" : ",") + json_escape(kv.first) + ":" + dump(kv.second); first = false; }
            return s + "}";
        }
    }
    return "null";
}

uint64_t fnv1a(const std::string & s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) { h ^= c; h *= 1099511628211ull; }
    return h;
}

TrainConfig parse_config(const Json & j) {
    TrainConfig c;
    try {
        if (j.kind != Json::OBJ) throw std::runtime_error("config must be a JSON object");
        c.mode = j.str("mode");
        if (c.mode != "scratch" && c.mode != "full" && c.mode != "lora") throw std::runtime_error("\"mode\" must be scratch, full or lora");
        c.base = j.str("base", "");
        if (c.mode != "scratch" && c.base.empty()) throw std::runtime_error("\"base\" is required for mode " + c.mode);
        c.out = j.str("out");
        c.ckpt_dir = j.str("checkpointDir", "");
        c.resume = j.boolean("resume", false);
        c.train_path = j.str("train");
        c.eval_path = j.str("eval", "");
        c.name = j.str("name", "");
        c.model = j["model"];
        c.tokenizer = j["tokenizer"];
        c.lora = j["lora"];
        if (c.mode == "scratch" && c.model.kind != Json::OBJ) throw std::runtime_error("\"model\" is required for mode scratch");
        if (c.mode == "lora" && c.lora.kind != Json::OBJ) throw std::runtime_error("\"lora\" is required for mode lora");
        c.batch = (int) j.integer("batch", 4);
        c.grad_accum = (int) j.integer("grad_accum", 1);
        c.epochs = j.num("epochs", 1.0);
        c.steps = j.integer("steps", -1);
        c.lr = j.num("lr", c.mode == "lora" ? 2e-4 : 1e-3);
        c.min_lr_ratio = j.num("min_lr_ratio", 0.1);
        c.warmup = j.integer("warmup_steps", 0);
        c.weight_decay = j.num("weight_decay", c.mode == "lora" ? 0.0 : 0.1);
        c.beta1 = j.num("beta1", 0.9);
        c.beta2 = j.num("beta2", 0.95);
        c.eps = j.num("eps", 1e-8);
        c.grad_clip = j.num("grad_clip", 1.0);
        c.eval_every = j.integer("eval_every", 0);
        c.save_every = j.integer("save_every", 0);
        c.seed = (uint64_t) j.integer("seed", 42);
        c.threads = (int) j.integer("threads", 0);
        c.checkpointing = j.str("checkpointing", "auto");
        if (c.checkpointing != "auto" && c.checkpointing != "on" && c.checkpointing != "off") throw std::runtime_error("\"checkpointing\" must be auto, on or off");
        c.precision = j.str("precision", "f32");
        if (c.precision != "f32" && c.precision != "bf16" && c.precision != "auto") throw std::runtime_error("\"precision\" must be f32, bf16 or auto");
        std::string ot = j.str("out_type", "f32");
        if (ot == "f32") c.out_type = GGML_TYPE_F32;
        else if (ot == "f16") c.out_type = GGML_TYPE_F16;
        else throw std::runtime_error("\"out_type\" must be f32 or f16");
    } catch (const ForgeError &) {
        throw;
    } catch (const std::exception & e) {
        fail("BAD_CONFIG", e.what());
    }
    if (c.batch < 1) fail("BAD_CONFIG", "\"batch\" must be >= 1");
    if (!c.base.empty() && (c.out == c.base || c.out == c.train_path)) fail("BAD_CONFIG", "\"out\" must not overwrite the base model or the dataset");
    if (c.grad_accum < 1) fail("BAD_CONFIG", "\"grad_accum\" must be >= 1");
    if (!(c.lr > 0)) fail("BAD_CONFIG", "\"lr\" must be > 0");
    if (c.beta1 < 0 || c.beta1 >= 1 || c.beta2 < 0 || c.beta2 >= 1) fail("BAD_CONFIG", "\"beta1\"/\"beta2\" must be in [0, 1)");
    if (c.weight_decay < 0 || c.weight_decay * c.lr > 1) fail("BAD_CONFIG", "\"weight_decay\" out of range");
    if (c.min_lr_ratio < 0 || c.min_lr_ratio > 1) fail("BAD_CONFIG", "\"min_lr_ratio\" must be in [0, 1]");
    if (c.steps < 0 && !(c.epochs > 0)) fail("BAD_CONFIG", "give \"epochs\" > 0 or \"steps\" >= 0");
    Json canon;
    canon.kind = Json::OBJ;
    for (const char * k : {"mode", "base", "model", "lora", "batch", "grad_accum", "epochs", "steps", "lr", "min_lr_ratio",
                           "warmup_steps", "weight_decay", "beta1", "beta2", "eps", "grad_clip", "seed", "precision"}) {
        canon.o[k] = j[k];
    }
    c.canonical = dump(canon);
    return c;
}

HParams hparams_from_config(const TrainConfig & c) {
    HParams hp;
    const Json & m = c.model;
    try {
        hp.n_vocab = (int) m.integer("n_vocab");
        hp.n_embd = (int) m.integer("n_embd");
        hp.n_layer = (int) m.integer("n_layer");
        hp.n_head = (int) m.integer("n_head");
        hp.n_head_kv = (int) m.integer("n_head_kv", hp.n_head);
        hp.n_ff = (int) m.integer("n_ff");
        hp.n_ctx = (int) m.integer("n_ctx");
        hp.rope_theta = (float) m.num("rope_theta", 10000.0);
        hp.norm_eps = (float) m.num("norm_eps", 1e-5);
    } catch (const std::exception & e) {
        fail("BAD_CONFIG", std::string("model: ") + e.what());
    }
    if (hp.n_vocab < 2 || hp.n_embd < 1 || hp.n_layer < 1 || hp.n_head < 1 || hp.n_ff < 1 || hp.n_ctx < 2)
        fail("BAD_CONFIG", "model: all sizes must be positive");
    if (hp.n_embd % hp.n_head != 0) fail("BAD_CONFIG", "model: n_embd must be divisible by n_head");
    if (hp.n_head_kv < 1 || hp.n_head % hp.n_head_kv != 0) fail("BAD_CONFIG", "model: n_head must be divisible by n_head_kv");
    hp.head_dim = hp.n_embd / hp.n_head;
    if (hp.head_dim % 2 != 0) fail("BAD_CONFIG", "model: head size (n_embd/n_head) must be even for RoPE");
    if (c.tokenizer.kind == Json::OBJ) {
        const Json & toks = c.tokenizer["tokens"];
        if (toks.kind != Json::ARR) fail("BAD_CONFIG", "tokenizer.tokens must be an array");
        if ((int) toks.size() != hp.n_vocab)
            fail("BAD_CONFIG", "tokenizer has " + std::to_string(toks.size()) + " tokens but model.n_vocab is " + std::to_string(hp.n_vocab));
        if (!c.tokenizer.has("bos_id") || !c.tokenizer.has("eos_id")) fail("BAD_CONFIG", "tokenizer.bos_id and tokenizer.eos_id are required");
    }
    return hp;
}

void check_tokens(const Dataset & d, int n_vocab, const std::string & path) {
    for (int32_t t : d.tokens) {
        if (t < 0 || t >= n_vocab) fail("BAD_CONFIG", "dataset " + path + " has token id " + std::to_string(t) + " outside the vocabulary (n_vocab " + std::to_string(n_vocab) + ")");
    }
}

double lr_at(const TrainConfig & c, int64_t step, int64_t total) {
    if (step < c.warmup) return c.lr * (double) (step + 1) / (double) c.warmup;
    const double min_lr = c.lr * c.min_lr_ratio;
    const double span = (double) std::max<int64_t>(1, total - c.warmup);
    const double prog = std::min(1.0, (double) (step - c.warmup) / span);
    return min_lr + (c.lr - min_lr) * 0.5 * (1.0 + std::cos(M_PI * prog));
}

struct Run {
    TrainConfig c;
    Backends be;               // declared before the model: destroyed after it
    Model m;
    std::unique_ptr<GgufFile> base;
    std::unique_ptr<Engine> eng;
    Dataset train, eval;
    int64_t steps = 0;
    int64_t step = 0;          // completed optimizer steps
    double last_loss = NAN, last_eval = NAN;

    std::vector<OutTensor> model_tensors() {
        std::vector<OutTensor> out;
        for (ggml_tensor * t : m.weights) {
            ggml_type ty = ggml_n_dims(t) >= 2 ? c.out_type : GGML_TYPE_F32;
            out.push_back({t, ggml_get_name(t), ty});
        }
        return out;
    }

    void save_output() {
        if (c.mode == "lora") {
            save_lora_adapter(m, c.out, c.base, base.get(), c.name);
            return;
        }
        gguf_context * g = gguf_init_empty();
        const Json * tok = c.tokenizer.kind == Json::OBJ ? &c.tokenizer : nullptr;
        set_model_kv(g, m.hp, tok, base.get(), c.name, c.out_type);
        try {
            write_gguf(c.out, g, model_tensors());
        } catch (...) { gguf_free(g); throw; }
        gguf_free(g);
    }

    void save_checkpoint() {
        if (c.ckpt_dir.empty()) return;
        ensure_dir(c.ckpt_dir);
        gguf_context * g = gguf_init_empty();
        gguf_set_val_str(g, "general.architecture", "atelier-forge-checkpoint");
        gguf_set_val_str(g, "forge.mode", c.mode.c_str());
        gguf_set_val_u64(g, "forge.step", (uint64_t) step);
        gguf_set_val_u64(g, "forge.seed", c.seed);
        // Data position is derived from step (row order is a pure function of seed and epoch).
        gguf_set_val_u64(g, "forge.data_pos", (uint64_t) step * c.batch * c.grad_accum);
        gguf_set_val_str(g, "forge.config_hash", std::to_string(fnv1a(c.canonical)).c_str());
        std::vector<OutTensor> ts;
        for (ggml_tensor * p : eng->trainable) {
            ts.push_back({p, ggml_get_name(p), GGML_TYPE_F32});
            ts.push_back({eng->adam_m(p), ggml_get_name(eng->adam_m(p)), GGML_TYPE_F32});
            ts.push_back({eng->adam_v(p), ggml_get_name(eng->adam_v(p)), GGML_TYPE_F32});
        }
        const std::string path = c.ckpt_dir + "/ckpt.gguf";
        try {
            write_gguf(path, g, ts);
        } catch (...) { gguf_free(g); throw; }
        gguf_free(g);
        JsonLine meta;
        meta.add("step", (int64_t) step).add("steps", (int64_t) steps).add("loss", last_loss)
            .add("config_hash", std::to_string(fnv1a(c.canonical))).add("mode", c.mode).add("time", (int64_t) time(nullptr));
        write_text_atomic(c.ckpt_dir + "/ckpt.json", meta.str() + "\n");
        JsonLine().add("type", "checkpoint").add("step", (int64_t) step).add("path", path).emit();
    }

    bool try_resume() {
        if (!c.resume || c.ckpt_dir.empty()) return false;
        const std::string path = c.ckpt_dir + "/ckpt.gguf";
        if (!file_exists(path)) { logf("resume requested but no checkpoint in %s; starting fresh", c.ckpt_dir.c_str()); return false; }
        GgufFile f(path);
        std::string hash = f.get_str("forge.config_hash");
        if (hash != std::to_string(fnv1a(c.canonical)))
            fail("BAD_CONFIG", "checkpoint in " + c.ckpt_dir + " was made with different training settings; clear it or restore the settings to resume");
        step = f.get_int("forge.step", 0);
        std::vector<ggml_tensor *> ts;
        for (ggml_tensor * p : eng->trainable) {
            ts.push_back(p);
            ts.push_back(eng->adam_m(p));
            ts.push_back(eng->adam_v(p));
        }
        load_named(f, ts);
        logf("resumed from %s at step %lld", path.c_str(), (long long) step);
        return true;
    }

    double evaluate() {
        double sum = 0;
        int64_t n = 0;
        for (uint32_t r = 0; r < eval.n_rows; r += c.batch) {
            std::vector<int64_t> rows(c.batch, -1);
            for (int b = 0; b < c.batch && r + b < eval.n_rows; b++) rows[b] = r + b;
            MicroBatch mb = make_micro_batch(eval, rows);
            sum += eng->forward_sum(mb);
            n += (int64_t) mb.idx.size();
        }
        return n ? sum / n : NAN;
    }
};

} // namespace

int cmd_train(const std::string & config_path) {
    Json j;
    try {
        j = Json::parse(read_text_file(config_path));
    } catch (const ForgeError &) {
        throw;
    } catch (const std::exception & e) {
        fail("BAD_CONFIG", config_path + ": " + e.what());
    }
    Run R;
    R.c = parse_config(j);
    TrainConfig & c = R.c;
    const double t0 = now_seconds();

    // Model hyperparameters first: cheap, and most config errors surface here.
    HParams hp;
    if (c.mode == "scratch") hp = hparams_from_config(c);
    else {
        R.base.reset(new GgufFile(c.base));
        hp = hparams_from_gguf(*R.base);
    }
    R.train = load_atds(c.train_path);
    if (R.train.n_rows == 0 || R.train.n_targets == 0) fail("DATASET_TOO_SMALL", "training dataset " + c.train_path + " has no target tokens");
    const int T = R.train.seq_len();
    if (T > hp.n_ctx) fail("CONTEXT_TOO_LONG", "dataset sequences are " + std::to_string(T) + " tokens but the model context is " + std::to_string(hp.n_ctx));
    check_tokens(R.train, hp.n_vocab, c.train_path);
    if (!c.eval_path.empty()) {
        R.eval = load_atds(c.eval_path);
        if (R.eval.seq_len() != T) fail("BAD_CONFIG", "eval dataset row length differs from the training dataset");
        if (R.eval.n_targets == 0) { logf("eval dataset has no target tokens; skipping eval"); c.eval_path.clear(); }
        else check_tokens(R.eval, hp.n_vocab, c.eval_path);
    }
    const int64_t rows_per_step = (int64_t) c.batch * c.grad_accum;
    R.steps = c.steps >= 0 ? c.steps : (int64_t) std::ceil(c.epochs * R.train.n_rows / (double) rows_per_step);

    backends_init(R.be, c.threads);
    const bool lora = c.mode == "lora";
    // Static memory: weights (+ grads + 2 moments for every trainable float).
    std::map<std::string, ggml_type> types;
    if (lora) {
        // The frozen base stays in its storage type (F16, BF16, Q8_0, Q4_K, ...): forge's typed GEMM
        // (gemm.cpp) dequantises panels while packing. ggml's CPU OUT_PROD (the dx GEMM through frozen
        // weights, used when forge's kernels are off) has no BF16 path, so BF16 then becomes F32.
        types = R.base->tensor_types();
        if (!R.be.forge_gemm()) for (auto & kv : types) if (kv.second == GGML_TYPE_BF16) kv.second = GGML_TYPE_F32;
    }
    model_create(R.m, hp, GGML_TYPE_F32, lora ? &types : nullptr);
    if (R.base) check_tensors_understood(*R.base, R.m);
    uint64_t weight_bytes = 0;
    for (ggml_tensor * t : R.m.weights) weight_bytes += ggml_nbytes(t);
    uint64_t trainable_n = 0;
    std::vector<std::string> targets;
    int rank = 0;
    if (lora) {
        rank = (int) c.lora.integer("rank", 8);
        if (rank < 1) fail("BAD_CONFIG", "lora.rank must be >= 1");
        if (c.lora["targets"].kind == Json::ARR) for (const Json & t : c.lora["targets"].a) targets.push_back(t.s);
        if (targets.empty()) targets = {"attn_q", "attn_k", "attn_v", "attn_output"};
    }
    const uint64_t free0 = R.be.free_memory();
    if (!lora) trainable_n = (uint64_t) R.m.n_params();
    const uint64_t static_est = weight_bytes + trainable_n * 12;
    if (free0 && static_est > free0)
        fail("OUT_OF_MEMORY", "training needs about " + fmt_bytes(static_est) + " for weights and optimizer state but only " + fmt_bytes(free0) + " is available");

    model_alloc(R.m, R.be.main());
    if (c.mode == "scratch") model_init_random(R.m, c.seed);
    else load_weights(R.m, *R.base);
    if (lora) {
        float alpha = (float) c.lora.num("alpha", rank);
        float dropout = (float) c.lora.num("dropout", 0.0);
        if (dropout < 0 || dropout >= 1) fail("BAD_CONFIG", "lora.dropout must be in [0, 1)");
        lora_create(R.m, targets, rank, alpha, dropout, R.be.main());
        lora_init_random(R.m, c.seed);
    }
    // Precision: "auto" = bf16 where the matmuls can take BF16 operands (forge's CPU kernels on AVX512-BF16,
    // or a GPU), else f32. An explicit "bf16" the hardware cannot do is refused before any work.
    const bool cpu_bf16 = R.be.forge_gemm() && forge_bf16_available();
    const bool can_bf16 = cpu_bf16 || R.be.gpu;
    if (c.precision == "bf16" && !can_bf16)
        fail("BAD_CONFIG", "precision bf16 needs a CPU with AVX512-BF16 (this one lacks it) or a CUDA GPU; use \"f32\" or \"auto\"");
    const std::string precision = c.precision == "auto" ? (can_bf16 ? "bf16" : "f32") : c.precision;
    // CUDA: ggml's matmuls take the weights as BF16 copies made in the graph (F32 masters and gradients,
    // activations F32, so no loss scaling is needed). Prepared, not run on a GPU here.
    if (R.be.gpu && precision == "bf16") R.m.mm_cast = GGML_TYPE_BF16;
    R.be.make_sched(graph_size_for(hp, lora) * 2);
    R.eng.reset(new Engine(R.be, R.m, c.batch, T, true));
    R.eng->bf16 = cpu_bf16 && precision == "bf16";
    trainable_n = 0;
    for (ggml_tensor * p : R.eng->trainable) trainable_n += ggml_nelements(p);
    // Memory: what is resident now (process, libraries, dataset, weights) + gradients/moments + the largest
    // compute buffer + the host one-hot label buffer. Checkpointing ("auto") turns on when the one-graph
    // step would not fit in 85% of the free memory, or when its [V, B·T] logits alone pass 512 MiB.
    const uint64_t free1 = R.be.free_memory();
    const uint64_t resident = current_rss_bytes();
    const int64_t V = hp.n_vocab;
    // still to come on top of what is resident (weights, gradients and moments are allocated and touched by now)
    auto to_come = [&](uint64_t compute) {
        const uint64_t labels = (uint64_t) V * (R.eng->checkpointing() ? (uint64_t) R.eng->head_rows() : (uint64_t) c.batch * T) * 4;
        return R.eng->checkpoint_bytes() + compute + labels + R.eng->graph_bytes_estimate();
    };
    auto estimate = [&](uint64_t compute) { return resident + to_come(compute) + (R.be.gpu ? weight_bytes : 0); };
    uint64_t compute = 0;
    if (c.checkpointing != "on") compute = R.eng->measure_compute_bytes();
    const bool big_head = (uint64_t) V * c.batch * T * 4 > (512ull << 20);
    if (c.checkpointing == "on" || (c.checkpointing == "auto" && ((free1 && to_come(compute) > free1 * 0.85) || big_head))) {
        const uint64_t one_graph = compute;
        R.eng->enable_checkpointing();
        compute = R.eng->measure_compute_bytes();
        if (one_graph) logf("activation checkpointing on: compute buffer %s instead of %s", fmt_bytes(compute).c_str(), fmt_bytes(one_graph).c_str());
    }
    const uint64_t mem = estimate(compute);
    if (free1 && to_come(compute) > free1) {
        const uint64_t need = to_come(compute) + (mem - to_come(compute)), have = free1 + (mem - to_come(compute));
        const std::string hint = R.eng->checkpointing() ? "a shorter sequence, a smaller batch" : "\"checkpointing\": \"on\", a shorter sequence, a smaller batch";
        fail("OUT_OF_MEMORY", "training needs about " + fmt_bytes(need) + " (weights, optimizer state, activations for batch " + std::to_string(c.batch) + " x " +
             std::to_string(T) + " tokens) but " + fmt_bytes(have) + " is available: short by " + fmt_bytes(need - have) + "; try " + hint +
             (lora ? ", or a quantized base" : ", LoRA instead of a full fine-tune, or a quantized base"));
    }
    R.eng->reserve();

    R.try_resume();
    JsonLine().add("type", "start").add("mode", c.mode).add("params", (int64_t) R.m.n_params()).add("trainable", (int64_t) trainable_n)
        .add("tokens_per_step", (int64_t) rows_per_step * T).add("steps", R.steps).add("mem_estimate_bytes", (int64_t) mem)
        .add("backend", R.be.name).add("threads", R.be.threads).add("gemm", R.eng->fast_gemm ? forge_sgemm_kernel() : "ggml")
        .add("precision", precision).add("checkpointing", R.eng->checkpointing()).add("start_step", R.step).emit();

    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    // Test hook: stop after this optimizer step exactly as SIGTERM would (checkpoint + output), so a test can
    // read the weights after every step of one schedule (resume continues bit-exactly).
    const char * stop_env = getenv("ATELIER_FORGE_STOP_AFTER");
    const int64_t stop_after = stop_env && *stop_env ? std::atoll(stop_env) : 0;
    RowOrder order(R.train.n_rows, c.seed, true);
    const double loop_t0 = now_seconds();
    const int64_t first_step = R.step;
    double tok_done = 0;
    bool stopped = false;
    while (R.step < R.steps) {
        const double st0 = now_seconds();
        std::vector<MicroBatch> mbs;
        int64_t step_targets = 0;
        for (int a = 0; a < c.grad_accum; a++) {
            std::vector<int64_t> rows(c.batch);
            for (int b = 0; b < c.batch; b++) rows[b] = order.row_at((uint64_t) R.step * rows_per_step + (uint64_t) a * c.batch + b);
            mbs.push_back(make_micro_batch(R.train, rows));
            step_targets += (int64_t) mbs.back().idx.size();
        }
        double loss_sum = 0;
        if (step_targets > 0) {
            for (int a = 0; a < c.grad_accum; a++) {
                uint64_t ds = c.seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t) R.step * 131 + a);
                loss_sum += R.eng->accumulate(mbs[a], step_targets, ds);
            }
        }
        const double lr = lr_at(c, R.step, R.steps);
        double gnorm = 0;
        if (step_targets > 0) {
            gnorm = R.eng->grad_norm();
            float clip = 1.0f;
            if (c.grad_clip > 0 && gnorm > c.grad_clip) clip = (float) (c.grad_clip / (gnorm + 1e-6));
            if (!std::isfinite(gnorm)) fail("OUT_OF_MEMORY", "gradient became non-finite (NaN/Inf) at step " + std::to_string(R.step + 1) + "; lower the learning rate");
            R.eng->optimizer_step({(float) lr, (float) c.beta1, (float) c.beta2, (float) c.eps, (float) c.weight_decay, R.step + 1}, clip);
            R.eng->zero_grads();
        }
        R.step++;
        R.last_loss = step_targets ? loss_sum / step_targets : NAN;
        tok_done += (double) rows_per_step * T;
        const double elapsed = now_seconds() - loop_t0;
        const double per_step = elapsed / (double) (R.step - first_step);
        JsonLine line;
        line.add("type", "step").add("step", R.step).add("steps", R.steps)
            .add("epoch", (double) R.step * rows_per_step / R.train.n_rows).add("loss", R.last_loss).add("lr", lr)
            .add("tok_s", tok_done / std::max(elapsed, 1e-9)).add("eta_s", per_step * (R.steps - R.step)).add("grad_norm", gnorm)
            .add("step_s", now_seconds() - st0);
        const bool do_eval = !c.eval_path.empty() && ((c.eval_every > 0 && R.step % c.eval_every == 0) || R.step == R.steps);
        if (do_eval) {
            R.last_eval = R.evaluate();
            line.add("eval_loss", R.last_eval).add("eval_ppl", std::exp(R.last_eval));
        }
        line.emit();
        if (g_stop || (stop_after > 0 && R.step >= stop_after)) { stopped = true; break; }
        if (c.save_every > 0 && R.step % c.save_every == 0 && R.step < R.steps) R.save_checkpoint();
    }
    R.save_checkpoint();
    R.save_output();
    JsonLine done;
    done.add("type", stopped ? "stopped" : "done").add("out", c.out).add("steps", R.step).add("train_loss", R.last_loss);
    if (!c.eval_path.empty()) {
        if (std::isnan(R.last_eval)) R.last_eval = R.evaluate();
        done.add("eval_loss", R.last_eval).add("eval_ppl", std::exp(R.last_eval));
    }
    done.add("seconds", now_seconds() - t0).add("peak_rss_bytes", (int64_t) peak_rss_bytes());
    done.emit();
    return 0;
}
