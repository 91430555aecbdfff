// Subcommands of atelier-forge. Each throws ForgeError on failure; main() turns it
// into the {"type":"error"} line and a non-zero exit code.
#pragma once
#include "model.h"

#include <map>
#include <string>

struct GgufFile;

int cmd_train(const std::string & config_path);
int cmd_eval(const std::map<std::string, std::string> & args);
int cmd_grads(const std::map<std::string, std::string> & args);
int cmd_merge(const std::map<std::string, std::string> & args);
int cmd_quantize(const std::map<std::string, std::string> & args);
int cmd_synth(const std::map<std::string, std::string> & args);    // synth.cpp: random-weight benchmark GGUFs
int cmd_selftest(const std::map<std::string, std::string> & args); // selftest.cpp: kernels vs naive loops

// LoRA adapter in llama.cpp's format (general.type "adapter", <weight>.lora_a/.lora_b).
void save_lora_adapter(Model & m, const std::string & out, const std::string & base_path, const GgufFile * base, const std::string & name);
// Attach adapters from an adapter GGUF to m (creates m.lora); returns alpha.
void load_lora_adapter(Model & m, const std::string & path, ggml_backend_t backend);
