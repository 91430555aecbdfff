// GGUF I/O (gguf_io.h): reads each supported architecture's hyperparameters the way llama.cpp does and refuses
// what forge does not implement, checks every tensor is one the graph uses, reads tensors converted to the
// storage type wanted (dequantised row by row), and writes models, adapters and checkpoints atomically.
#include "gguf_io.h"
#include "common.h"

#include "ggml-backend.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <unistd.h>

GgufFile::GgufFile(const std::string & p) : path(p) {
    if (!file_exists(p)) fail("IO", "model file not found: " + p);
    gguf_init_params ip = { /*no_alloc*/ true, /*ctx*/ nullptr };
    ctx = gguf_init_from_file(p.c_str(), ip);
    if (!ctx) fail("BAD_GGUF", p + " is not a valid GGUF file (header or metadata unreadable)");
}

GgufFile::~GgufFile() {
    if (ctx) gguf_free(ctx);
}

std::string GgufFile::get_str(const std::string & k, const std::string & def) const {
    int64_t id = key(k);
    if (id < 0) return def;
    if (gguf_get_kv_type(ctx, id) != GGUF_TYPE_STRING) fail("BAD_GGUF", path + ": " + k + " is not a string");
    return gguf_get_val_str(ctx, id);
}

int64_t GgufFile::get_int(const std::string & k, int64_t def) const {
    int64_t id = key(k);
    if (id < 0) return def;
    switch (gguf_get_kv_type(ctx, id)) {
        case GGUF_TYPE_UINT8: return gguf_get_val_u8(ctx, id);
        case GGUF_TYPE_INT8: return gguf_get_val_i8(ctx, id);
        case GGUF_TYPE_UINT16: return gguf_get_val_u16(ctx, id);
        case GGUF_TYPE_INT16: return gguf_get_val_i16(ctx, id);
        case GGUF_TYPE_UINT32: return gguf_get_val_u32(ctx, id);
        case GGUF_TYPE_INT32: return gguf_get_val_i32(ctx, id);
        case GGUF_TYPE_UINT64: return (int64_t) gguf_get_val_u64(ctx, id);
        case GGUF_TYPE_INT64: return gguf_get_val_i64(ctx, id);
        case GGUF_TYPE_ARRAY:
            fail("UNSUPPORTED_ARCH", path + ": per-layer values for " + k + " are not supported");
        default: fail("BAD_GGUF", path + ": " + k + " is not an integer");
    }
}

double GgufFile::get_float(const std::string & k, double def) const {
    int64_t id = key(k);
    if (id < 0) return def;
    switch (gguf_get_kv_type(ctx, id)) {
        case GGUF_TYPE_FLOAT32: return gguf_get_val_f32(ctx, id);
        case GGUF_TYPE_FLOAT64: return gguf_get_val_f64(ctx, id);
        default: return (double) get_int(k, 0);
    }
}

std::map<std::string, ggml_type> GgufFile::tensor_types() const {
    std::map<std::string, ggml_type> out;
    for (int64_t i = 0; i < gguf_get_n_tensors(ctx); i++) out[gguf_get_tensor_name(ctx, i)] = gguf_get_tensor_type(ctx, i);
    return out;
}

static void convert_row_data(const void * src, ggml_type st, void * dst, ggml_type dt, int64_t n) {
    if (st == dt) { memcpy(dst, src, ggml_row_size(st, n)); return; }
    std::vector<float> tmp;
    const float * f = (const float *) src;
    if (st != GGML_TYPE_F32) {
        const ggml_type_traits * tr = ggml_get_type_traits(st);
        if (!tr->to_float) fail("BAD_GGUF", std::string("cannot dequantize tensor type ") + ggml_type_name(st));
        tmp.resize(n);
        tr->to_float(src, tmp.data(), n);
        f = tmp.data();
    }
    if (dt == GGML_TYPE_F32) { memcpy(dst, f, n * 4); return; }
    if (dt == GGML_TYPE_F16) { ggml_fp32_to_fp16_row(f, (ggml_fp16_t *) dst, n); return; }
    if (dt == GGML_TYPE_BF16) { ggml_fp32_to_bf16_row(f, (ggml_bf16_t *) dst, n); return; }
    ggml_quantize_chunk(dt, f, dst, 0, 1, n, nullptr);
}

void GgufFile::read_tensor(const std::string & name, ggml_type dst, std::vector<uint8_t> & out, const int64_t * expect_ne) const {
    int64_t id = gguf_find_tensor(ctx, name.c_str());
    if (id < 0) fail("BAD_GGUF", path + ": tensor " + name + " is missing");
    const int64_t * ne = gguf_get_tensor_ne(ctx, id);
    if (expect_ne) {
        for (int d = 0; d < 4; d++) {
            if (ne[d] != expect_ne[d]) {
                fail("BAD_GGUF", path + ": tensor " + name + " has shape [" + std::to_string(ne[0]) + "," + std::to_string(ne[1]) +
                     "], expected [" + std::to_string(expect_ne[0]) + "," + std::to_string(expect_ne[1]) + "]");
            }
        }
    }
    ggml_type st = gguf_get_tensor_type(ctx, id);
    size_t nbytes = gguf_get_tensor_size(ctx, id);
    size_t off = gguf_get_data_offset(ctx) + gguf_get_tensor_offset(ctx, id);
    std::vector<uint8_t> raw(nbytes);
    FILE * f = fopen(path.c_str(), "rb");
    if (!f) fail("IO", "cannot open " + path + ": " + strerror(errno));
    bool ok = fseeko(f, (off_t) off, SEEK_SET) == 0 && fread(raw.data(), 1, nbytes, f) == nbytes;
    fclose(f);
    if (!ok) fail("BAD_GGUF", path + ": tensor data for " + name + " is truncated");
    int64_t n = ne[0] * ne[1] * ne[2] * ne[3];
    if (st == dst) { out.swap(raw); return; }
    out.resize(ggml_row_size(dst, ne[0]) * (n / ne[0]));
    const int64_t rows = n / ne[0];
    const size_t srow = ggml_row_size(st, ne[0]), drow = ggml_row_size(dst, ne[0]);
    for (int64_t r = 0; r < rows; r++) convert_row_data(raw.data() + r * srow, st, out.data() + r * drow, dst, ne[0]);
}

// Architectures forge trains, and how llama.cpp (the bundled version) builds each one. Anything outside
// this list, or a feature of a listed arch that forge does not implement, is refused with UNSUPPORTED_ARCH
// naming it, before any weights are read: a model is never trained on a graph that differs from serving.
static const char * const SUPPORTED = "llama (incl. Llama 3.x, Mistral), mistral3, qwen2, qwen3, gemma, gemma2, gemma3, phi3, smollm3, granite";

HParams hparams_from_gguf(const GgufFile & f) {
    HParams hp;
    hp.arch = f.get_str("general.architecture");
    const std::string & A = hp.arch;
    const bool gemma = A == "gemma" || A == "gemma2" || A == "gemma3";
    if (A != "llama" && A != "mistral3" && A != "qwen2" && A != "qwen3" && !gemma && A != "phi3" && A != "smollm3" && A != "granite") {
        fail("UNSUPPORTED_ARCH", "architecture \"" + A + "\" is not supported (supported: " + SUPPORTED + ")");
    }
    const std::string a = A + ".";
    auto unsupported = [&](const std::string & what) { fail("UNSUPPORTED_ARCH", A + " model " + f.path + ": " + what + " is not supported"); };
    auto need = [&](const std::string & k) {
        if (!f.has(a + k)) fail("BAD_GGUF", f.path + ": missing " + a + k);
        return f.get_int(a + k, 0);
    };
    hp.n_embd = (int) need("embedding_length");
    hp.n_layer = (int) need("block_count");
    hp.n_ff = (int) need("feed_forward_length");
    hp.n_head = (int) need("attention.head_count");
    hp.n_head_kv = (int) f.get_int(a + "attention.head_count_kv", hp.n_head);
    hp.n_ctx = (int) need("context_length");
    if (hp.n_head <= 0 || hp.n_head_kv <= 0 || hp.n_head % hp.n_head_kv != 0) fail("BAD_GGUF", "invalid head counts");
    if (hp.n_layer <= 0 || hp.n_embd <= 0 || hp.n_ff <= 0) fail("BAD_GGUF", f.path + ": invalid model sizes");
    hp.head_dim = (int) f.get_int(a + "attention.key_length", hp.n_embd / hp.n_head);
    hp.rope_theta = (float) f.get_float(a + "rope.freq_base", 10000.0);
    hp.norm_eps = (float) f.get_float(a + "attention.layer_norm_rms_epsilon", 1e-5);
    const int n_rot = (int) f.get_int(a + "rope.dimension_count", hp.head_dim);
    if (n_rot != hp.head_dim) unsupported("partial rotary embeddings (rope.dimension_count " + std::to_string(n_rot) + " != head size " + std::to_string(hp.head_dim) + ")");
    if (f.get_int(a + "attention.value_length", hp.head_dim) != hp.head_dim) unsupported("a value head size different from the key head size");
    if (f.get_int(a + "expert_count", 0) > 0) unsupported("mixture-of-experts (expert_count > 0)");
    if (f.has(a + "attention.key_length_swa") || f.has(a + "rope.dimension_count_swa")) unsupported("different head sizes on sliding-window layers");

    // RoPE scaling, as llama.cpp reads it: type (default "linear"), factor (or the old scale_linear key) -> freq_scale = 1/factor.
    const std::string scaling = f.get_str(a + "rope.scaling.type", "linear");
    if (scaling == "yarn") unsupported("YaRN RoPE scaling (rope.scaling.type yarn)");
    if (scaling == "longrope") unsupported("LongRoPE scaling (phi3 128k variants: rope.scaling.type longrope)");
    if (scaling != "linear" && scaling != "none" && !scaling.empty()) unsupported("RoPE scaling \"" + scaling + "\"");
    double factor = f.get_float(a + "rope.scaling.factor", 0.0);
    if (factor == 0.0) factor = f.get_float(a + "rope.scale_linear", 0.0);
    // llama_context: type "none" forces freq_scale = 1 ("never scale if scaling type is none")
    hp.rope_freq_scale = factor == 0.0 || scaling == "none" ? 1.0f : (float) (1.0 / factor);
    hp.rope_attn_factor = (float) f.get_float(a + "rope.scaling.attn_factor", 1.0); // scales rotated q and k
    for (const char * t : {"rope_factors_long.weight", "rope_factors_short.weight"})
        if (gguf_find_tensor(f.ctx, t) >= 0) unsupported(std::string("LongRoPE factor tensors (") + t + ")");

    int64_t tid = gguf_find_tensor(f.ctx, "token_embd.weight");
    if (tid < 0) fail("BAD_GGUF", f.path + ": token_embd.weight is missing");
    hp.n_vocab = (int) gguf_get_tensor_ne(f.ctx, tid)[1];
    auto has_t = [&](const char * n) { return gguf_find_tensor(f.ctx, n) >= 0; };
    hp.tied = !has_t("output.weight");
    hp.fused_qkv = has_t("blk.0.attn_qkv.weight");
    hp.qkv_bias = has_t("blk.0.attn_q.bias") || has_t("blk.0.attn_qkv.bias");
    hp.qk_norm = has_t("blk.0.attn_q_norm.weight");
    hp.rope_freqs = has_t("rope_freqs.weight");
    // RoPE layout per arch (llama_model_rope_type): NORM rotates consecutive pairs, NEOX the two halves.
    hp.rope_mode = (A == "llama" || A == "mistral3" || A == "smollm3" || A == "granite") ? GGML_ROPE_TYPE_NORMAL : GGML_ROPE_TYPE_NEOX;
    // Features each arch's graph reads (and the ones forge cannot follow): rope_freqs is only applied by the
    // llama-style graphs; elsewhere it would be an unknown tensor (refused by check_tensors_understood).
    if (hp.rope_freqs && A != "llama" && A != "mistral3") unsupported("rope_freqs.weight (RoPE frequency factors) outside llama/mistral3");

    if (gemma) {
        // gemma*: embeddings × sqrt(n_embd), q × attention scale before the scores (so kq_scale moves to q),
        // GELU-gated FFN, tied head; gemma2/3 add post norms, final soft-capping and sliding-window layers.
        hp.embd_scale = std::sqrt((float) hp.n_embd);
        hp.gelu = true;
        hp.attn_scale = 1.0f / std::sqrt((float) hp.head_dim);
        // gemma_pytorch's 27B models scale by n_embd/n_head instead of the head size (llama.cpp keys it on n_layer)
        if ((A == "gemma2" && hp.n_layer == 46) || (A == "gemma3" && hp.n_layer == 62)) hp.attn_scale = 1.0f / std::sqrt((float) (hp.n_embd / hp.n_head));
        if (A != "gemma") {
            hp.post_norms = true;
            hp.final_softcap = (float) f.get_float(a + "final_logit_softcapping", A == "gemma2" ? 30.0 : 0.0);
            int64_t period = 0;
            if (A == "gemma2") {
                hp.attn_softcap = (float) f.get_float(a + "attn_logit_softcapping", 50.0);
                hp.n_swa = (int) f.get_int(a + "attention.sliding_window", 4096);
                period = f.get_int(a + "attention.sliding_window_pattern", 2);
                hp.rope_theta_swa = (float) f.get_float(a + "rope.freq_base_swa", hp.rope_theta);
                hp.rope_freq_scale_swa = hp.rope_freq_scale;
            } else {
                hp.n_swa = (int) f.get_int(a + "attention.sliding_window", 0);
                period = f.get_int(a + "attention.sliding_window_pattern", 6);
                hp.rope_theta_swa = (float) f.get_float(a + "rope.freq_base_swa", 10000.0);
                hp.rope_freq_scale_swa = 1.0f; // llama.cpp keeps the default for gemma3's local layers
            }
            if (hp.n_swa > 0) {
                // llama_hparams::set_swa_pattern(period): layer l is local unless l % period == period - 1 (0 = all local)
                hp.swa_layer.resize(hp.n_layer);
                for (int l = 0; l < hp.n_layer; l++) hp.swa_layer[l] = period == 0 || (l % period < period - 1);
            }
        }
        if (f.has(a + "attn_logit_softcapping") && A != "gemma2") unsupported("attention soft-capping outside gemma2");
    }
    if (A == "smollm3") {
        // llama.cpp: n_no_rope_layer_step = 4, layer l skips RoPE when (l + 1) % 4 == 0
        hp.nope_layer.resize(hp.n_layer);
        for (int l = 0; l < hp.n_layer; l++) hp.nope_layer[l] = (l + 1) % 4 == 0;
    }
    if (A == "granite") {
        hp.logit_scale = (float) f.get_float(a + "logit_scale", 1.0);
        if (!f.has(a + "logit_scale")) fail("BAD_GGUF", f.path + ": missing " + a + "logit_scale");
        const double rs = f.get_float(a + "residual_scale", 0.0), es = f.get_float(a + "embedding_scale", 0.0), as = f.get_float(a + "attention.scale", 0.0);
        if (rs != 0.0) hp.residual_scale = (float) rs;
        if (es != 0.0) hp.embd_scale = (float) es;
        if (as != 0.0) hp.attn_scale = (float) as;
    }
    if (A == "mistral3") {
        hp.attn_temp_scale = (float) f.get_float(a + "attention.temperature_scale", 0.0);
        if (hp.attn_temp_scale != 0.0f) {
            hp.attn_temp_floor = (int) f.get_int(a + "rope.scaling.original_context_length", hp.n_ctx);
            if (hp.attn_temp_floor <= 0) fail("BAD_GGUF", f.path + ": invalid rope.scaling.original_context_length for attention temperature scaling");
        }
    }
    if (A == "phi3") {
        // phi3: fused gate/up (ffn_up [n_embd, 2 n_ff], no ffn_gate); llama.cpp disables Phi's sliding window
        hp.fused_gate_up = !has_t("blk.0.ffn_gate.weight");
    }
    return hp;
}

void check_tensors_understood(const GgufFile & f, const Model & m) {
    std::map<std::string, const ggml_tensor *> mine;
    for (const ggml_tensor * t : m.weights) mine[ggml_get_name(t)] = t;
    for (int64_t i = 0; i < gguf_get_n_tensors(f.ctx); i++) {
        const std::string name = gguf_get_tensor_name(f.ctx, i);
        auto it = mine.find(name);
        if (it == mine.end())
            fail("UNSUPPORTED_ARCH", m.hp.arch + " model " + f.path + ": tensor " + name + " is not part of the graph forge builds for this architecture "
                 "(a feature forge does not implement); training or evaluating it would not match llama.cpp");
        const int64_t * ne = gguf_get_tensor_ne(f.ctx, i);
        for (int d = 0; d < 4; d++)
            if (ne[d] != it->second->ne[d])
                fail("BAD_GGUF", f.path + ": tensor " + name + " has shape [" + std::to_string(ne[0]) + "," + std::to_string(ne[1]) + "], expected [" +
                     std::to_string(it->second->ne[0]) + "," + std::to_string(it->second->ne[1]) + "]");
    }
}

static void load_into(const GgufFile & f, ggml_tensor * t, const std::string & name) {
    std::vector<uint8_t> data;
    f.read_tensor(name, t->type, data, t->ne);
    ggml_backend_tensor_set(t, data.data(), 0, data.size());
}

void load_weights(Model & m, const GgufFile & f) {
    for (ggml_tensor * t : m.weights) load_into(f, t, ggml_get_name(t));
}

void load_named(const GgufFile & f, const std::vector<ggml_tensor *> & tensors) {
    for (ggml_tensor * t : tensors) load_into(f, t, ggml_get_name(t));
}

void write_gguf(const std::string & path, gguf_context * meta, const std::vector<OutTensor> & tensors) {
    // Tensor infos go through dummy no_alloc tensors: gguf only needs name/type/shape to lay out offsets.
    ggml_init_params ip = { (tensors.size() + 1) * ggml_tensor_overhead(), nullptr, true };
    ggml_context * tctx = ggml_init(ip);
    for (const OutTensor & o : tensors) {
        ggml_tensor * t = ggml_new_tensor(tctx, o.type, ggml_n_dims(o.src), o.src->ne);
        ggml_set_name(t, o.name.c_str());
        gguf_add_tensor(meta, t);
    }
    std::string tmp = tmp_path_for(path);
    FILE * fp = fopen(tmp.c_str(), "wb");
    if (!fp) { ggml_free(tctx); fail("IO", "cannot write " + tmp + ": " + strerror(errno)); }
    bool ok = gguf_write_to_file_ptr(meta, fp, /*only_meta*/ true);
    const size_t align = gguf_get_alignment(meta);
    std::vector<uint8_t> src, dst;
    for (const OutTensor & o : tensors) {
        if (!ok) break;
        src.resize(ggml_nbytes(o.src));
        ggml_backend_tensor_get(o.src, src.data(), 0, src.size());
        const uint8_t * data = src.data();
        size_t nbytes = src.size();
        if (o.type != o.src->type) {
            const int64_t ne0 = o.src->ne[0], rows = ggml_nelements(o.src) / ne0;
            dst.resize(ggml_row_size(o.type, ne0) * rows);
            for (int64_t r = 0; r < rows; r++) {
                convert_row_data(src.data() + r * ggml_row_size(o.src->type, ne0), o.src->type,
                                 dst.data() + r * ggml_row_size(o.type, ne0), o.type, ne0);
            }
            data = dst.data();
            nbytes = dst.size();
        }
        ok = fwrite(data, 1, nbytes, fp) == nbytes;
        size_t pad = GGML_PAD(nbytes, align) - nbytes;
        static const uint8_t zeros[64] = {0};
        while (ok && pad > 0) {
            size_t k = pad < sizeof zeros ? pad : sizeof zeros;
            ok = fwrite(zeros, 1, k, fp) == k;
            pad -= k;
        }
    }
    ok = ok && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    fclose(fp);
    ggml_free(tctx);
    if (!ok) { unlink(tmp.c_str()); fail("IO", "cannot write " + path + " (disk full?)"); }
    commit_tmp(tmp, path);
}

static void set_str_arr(gguf_context * g, const char * key, const Json & arr) {
    std::vector<const char *> ptrs;
    for (const Json & s : arr.a) {
        if (s.kind != Json::STR) fail("BAD_CONFIG", std::string("tokenizer.") + key + " must be an array of strings");
        ptrs.push_back(s.s.c_str());
    }
    gguf_set_arr_str(g, (std::string("tokenizer.ggml.") + key).c_str(), ptrs.data(), ptrs.size());
}

void set_model_kv(gguf_context * g, const HParams & hp, const Json * tok, const GgufFile * base, const std::string & name, ggml_type out_type) {
    if (base) {
        gguf_set_kv(g, base->ctx); // full fine-tune: keep every base key (tokenizer, template, rope...)
    } else {
        const std::string a = hp.arch + ".";
        gguf_set_val_str(g, "general.architecture", hp.arch.c_str());
        gguf_set_val_u32(g, (a + "context_length").c_str(), hp.n_ctx);
        gguf_set_val_u32(g, (a + "embedding_length").c_str(), hp.n_embd);
        gguf_set_val_u32(g, (a + "block_count").c_str(), hp.n_layer);
        gguf_set_val_u32(g, (a + "feed_forward_length").c_str(), hp.n_ff);
        gguf_set_val_u32(g, (a + "attention.head_count").c_str(), hp.n_head);
        gguf_set_val_u32(g, (a + "attention.head_count_kv").c_str(), hp.n_head_kv);
        gguf_set_val_f32(g, (a + "rope.freq_base").c_str(), hp.rope_theta);
        gguf_set_val_f32(g, (a + "attention.layer_norm_rms_epsilon").c_str(), hp.norm_eps);
        gguf_set_val_u32(g, (a + "rope.dimension_count").c_str(), hp.head_dim);
        gguf_set_val_u32(g, (a + "vocab_size").c_str(), hp.n_vocab);
        if (tok) {
            const Json & t = *tok;
            gguf_set_val_str(g, "tokenizer.ggml.model", t.str("model", "gpt2").c_str());
            gguf_set_val_str(g, "tokenizer.ggml.pre", t.str("pre", "gpt-2").c_str());
            set_str_arr(g, "tokens", t["tokens"]);
            std::vector<int32_t> types;
            for (const Json & v : t["token_type"].a) types.push_back((int32_t) v.n);
            if (types.empty()) types.assign(t["tokens"].size(), 1);
            gguf_set_arr_data(g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types.data(), types.size());
            // llama.cpp refuses a gpt2 tokenizer without a merges key, even an empty one will do.
            set_str_arr(g, "merges", t["merges"]);
            gguf_set_val_u32(g, "tokenizer.ggml.bos_token_id", (uint32_t) t.integer("bos_id"));
            gguf_set_val_u32(g, "tokenizer.ggml.eos_token_id", (uint32_t) t.integer("eos_id"));
            if (t.has("eot_id")) gguf_set_val_u32(g, "tokenizer.ggml.eot_token_id", (uint32_t) t.integer("eot_id"));
            if (t.has("pad_id")) gguf_set_val_u32(g, "tokenizer.ggml.padding_token_id", (uint32_t) t.integer("pad_id"));
            gguf_set_val_bool(g, "tokenizer.ggml.add_bos_token", t.boolean("add_bos", false));
            gguf_set_val_bool(g, "tokenizer.ggml.add_eos_token", false);
            if (t.has("chat_template")) gguf_set_val_str(g, "tokenizer.chat_template", t.str("chat_template").c_str());
        }
    }
    if (!name.empty()) gguf_set_val_str(g, "general.name", name.c_str());
    gguf_set_val_u32(g, "general.file_type", out_type == GGML_TYPE_F16 ? 1 : 0);
    gguf_remove_key(g, "general.quantization_version");
}
