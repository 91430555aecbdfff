// `atelier-forge synth`: writes a llama-architecture GGUF of any shape with random weights, quantized row block
// by row block straight to disk, so an 8B Llama-3-shaped Q4_K_M file (~4.9 GB) is made without ever holding an
// F32 copy of a tensor (peak memory: one block of rows per worker). For memory and speed benchmarks only: the
// weights are N(0, 0.02)-like noise (residual writers scaled by 1/√(2·n_layer)), norms 1, and the vocabulary is
// placeholder tokens. Q4_K_M uses llama.cpp's mix for that file type: Q6_K for output.weight and for attn_v /
// ffn_down in the "more bits" layers (first and last eighth, every third in between), Q4_K elsewhere.
#include "commands.h"
#include "common.h"
#include "dataset.h"
#include "gemm.h"
#include "gguf_io.h"
#include "json.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <unistd.h>

namespace {

int arg_i(const std::map<std::string, std::string> & a, const char * k, int def) {
    auto it = a.find(k);
    return it == a.end() ? def : std::atoi(it->second.c_str());
}

bool more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

struct Fill {
    const std::string * name;
    ggml_type type;
    int64_t ne0, rows;
    float std;
    uint64_t seed;
    int64_t r0, r1;    // rows of this block
    uint8_t * out;     // quantized rows
};

void fill_rows(int task, void * ctx) {
    const Fill & f = ((const Fill *) ctx)[task];
    std::vector<float> row(f.ne0);
    const size_t rb = ggml_row_size(f.type, f.ne0);
    for (int64_t r = f.r0; r < f.r1; r++) {
        uint64_t st = f.seed ^ (uint64_t) r * 0x9E3779B97F4A7C15ull;
        // sum of 4 uniforms: cheap, roughly normal, std = sqrt(4/12) · scale
        for (int64_t i = 0; i < f.ne0; i++) {
            const uint64_t z = splitmix64(st);
            const double u = ((z & 0xffff) + ((z >> 16) & 0xffff) + ((z >> 32) & 0xffff) + ((z >> 48) & 0xffff)) / 65536.0 - 2.0;
            row[i] = (float) (u * f.std * 1.7320508);
        }
        if (f.type == GGML_TYPE_F32) memcpy(f.out + (r - f.r0) * rb, row.data(), rb);
        else ggml_quantize_chunk(f.type, row.data(), f.out + (r - f.r0) * rb, 0, 1, f.ne0, nullptr);
    }
}

} // namespace

int cmd_synth(const std::map<std::string, std::string> & args) {
    auto need = [&](const char * k) -> std::string {
        auto it = args.find(k);
        if (it == args.end()) fail("BAD_CONFIG", std::string("missing --") + k);
        return it->second;
    };
    const std::string out = need("out"), qtype = args.count("type") ? args.at("type") : "q4_k_m";
    const int E = arg_i(args, "embd", 4096), L = arg_i(args, "layers", 32), H = arg_i(args, "heads", 32), Hk = arg_i(args, "kv-heads", 8);
    const int F = arg_i(args, "ff", 14336), V = arg_i(args, "vocab", 128256), ctx_len = arg_i(args, "ctx", 8192);
    const uint64_t seed = (uint64_t) arg_i(args, "seed", 1);
    const bool rope_freqs = !args.count("no-rope-freqs");
    if (E <= 0 || L <= 0 || H <= 0 || Hk <= 0 || H % Hk || E % H || F <= 0 || V <= 0) fail("BAD_CONFIG", "synth: invalid shape");
    ggml_type base;
    if (qtype == "q4_k_m") base = GGML_TYPE_Q4_K;
    else if (qtype == "q8_0") base = GGML_TYPE_Q8_0;
    else if (qtype == "f16") base = GGML_TYPE_F16;
    else if (qtype == "f32") base = GGML_TYPE_F32;
    else fail("BAD_CONFIG", "--type must be q4_k_m, q8_0, f16 or f32");
    const int hd = E / H;
    forge_pool_init(std::max(1, arg_i(args, "threads", 2)));

    struct T { std::string name; int64_t ne0, ne1; ggml_type type; float std; };
    std::vector<T> ts;
    auto mat = [&](const std::string & n, int64_t ne0, int64_t ne1, ggml_type t, float sd) {
        if (ne0 % ggml_blck_size(t)) t = GGML_TYPE_F16; // rows that do not split into blocks
        ts.push_back({n, ne0, ne1, t, sd});
    };
    const float resid = 0.02f / std::sqrt(2.0f * L);
    mat("token_embd.weight", E, V, base, 0.02f);
    if (rope_freqs) ts.push_back({"rope_freqs.weight", hd / 2, 1, GGML_TYPE_F32, 0});
    for (int l = 0; l < L; l++) {
        const std::string p = "blk." + std::to_string(l) + ".";
        const ggml_type more = qtype == "q4_k_m" && more_bits(l, L) ? GGML_TYPE_Q6_K : base;
        ts.push_back({p + "attn_norm.weight", E, 1, GGML_TYPE_F32, 0});
        mat(p + "attn_q.weight", E, (int64_t) H * hd, base, 0.02f);
        mat(p + "attn_k.weight", E, (int64_t) Hk * hd, base, 0.02f);
        mat(p + "attn_v.weight", E, (int64_t) Hk * hd, more, 0.02f);
        mat(p + "attn_output.weight", (int64_t) H * hd, E, base, resid);
        ts.push_back({p + "ffn_norm.weight", E, 1, GGML_TYPE_F32, 0});
        mat(p + "ffn_gate.weight", E, F, base, 0.02f);
        mat(p + "ffn_up.weight", E, F, base, 0.02f);
        mat(p + "ffn_down.weight", F, E, more, resid);
    }
    ts.push_back({"output_norm.weight", E, 1, GGML_TYPE_F32, 0});
    mat("output.weight", E, V, qtype == "q4_k_m" ? GGML_TYPE_Q6_K : base, 0.02f);

    gguf_context * g = gguf_init_empty();
    gguf_set_val_str(g, "general.architecture", "llama");
    gguf_set_val_str(g, "general.name", "forge synthetic benchmark model");
    gguf_set_val_u32(g, "llama.context_length", ctx_len);
    gguf_set_val_u32(g, "llama.embedding_length", E);
    gguf_set_val_u32(g, "llama.block_count", L);
    gguf_set_val_u32(g, "llama.feed_forward_length", F);
    gguf_set_val_u32(g, "llama.attention.head_count", H);
    gguf_set_val_u32(g, "llama.attention.head_count_kv", Hk);
    gguf_set_val_u32(g, "llama.rope.dimension_count", hd);
    gguf_set_val_f32(g, "llama.rope.freq_base", 500000.0f);
    gguf_set_val_f32(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gguf_set_val_u32(g, "llama.vocab_size", V);
    {
        std::vector<std::string> toks(V);
        std::vector<const char *> ptrs(V);
        std::vector<int32_t> types(V, 1);
        for (int i = 0; i < V; i++) { toks[i] = "<t" + std::to_string(i) + ">"; ptrs[i] = toks[i].c_str(); }
        gguf_set_val_str(g, "tokenizer.ggml.model", "gpt2");
        gguf_set_val_str(g, "tokenizer.ggml.pre", "gpt-2");
        gguf_set_arr_str(g, "tokenizer.ggml.tokens", ptrs.data(), ptrs.size());
        gguf_set_arr_data(g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types.data(), types.size());
        gguf_set_arr_str(g, "tokenizer.ggml.merges", ptrs.data(), 0);
        gguf_set_val_u32(g, "tokenizer.ggml.bos_token_id", 0);
        gguf_set_val_u32(g, "tokenizer.ggml.eos_token_id", 1);
    }
    ggml_init_params ip = {(ts.size() + 1) * ggml_tensor_overhead(), nullptr, true};
    ggml_context * mctx = ggml_init(ip);
    for (const T & t : ts) {
        ggml_tensor * x = t.ne1 > 1 ? ggml_new_tensor_2d(mctx, t.type, t.ne0, t.ne1) : ggml_new_tensor_1d(mctx, t.type, t.ne0);
        ggml_set_name(x, t.name.c_str());
        gguf_add_tensor(g, x);
    }
    const std::string tmp = tmp_path_for(out);
    FILE * fp = fopen(tmp.c_str(), "wb");
    if (!fp) fail("IO", "cannot write " + tmp + ": " + strerror(errno));
    bool ok = gguf_write_to_file_ptr(g, fp, true);
    const size_t align = gguf_get_alignment(g);
    uint64_t total = 0;
    const int nthreads = forge_pool_size();
    for (size_t ti = 0; ti < ts.size() && ok; ti++) {
        const T & t = ts[ti];
        const size_t rb = ggml_row_size(t.type, t.ne0);
        if (t.ne1 == 1 && t.std == 0) {
            // norms 1; llama3 rope factors: 1 for high frequencies, up to 8 for the lowest (the Llama 3.1 curve's ends)
            std::vector<float> v(t.ne0, 1.0f);
            if (t.name == "rope_freqs.weight") for (int64_t i = 0; i < t.ne0; i++) v[i] = i < t.ne0 / 2 ? 1.0f : 1.0f + 7.0f * (float) (i - t.ne0 / 2) / (float) (t.ne0 / 2);
            ok = fwrite(v.data(), 4, v.size(), fp) == v.size();
        } else {
            const int64_t block = std::max<int64_t>(1, (64ll << 20) / (int64_t) (t.ne0 * 4) / nthreads); // ~64 MiB of F32 rows per round
            std::vector<uint8_t> buf(rb * block * nthreads);
            for (int64_t r = 0; r < t.ne1 && ok; r += block * nthreads) {
                std::vector<Fill> fills;
                for (int k = 0; k < nthreads; k++) {
                    const int64_t a = r + k * block, b = std::min<int64_t>(t.ne1, a + block);
                    if (a >= b) break;
                    fills.push_back({&t.name, t.type, t.ne0, t.ne1, t.std, seed * 1000003ull + ti, a, b, buf.data() + (a - r) * rb});
                }
                forge_pool_run((int) fills.size(), fill_rows, fills.data());
                const size_t n = rb * (std::min<int64_t>(t.ne1, r + block * nthreads) - r);
                ok = fwrite(buf.data(), 1, n, fp) == n;
            }
        }
        const size_t nbytes = rb * t.ne1;
        total += nbytes;
        static const uint8_t zeros[64] = {0};
        size_t pad = GGML_PAD(nbytes, align) - nbytes;
        while (ok && pad) { const size_t k = std::min(pad, sizeof zeros); ok = fwrite(zeros, 1, k, fp) == k; pad -= k; }
    }
    ok = ok && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    fclose(fp);
    ggml_free(mctx);
    gguf_free(g);
    if (!ok) { unlink(tmp.c_str()); fail("IO", "cannot write " + out + " (disk full?)"); }
    commit_tmp(tmp, out);
    JsonLine().add("type", "synth").add("out", out).add("tensor_bytes", (int64_t) total).add("peak_rss_bytes", (int64_t) peak_rss_bytes()).emit();
    return 0;
}
