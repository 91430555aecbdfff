// GGUF reading/writing: base models, trained outputs, LoRA adapters, checkpoints.
#pragma once
#include "gguf.h"
#include "json.h"
#include "model.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

struct GgufFile {
    gguf_context * ctx = nullptr;
    std::string path;
    explicit GgufFile(const std::string & path); // throws BAD_GGUF / IO
    ~GgufFile();
    GgufFile(const GgufFile &) = delete;

    int64_t key(const std::string & k) const { return gguf_find_key(ctx, k.c_str()); }
    bool has(const std::string & k) const { return key(k) >= 0; }
    std::string get_str(const std::string & k, const std::string & def = "") const;
    int64_t get_int(const std::string & k, int64_t def) const;   // any integer type
    double get_float(const std::string & k, double def) const;   // f32/f64/int
    // Read tensor `name` converted to `dst` type into out (bytes). Throws BAD_GGUF.
    void read_tensor(const std::string & name, ggml_type dst, std::vector<uint8_t> & out, const int64_t * expect_ne) const;
    std::map<std::string, ggml_type> tensor_types() const;
};

// Hyperparameters of a supported architecture (see SUPPORTED in gguf_io.cpp). Throws UNSUPPORTED_ARCH / BAD_GGUF.
HParams hparams_from_gguf(const GgufFile & f);
// Every tensor in the file must be one the model's graph uses, with the shape it expects: an extra tensor
// means a feature forge does not implement (biases, extra norms, ...), refused with UNSUPPORTED_ARCH.
void check_tensors_understood(const GgufFile & f, const Model & m);

// Load every model weight from f (dequantising to the tensor's storage type).
void load_weights(Model & m, const GgufFile & f);

// Fill tensors of `tensors` from a GGUF by name (used for checkpoints and adapters).
void load_named(const GgufFile & f, const std::vector<ggml_tensor *> & tensors);

struct OutTensor {
    ggml_tensor * src;      // backend tensor holding the data (any type)
    std::string name;       // name in the file
    ggml_type type;         // type in the file
};

// Streamed, atomic GGUF writer: metadata from `meta`, tensor data pulled from backends.
void write_gguf(const std::string & path, gguf_context * meta, const std::vector<OutTensor> & tensors);

// Metadata for a trained model: llama.* hparams + tokenizer (scratch) or a copy of all base KVs (full).
void set_model_kv(gguf_context * g, const HParams & hp, const Json * tokenizer, const GgufFile * base, const std::string & name, ggml_type out_type);
