// atelier-forge: CLI entry. stdout carries one JSON object per line; logs go to stderr.
#include "commands.h"
#include "common.h"
#include "engine.h"
#include "gguf_io.h"
#include "json.h"

#include "llama.h"

#include <cmath>
#include <cstring>
#include <new>

static std::string arg(const std::map<std::string, std::string> & a, const std::string & k, const std::string & def = "\x01") {
    auto it = a.find(k);
    if (it != a.end()) return it->second;
    if (def == "\x01") fail("BAD_CONFIG", "missing --" + k);
    return def;
}

static int arg_int(const std::map<std::string, std::string> & a, const std::string & k, int def) {
    auto it = a.find(k);
    if (it == a.end()) return def;
    char * end = nullptr;
    long v = strtol(it->second.c_str(), &end, 10);
    if (!end || *end) fail("BAD_CONFIG", "--" + k + " must be an integer");
    return (int) v;
}

// Load a model for forward/backward use. f32_master: dequantise everything to F32
// (needed for gradients); otherwise keep the file's storage types (eval parity with llama.cpp).
static HParams open_model(Model & m, Backends & be, const GgufFile & f, bool f32_master) {
    HParams hp = hparams_from_gguf(f);
    std::map<std::string, ggml_type> types = f.tensor_types();
    model_create(m, hp, GGML_TYPE_F32, f32_master ? nullptr : &types);
    check_tensors_understood(f, m);
    model_alloc(m, be.main());
    load_weights(m, f);
    return hp;
}

int cmd_eval(const std::map<std::string, std::string> & args) {
    Backends be;
    backends_init(be, arg_int(args, "threads", 0));
    GgufFile f(arg(args, "model"));
    Model m;
    HParams hp = open_model(m, be, f, false);
    if (args.count("lora")) load_lora_adapter(m, args.at("lora"), be.main());
    Dataset d = load_atds(arg(args, "data"));
    if (d.n_targets == 0) fail("DATASET_TOO_SMALL", "eval dataset has no target tokens");
    if (d.seq_len() > hp.n_ctx) fail("CONTEXT_TOO_LONG", "dataset sequences are " + std::to_string(d.seq_len()) + " tokens but the model context is " + std::to_string(hp.n_ctx));
    for (int32_t t : d.tokens) if (t < 0 || t >= hp.n_vocab) fail("BAD_CONFIG", "dataset token id " + std::to_string(t) + " is outside the vocabulary");
    const int B = std::max(1, std::min<int>(arg_int(args, "batch", 4), (int) d.n_rows));
    be.make_sched(graph_size_for(hp, !m.lora.empty()) * 2);
    Engine eng(be, m, B, d.seq_len(), false);
    // a large vocabulary: the head runs over chunks of target rows instead of [V, B·T] logits at once
    if ((int64_t) hp.n_vocab * B * d.seq_len() * 4 > (512ll << 20)) eng.enable_checkpointing();
    eng.reserve(); // size the compute buffer for the largest bucket once
    double sum = 0;
    int64_t n = 0;
    for (uint32_t r = 0; r < d.n_rows; r += B) {
        std::vector<int64_t> rows(B, -1);
        for (int b = 0; b < B && r + b < d.n_rows; b++) rows[b] = r + b;
        MicroBatch mb = make_micro_batch(d, rows);
        sum += eng.forward_sum(mb);
        n += (int64_t) mb.idx.size();
    }
    const double loss = sum / (double) n;
    JsonLine().add("type", "eval").add("loss", loss).add("ppl", std::exp(loss)).add("tokens", n).emit();
    return 0;
}

int cmd_grads(const std::map<std::string, std::string> & args) {
    Backends be;
    backends_init(be, arg_int(args, "threads", 0));
    GgufFile f(arg(args, "model"));
    Model m;
    // --lora: gradients of the adapter's A/B over the frozen base (kept in its storage type, as in training);
    // otherwise every weight as an F32 master.
    const bool lora = args.count("lora") > 0;
    HParams hp = open_model(m, be, f, !lora);
    if (lora) load_lora_adapter(m, args.at("lora"), be.main());
    Dataset d = load_atds(arg(args, "data"));
    if (d.n_targets == 0) fail("DATASET_TOO_SMALL", "dataset has no target tokens");
    const int B = std::max(1, std::min<int>(arg_int(args, "batch", (int) d.n_rows), (int) d.n_rows));
    be.make_sched(graph_size_for(hp, lora) * 2);
    Engine eng(be, m, B, d.seq_len(), true);
    std::vector<int64_t> rows(B);
    for (int b = 0; b < B; b++) rows[b] = b;
    MicroBatch mb = make_micro_batch(d, rows);
    if (mb.idx.empty()) fail("DATASET_TOO_SMALL", "the selected rows have no target tokens");
    const double sum = eng.accumulate(mb, (int64_t) mb.idx.size(), 0);
    const std::string out = arg(args, "out");
    std::string js = "{\"loss\":" + json_num(sum / mb.idx.size()) + ",\"targets\":" + std::to_string(mb.idx.size()) + ",\"grads\":{";
    bool first = true;
    std::vector<float> g;
    for (ggml_tensor * p : eng.trainable) {
        g.resize(ggml_nelements(p));
        ggml_backend_tensor_get(eng.grad(p), g.data(), 0, g.size() * 4);
        js += std::string(first ? "" : ",") + json_escape(ggml_get_name(p)) + ":[";
        for (size_t i = 0; i < g.size(); i++) {
            char b[32];
            snprintf(b, sizeof b, "%s%.9g", i ? "," : "", g[i]);
            js += b;
        }
        js += "]";
        first = false;
    }
    js += "}}";
    write_text_atomic(out, js);
    JsonLine().add("type", "grads").add("out", out).add("loss", sum / mb.idx.size()).add("targets", (int64_t) mb.idx.size()).emit();
    return 0;
}

int cmd_quantize(const std::map<std::string, std::string> & args) {
    const std::string in = arg(args, "in"), out = arg(args, "out"), type = arg(args, "type");
    llama_ftype ft;
    if (type == "q8_0") ft = LLAMA_FTYPE_MOSTLY_Q8_0;
    else if (type == "q4_k_m") ft = LLAMA_FTYPE_MOSTLY_Q4_K_M;
    else if (type == "f16") ft = LLAMA_FTYPE_MOSTLY_F16;
    else if (type == "bf16") ft = LLAMA_FTYPE_MOSTLY_BF16;
    else fail("BAD_CONFIG", "--type must be q8_0, q4_k_m, f16 or bf16");
    { GgufFile check(in); hparams_from_gguf(check); }
    Backends be;
    backends_init(be, arg_int(args, "threads", 0));
    llama_model_quantize_params qp = llama_model_quantize_default_params();
    qp.ftype = ft;
    qp.nthread = be.threads;
    const std::string tmp = tmp_path_for(out);
    if (llama_model_quantize(in.c_str(), tmp.c_str(), &qp) != 0) {
        remove(tmp.c_str());
        fail("IO", "quantization of " + in + " failed");
    }
    commit_tmp(tmp, out);
    JsonLine().add("type", "quantized").add("out", out).add("quant", type).emit();
    return 0;
}

static void on_ggml_abort(const char * msg) {
    // A failed ggml assertion would otherwise kill us with nothing on stdout.
    JsonLine().add("type", "error").add("code", "IO").add("message", std::string("internal error: ") + msg).emit();
}

static void usage() {
    fprintf(stderr,
            "usage:\n"
            "  atelier-forge train --config run.json\n"
            "  atelier-forge eval --model m.gguf [--lora a.gguf] --data d.atds [--threads N] [--batch N]\n"
            "  atelier-forge grads --model m.gguf [--lora a.gguf] --data d.atds --out g.json [--batch N]\n"
            "  atelier-forge merge --base m.gguf --lora a.gguf --out merged.gguf [--type f32|f16]\n"
            "  atelier-forge quantize --in m.gguf --out q.gguf --type q8_0|q4_k_m|f16|bf16\n"
            "  atelier-forge selftest [--threads N]      kernels vs naive loops (JSON line per check)\n"
            "  atelier-forge synth --out m.gguf [--type q4_k_m|q8_0|f16|f32] [--embd 4096 --layers 32 --heads 32 --kv-heads 8\n"
            "                      --ff 14336 --vocab 128256 --ctx 8192] [--no-rope-freqs] [--threads N]   random-weight llama (benchmarks)\n"
            "  atelier-forge version\n");
}

int main(int argc, char ** argv) {
    ggml_set_abort_callback(on_ggml_abort);
    if (argc < 2) { usage(); return 2; }
    const std::string cmd = argv[1];
    std::map<std::string, std::string> args;
    for (int i = 2; i < argc; i++) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0) { usage(); return 2; }
        std::string v = i + 1 < argc ? argv[i + 1] : "";
        if (!v.empty() && v.rfind("--", 0) != 0) i++;
        else v = "true";
        args[a.substr(2)] = v;
    }
    try {
        if (cmd == "train") return cmd_train(arg(args, "config"));
        if (cmd == "eval") return cmd_eval(args);
        if (cmd == "grads") return cmd_grads(args);
        if (cmd == "merge") return cmd_merge(args);
        if (cmd == "quantize") return cmd_quantize(args);
        if (cmd == "selftest") return cmd_selftest(args);
        if (cmd == "synth") return cmd_synth(args);
        if (cmd == "version") { JsonLine().add("type", "version").add("version", "1").emit(); return 0; }
        usage();
        return 2;
    } catch (const ForgeError & e) {
        JsonLine().add("type", "error").add("code", e.code).add("message", e.what()).emit();
        return 1;
    } catch (const std::bad_alloc &) {
        JsonLine().add("type", "error").add("code", "OUT_OF_MEMORY").add("message", "out of memory").emit();
        return 1;
    } catch (const std::exception & e) {
        JsonLine().add("type", "error").add("code", "IO").add("message", e.what()).emit();
        return 1;
    }
}
