// LoRA adapters in llama.cpp's adapter GGUF format, and merging them into a base.
#include "backend.h"
#include "commands.h"
#include "common.h"
#include "gguf_io.h"

#include <cmath>
#include <cstring>

void save_lora_adapter(Model & m, const std::string & out, const std::string & base_path, const GgufFile * base, const std::string & name) {
    gguf_context * g = gguf_init_empty();
    gguf_set_val_str(g, "general.architecture", m.hp.arch.c_str()); // llama.cpp requires it to match the base
    gguf_set_val_str(g, "general.type", "adapter");
    gguf_set_val_str(g, "adapter.type", "lora");
    const int rank = m.lora_tensors.empty() ? 1 : (int) m.lora_tensors[1]->ne[0];
    // llama.cpp scales by alpha/rank, with rank read from lora_b's ne[0].
    gguf_set_val_f32(g, "adapter.lora.alpha", m.lora_scale * rank);
    if (!name.empty()) gguf_set_val_str(g, "general.name", name.c_str());
    if (base) {
        std::string bn = base->get_str("general.name", "");
        if (!bn.empty()) gguf_set_val_str(g, "general.base_model.0.name", bn.c_str());
    }
    (void) base_path;
    std::vector<OutTensor> ts;
    for (ggml_tensor * t : m.lora_tensors) ts.push_back({t, ggml_get_name(t), GGML_TYPE_F32});
    try {
        write_gguf(out, g, ts);
    } catch (...) { gguf_free(g); throw; }
    gguf_free(g);
}

void load_lora_adapter(Model & m, const std::string & path, ggml_backend_t backend) {
    GgufFile f(path);
    if (f.get_str("general.type") != "adapter" || f.get_str("adapter.type") != "lora") fail("BAD_GGUF", path + " is not a LoRA adapter");
    if (f.get_str("general.architecture") != m.hp.arch) fail("BAD_GGUF", path + ": adapter architecture does not match the model");
    const float alpha = (float) f.get_float("adapter.lora.alpha", 0.0);
    std::map<std::string, ggml_tensor *> by_name;
    for (ggml_tensor * w : m.weights) by_name[ggml_get_name(w)] = w;
    const int64_t n = gguf_get_n_tensors(f.ctx);
    ggml_init_params ip = { (size_t) (n + 1) * ggml_tensor_overhead(), nullptr, true };
    m.lora_ctx = ggml_init(ip);
    int rank = 0;
    for (int64_t i = 0; i < n; i++) {
        std::string tn = gguf_get_tensor_name(f.ctx, i);
        if (tn.size() < 7 || tn.compare(tn.size() - 7, 7, ".lora_a") != 0) continue;
        std::string wn = tn.substr(0, tn.size() - 7);
        auto it = by_name.find(wn);
        if (it == by_name.end()) fail("BAD_GGUF", path + ": adapter tensor " + tn + " has no base weight");
        int64_t ib = gguf_find_tensor(f.ctx, (wn + ".lora_b").c_str());
        if (ib < 0) fail("BAD_GGUF", path + ": " + wn + ".lora_b is missing");
        const int64_t * nea = gguf_get_tensor_ne(f.ctx, i);
        const int64_t * neb = gguf_get_tensor_ne(f.ctx, ib);
        if (nea[0] != it->second->ne[0] || neb[1] != it->second->ne[1] || nea[1] != neb[0]) fail("BAD_GGUF", path + ": " + wn + " adapter shape mismatch");
        if (rank && rank != nea[1]) fail("BAD_GGUF", path + ": mixed LoRA ranks are not supported");
        rank = (int) nea[1];
        LoraPair p;
        p.a = ggml_new_tensor_2d(m.lora_ctx, GGML_TYPE_F32, nea[0], nea[1]);
        p.b = ggml_new_tensor_2d(m.lora_ctx, GGML_TYPE_F32, neb[0], neb[1]);
        ggml_set_name(p.a, tn.c_str());
        ggml_set_name(p.b, (wn + ".lora_b").c_str());
        m.lora[it->second] = p;
        m.lora_tensors.push_back(p.a);
        m.lora_tensors.push_back(p.b);
    }
    if (m.lora.empty()) fail("BAD_GGUF", path + " holds no LoRA tensors");
    m.lora_scale = alpha ? alpha / rank : 1.0f;
    m.lora_buf = ggml_backend_alloc_ctx_tensors(m.lora_ctx, backend);
    if (!m.lora_buf) fail("OUT_OF_MEMORY", "cannot allocate LoRA adapter");
    load_named(f, m.lora_tensors);
}

static std::string arg(const std::map<std::string, std::string> & a, const std::string & k, const std::string & def = "\x01") {
    auto it = a.find(k);
    if (it != a.end()) return it->second;
    if (def == "\x01") fail("BAD_CONFIG", "missing --" + k);
    return def;
}

int cmd_merge(const std::map<std::string, std::string> & args) {
    const std::string base_path = arg(args, "base"), lora_path = arg(args, "lora"), out = arg(args, "out");
    const std::string type = arg(args, "type", "f32");
    if (type != "f32" && type != "f16") fail("BAD_CONFIG", "--type must be f32 or f16");
    Backends be;
    backends_init(be, std::atoi(arg(args, "threads", "0").c_str()));
    GgufFile base(base_path);
    HParams hp = hparams_from_gguf(base);
    Model m;
    model_create(m, hp, GGML_TYPE_F32);
    check_tensors_understood(base, m);
    model_alloc(m, be.cpu);
    load_weights(m, base);
    load_lora_adapter(m, lora_path, be.cpu);
    for (auto & kv : m.lora) {
        ggml_tensor * w = const_cast<ggml_tensor *>(kv.first);
        const int64_t n_in = w->ne[0], n_out = w->ne[1], r = kv.second.a->ne[1];
        std::vector<float> W(n_in * n_out), A(n_in * r), Bm(r * n_out);
        ggml_backend_tensor_get(w, W.data(), 0, W.size() * 4);
        ggml_backend_tensor_get(kv.second.a, A.data(), 0, A.size() * 4);
        ggml_backend_tensor_get(kv.second.b, Bm.data(), 0, Bm.size() * 4);
        // y = W x + s * B (A x)  ⇒  W[o, i] += s * sum_k B[o, k] * A[k, i]  (row-major in ggml's ne order)
        for (int64_t o = 0; o < n_out; o++) {
            float * wr = W.data() + o * n_in;
            for (int64_t k = 0; k < r; k++) {
                const float c = m.lora_scale * Bm[o * r + k];
                if (c == 0.0f) continue;
                const float * ar = A.data() + k * n_in;
                for (int64_t i = 0; i < n_in; i++) wr[i] += c * ar[i];
            }
        }
        ggml_backend_tensor_set(w, W.data(), 0, W.size() * 4);
    }
    ggml_type ot = type == "f16" ? GGML_TYPE_F16 : GGML_TYPE_F32;
    gguf_context * g = gguf_init_empty();
    set_model_kv(g, hp, nullptr, &base, "", ot);
    std::vector<OutTensor> ts;
    for (ggml_tensor * t : m.weights) ts.push_back({t, ggml_get_name(t), ggml_n_dims(t) >= 2 ? ot : GGML_TYPE_F32});
    try {
        write_gguf(out, g, ts);
    } catch (...) { gguf_free(g); throw; }
    gguf_free(g);
    JsonLine().add("type", "merged").add("out", out).emit();
    return 0;
}
