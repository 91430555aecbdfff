// Atelier's native generation loop: one thread owns a llama_context and runs continuous
// batching over its sequences (see README.md beside this file). No N-API here: addon.cpp binds
// it to Node, sanitize_main.cpp drives it directly under ASan/UBSan.
#pragma once

#include "ggml-backend.h"
#include "llama.h"
#include "text.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace atelier {

struct LoopOptions {
    std::string model_path;
    int32_t gpu_layers = 0;       // -1 = all
    uint32_t n_seq = 8;           // sequences = conversations decoded together
    uint32_t n_ctx_seq = 2048;    // context cells per sequence
    uint32_t n_batch = 512;       // most tokens per llama_decode
    uint32_t prefill_chunk = 256; // most prompt tokens per step while other sequences generate
    int32_t threads = 1;          // ggml threads for every decode (see bench/ENGINE-TUNING.md)
    int flash_attn = -1;          // -1 auto, 0 off, 1 on
    bool kv_unified = false;      // one KV stream for all sequences (llama-server -kvu)
    bool use_mmap = true;
};

struct SamplingParams {
    float temperature = 0.0f;     // <= 0: greedy
    int32_t top_k = 40;           // <= 0: whole vocabulary
    float top_p = 0.95f;
    float min_p = 0.0f;
    float repeat_penalty = 1.0f;
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    int32_t penalty_last_n = 64;  // window over the generated tokens
    bool penalize_nl = false;
    uint32_t seed = 0;
};

struct Request {
    uint32_t id = 0;
    std::vector<llama_token> prompt;
    SamplingParams sampling;
    int32_t max_tokens = 256;
    std::vector<std::string> stop_strings;
    std::vector<std::vector<llama_token>> stop_token_seqs;
    int32_t adapter = -1;         // index from load_adapter, -1 = base model
    bool ignore_eog = false;      // benchmarks: generate exactly max_tokens
};

enum class StopReason : int { None = 0, Eog = 1, Trigger = 2, MaxTokens = 3, Abort = 4, Error = 5 };

/** What JS receives: text and token count since the last drain, and the end of a request. */
struct Event {
    uint32_t id = 0;
    std::string text;
    int32_t tokens = 0;           // generated tokens so far (total, not a delta)
    bool done = false;
    StopReason reason = StopReason::None;
    int32_t prompt_tokens = 0;
    int32_t reused_tokens = 0;    // prompt tokens already in the KV cache (prefix reuse)
    int32_t seq = -1;
    std::string error;
};

struct LoopStats {
    uint64_t steps = 0, decodes = 0, decoded_tokens = 0, prefill_tokens = 0, sampled_tokens = 0;
    uint64_t max_active = 0, max_step_sequences = 0, kv_copies = 0;
    double decode_ms = 0, sample_ms = 0;
    uint32_t active = 0, queued = 0;
};

class Loop {
public:
    /** Loads the model and creates the context (slow: call off the JS thread). Throws on failure. */
    explicit Loop(const LoopOptions & opts);
    ~Loop();
    Loop(const Loop &) = delete;
    Loop & operator=(const Loop &) = delete;

    /** Starts the loop thread; `notify` is called (from it) when events are waiting in drain(). */
    void start(std::function<void()> notify);
    /** Stops the thread (unfinished requests end with Abort events) and waits for it. */
    void stop();

    void submit(Request req);
    void cancel(uint32_t id);
    std::vector<Event> drain();

    /** Loads a LoRA adapter on the loop thread; `done(index, error)` runs there too. */
    void load_adapter(const std::string & path, std::function<void(int32_t, std::string)> done);

    LoopStats stats();
    uint32_t n_ctx_seq() const { return n_ctx_seq_; }
    uint32_t n_seq() const { return opts_.n_seq; }
    int32_t n_vocab() const { return n_vocab_; }
    const llama_vocab * vocab() const { return vocab_; }

private:
    enum class SlotState { Idle, Prefill, Generate };
    struct Slot {
        int32_t seq = 0;
        SlotState state = SlotState::Idle;
        std::unique_ptr<Request> req;
        std::vector<llama_token> cache;  // tokens whose K/V this sequence holds, positions 0..n-1
        int32_t cache_adapter = -1;      // K/V computed under this adapter (reuse needs the same one)
        size_t n_past = 0;               // prompt tokens already in the cache
        int32_t reused = 0;
        llama_token next = -1;           // sampled, to be decoded next step
        std::vector<llama_token> generated;
        llama_sampler * chain = nullptr; // top-k/top-p/min-p/temp/dist (not used when greedy)
        Utf8Holdback utf8;
        StopMatcher stops;
        int32_t batch_index = -1;        // logits row in this step's batch
    };

    void run();
    void take_inbox();
    void admit();
    void step();
    void decode_group(int32_t adapter, std::vector<Slot *> & members, bool decoders_active, uint32_t & budget);
    void sample_slot(Slot & s);
    llama_token sample_token(Slot & s, const float * logits);
    void finish(Slot & s, StopReason reason, const std::string & error = "");
    void emit(Slot & s, const std::string & text, bool done, StopReason reason, const std::string & error = "");
    void set_adapter(int32_t adapter);
    void notify_js();

    LoopOptions opts_;
    llama_model * model_ = nullptr;
    llama_context * ctx_ = nullptr;
    const llama_vocab * vocab_ = nullptr;
    int32_t n_vocab_ = 0;
    uint32_t n_ctx_seq_ = 0;
    llama_token nl_token_ = -1;
    ggml_threadpool_t threadpool_ = nullptr;
    void (*threadpool_free_)(ggml_threadpool_t) = nullptr;
    std::vector<llama_adapter_lora *> adapters_;
    int32_t current_adapter_ = -1;
    std::vector<Slot> slots_;
    std::deque<std::unique_ptr<Request>> waiting_;   // admitted order (FIFO), loop thread only
    llama_batch batch_{};
    std::vector<llama_token_data> candidates_;

    // shared with the JS thread
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::unique_ptr<Request>> inbox_;
    std::unordered_set<uint32_t> cancels_;
    std::vector<std::pair<std::string, std::function<void(int32_t, std::string)>>> adapter_loads_;
    bool stopping_ = false;
    std::vector<Event> events_;
    std::unordered_map<uint32_t, size_t> event_of_;   // id -> index in events_ (coalescing)
    bool notified_ = false;
    bool urgent_ = false;                             // a first token or an end is waiting
    std::chrono::steady_clock::time_point last_notify_{};
    LoopStats stats_;

    std::function<void()> notify_;
    std::thread thread_;
};

}  // namespace atelier
