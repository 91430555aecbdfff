#include "loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

namespace atelier {

static double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// A prefix at least this long is worth a cross-stream K/V copy instead of a prompt re-evaluation.
static const size_t KV_COPY_MIN_TOKENS = 32;

Loop::Loop(const LoopOptions & opts) : opts_(opts) {
    if (opts_.n_seq < 1) opts_.n_seq = 1;
    if (opts_.n_batch < 8) opts_.n_batch = 8;
    if (opts_.prefill_chunk < 1) opts_.prefill_chunk = 1;
    if (opts_.threads < 1) opts_.threads = 1;

    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = opts_.gpu_layers;
    if (!opts_.use_mmap) mp.load_mode = LLAMA_LOAD_MODE_NONE;
    model_ = llama_model_load_from_file(opts_.model_path.c_str(), mp);
    if (!model_) throw std::runtime_error("could not load the model " + opts_.model_path);
    vocab_ = llama_model_get_vocab(model_);
    n_vocab_ = llama_vocab_n_tokens(vocab_);
    nl_token_ = llama_vocab_nl(vocab_);

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = opts_.n_ctx_seq * opts_.n_seq;
    cp.n_batch = opts_.n_batch;
    cp.n_ubatch = opts_.n_batch;  // like node-llama-cpp: one ubatch per sequence set
    cp.n_seq_max = opts_.n_seq;
    cp.n_threads = opts_.threads;
    cp.n_threads_batch = opts_.threads;
    cp.no_perf = true;
    cp.swa_full = false;
    cp.kv_unified = opts_.kv_unified;
    cp.flash_attn_type = opts_.flash_attn < 0 ? LLAMA_FLASH_ATTN_TYPE_AUTO
                         : opts_.flash_attn ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    ctx_ = llama_init_from_model(model_, cp);
    if (!ctx_) {
        llama_model_free(model_);
        model_ = nullptr;
        throw std::runtime_error("could not create a context of " + std::to_string(cp.n_ctx) + " tokens for " + opts_.model_path);
    }
    n_ctx_seq_ = llama_n_ctx_seq(ctx_);
    // A persistent ggml threadpool, as llama-server attaches: without one every decode builds a
    // disposable pool (and spawns its threads), which shows on small models.
    if (ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU)) {
        ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(cpu);
        auto * tp_new = (ggml_threadpool_t (*)(ggml_threadpool_params *)) ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_new");
        threadpool_free_ = (void (*)(ggml_threadpool_t)) ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_free");
        if (tp_new && threadpool_free_) {
            ggml_threadpool_params tpp = ggml_threadpool_params_default(opts_.threads);
            threadpool_ = tp_new(&tpp);
            if (threadpool_) llama_attach_threadpool(ctx_, threadpool_, nullptr);
        }
    }
    batch_ = llama_batch_init((int32_t) opts_.n_batch, 0, 1);
    slots_.resize(opts_.n_seq);
    for (uint32_t i = 0; i < opts_.n_seq; i++) slots_[i].seq = (int32_t) i;
}

Loop::~Loop() {
    stop();
    for (auto & s : slots_) if (s.chain) llama_sampler_free(s.chain);
    llama_batch_free(batch_);
    if (ctx_) {
        if (threadpool_) llama_detach_threadpool(ctx_);
        llama_free(ctx_);
    }
    if (threadpool_) threadpool_free_(threadpool_);
    for (auto * a : adapters_) llama_adapter_lora_free(a);
    if (model_) llama_model_free(model_);
}

void Loop::start(std::function<void()> notify) {
    notify_ = std::move(notify);
    thread_ = std::thread([this] { run(); });
}

void Loop::stop() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (stopping_ && !thread_.joinable()) return;
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Loop::submit(Request req) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        inbox_.push_back(std::make_unique<Request>(std::move(req)));
        stats_.queued++;
    }
    cv_.notify_one();
}

void Loop::cancel(uint32_t id) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        cancels_.insert(id);
    }
    cv_.notify_one();
}

std::vector<Event> Loop::drain() {
    std::lock_guard<std::mutex> lk(mu_);
    std::vector<Event> out;
    out.swap(events_);
    event_of_.clear();
    notified_ = false;
    urgent_ = false;
    return out;
}

void Loop::load_adapter(const std::string & path, std::function<void(int32_t, std::string)> done) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        adapter_loads_.emplace_back(path, std::move(done));
    }
    cv_.notify_one();
}

LoopStats Loop::stats() {
    std::lock_guard<std::mutex> lk(mu_);
    return stats_;
}

/**
 * Wakes JS when events wait. A first token or an end goes at once; other text at most every
 * NOTIFY_EVERY (a fast model would otherwise wake the JS thread once per step, thousands of
 * times a second, for a few bytes each time).
 */
void Loop::notify_js() {
    static const auto NOTIFY_EVERY = std::chrono::microseconds(1000);
    bool call = false;
    {
        std::lock_guard<std::mutex> lk(mu_);
        const auto now = std::chrono::steady_clock::now();
        if (!events_.empty() && !notified_ && (urgent_ || now - last_notify_ >= NOTIFY_EVERY)) {
            notified_ = true;
            urgent_ = false;
            last_notify_ = now;
            call = true;
        }
    }
    if (call && notify_) notify_();
}

// ---- the loop thread ----

void Loop::run() {
    for (;;) {
        take_inbox();
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (stopping_) break;
        }
        admit();
        bool active = false;
        for (auto & s : slots_) active |= s.state != SlotState::Idle;
        if (active) step();
        notify_js();
        if (!active) {
            std::unique_lock<std::mutex> lk(mu_);
            cv_.wait(lk, [&] { return stopping_ || !inbox_.empty() || !cancels_.empty() || !adapter_loads_.empty(); });
        }
    }
    // Shutting down: everything unfinished ends as aborted, so no JS promise waits forever.
    for (auto & s : slots_) if (s.state != SlotState::Idle) finish(s, StopReason::Abort);
    for (auto & r : waiting_) {
        Slot tmp;
        tmp.req = std::move(r);
        emit(tmp, "", true, StopReason::Abort);
    }
    waiting_.clear();
    notify_js();
}

void Loop::take_inbox() {
    std::deque<std::unique_ptr<Request>> incoming;
    std::unordered_set<uint32_t> cancels;
    std::vector<std::pair<std::string, std::function<void(int32_t, std::string)>>> loads;
    {
        std::lock_guard<std::mutex> lk(mu_);
        incoming.swap(inbox_);
        cancels.swap(cancels_);
        loads.swap(adapter_loads_);
    }
    for (auto & r : incoming) waiting_.push_back(std::move(r));
    for (auto & [path, done] : loads) {
        llama_adapter_lora * a = llama_adapter_lora_init(model_, path.c_str());
        if (!a) { done(-1, "could not load the LoRA adapter " + path + " (not a LoRA GGUF of this base model?)"); continue; }
        adapters_.push_back(a);
        done((int32_t) adapters_.size() - 1, "");
    }
    if (cancels.empty()) return;
    // Cancellation takes effect here, at the start of the next step.
    for (auto & s : slots_) {
        if (s.state != SlotState::Idle && cancels.count(s.req->id)) finish(s, StopReason::Abort);
    }
    for (auto it = waiting_.begin(); it != waiting_.end();) {
        if (cancels.count((*it)->id)) {
            Slot tmp;
            tmp.req = std::move(*it);
            emit(tmp, "", true, StopReason::Abort);
            it = waiting_.erase(it);
        } else ++it;
    }
}

static size_t common_prefix(const std::vector<llama_token> & a, const std::vector<llama_token> & b) {
    size_t n = std::min(a.size(), b.size()), i = 0;
    while (i < n && a[i] == b[i]) i++;
    return i;
}

/**
 * Moves waiting requests into free sequences. The lowest free id is used: with one K/V stream per
 * sequence llama.cpp only batches sequences whose ids ascend by exactly 1 into one micro-batch
 * (llama_batch_allocr::split_equal), so active ids should stay consecutive. The K/V of the free
 * sequence sharing the longest prefix with the prompt is copied there when it is worth it
 * (a follow-up turn, or the same system prompt), and only the rest of the prompt is evaluated.
 */
void Loop::admit() {
    llama_memory_t mem = llama_get_memory(ctx_);
    while (!waiting_.empty()) {
        Slot * target = nullptr;
        for (auto & s : slots_) if (s.state == SlotState::Idle) { target = &s; break; }
        if (!target) break;
        std::unique_ptr<Request> req = std::move(waiting_.front());
        waiting_.pop_front();
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (stats_.queued > 0) stats_.queued--;
        }
        const auto & prompt = req->prompt;
        auto reusable = [&](const Slot & s) { return s.cache_adapter == req->adapter ? common_prefix(s.cache, prompt) : 0; };

        Slot * source = target;
        size_t best = reusable(*target);
        for (auto & s : slots_) {
            if (s.state != SlotState::Idle || &s == target) continue;
            const size_t n = reusable(s);
            if (n > best + KV_COPY_MIN_TOKENS) { best = n; source = &s; }
        }
        if (source != target) {
            llama_memory_seq_rm(mem, target->seq, -1, -1);
            llama_memory_seq_cp(mem, source->seq, target->seq, -1, -1);
            target->cache = source->cache;
            target->cache_adapter = source->cache_adapter;
            std::lock_guard<std::mutex> lk(mu_);
            stats_.kv_copies++;
        }
        size_t keep = target->cache_adapter == req->adapter ? common_prefix(target->cache, prompt) : 0;
        if (keep >= prompt.size()) keep = prompt.empty() ? 0 : prompt.size() - 1;  // the last prompt token gives the logits
        if (!llama_memory_seq_rm(mem, target->seq, (llama_pos) keep, -1)) {
            llama_memory_seq_rm(mem, target->seq, -1, -1);  // a partial erase can fail (recurrent state): start over
            keep = 0;
        }
        target->cache.resize(keep);
        target->cache_adapter = req->adapter;
        target->n_past = keep;
        target->reused = (int32_t) keep;
        target->generated.clear();
        target->next = -1;
        target->utf8.reset();
        target->stops.reset(req->stop_strings);
        if (target->chain) { llama_sampler_free(target->chain); target->chain = nullptr; }
        const SamplingParams & sp = req->sampling;
        if (sp.temperature > 0.0f) {
            // Same chain and order as node-llama-cpp's sampler, so seeded runs match it.
            target->chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
            const int32_t k = sp.top_k <= 0 ? n_vocab_ : std::min(sp.top_k, n_vocab_);
            llama_sampler_chain_add(target->chain, llama_sampler_init_top_k(k));
            if (sp.top_p >= 0.0f && sp.top_p <= 1.0f) llama_sampler_chain_add(target->chain, llama_sampler_init_top_p(sp.top_p, 1));
            if (sp.min_p > 0.0f) llama_sampler_chain_add(target->chain, llama_sampler_init_min_p(sp.min_p, 1));
            llama_sampler_chain_add(target->chain, llama_sampler_init_temp(sp.temperature));
            llama_sampler_chain_add(target->chain, llama_sampler_init_dist(sp.seed));
        }
        target->req = std::move(req);
        if (target->req->prompt.empty() || target->req->max_tokens <= 0) {
            finish(*target, target->req->prompt.empty() ? StopReason::Error : StopReason::MaxTokens,
                   target->req->prompt.empty() ? "empty prompt" : "");
            continue;
        }
        if (target->req->prompt.size() >= n_ctx_seq_) {
            finish(*target, StopReason::Error, "the prompt is " + std::to_string(target->req->prompt.size()) +
                   " tokens and a sequence holds " + std::to_string(n_ctx_seq_));
            continue;
        }
        target->state = SlotState::Prefill;
    }
    uint32_t active = 0;
    for (auto & s : slots_) active += s.state != SlotState::Idle;
    std::lock_guard<std::mutex> lk(mu_);
    stats_.active = active;
    stats_.max_active = std::max<uint64_t>(stats_.max_active, active);
}

void Loop::set_adapter(int32_t adapter) {
    if (adapter == current_adapter_) return;
    if (adapter < 0) llama_set_adapters_lora(ctx_, nullptr, 0, nullptr);
    else {
        float scale = 1.0f;
        llama_set_adapters_lora(ctx_, &adapters_[adapter], 1, &scale);
    }
    current_adapter_ = adapter;
}

/**
 * One step: every generating sequence decodes its last sampled token, and prompts are evaluated in
 * chunks alongside (at most `prefill_chunk` tokens while others generate, so a long prompt never
 * stalls running streams for long). Sequences with different LoRA adapters cannot share a decode
 * (adapters are per context in llama.cpp), so each adapter group is its own llama_decode.
 */
void Loop::step() {
    std::vector<int32_t> groups;
    for (auto & s : slots_) {
        if (s.state == SlotState::Idle) continue;
        if (std::find(groups.begin(), groups.end(), s.req->adapter) == groups.end()) groups.push_back(s.req->adapter);
    }
    // The current adapter first: switching adapters costs a graph rebuild.
    std::stable_sort(groups.begin(), groups.end(), [&](int32_t a, int32_t b) { return (a == current_adapter_) > (b == current_adapter_); });
    bool decoders = false;
    for (auto & s : slots_) decoders |= s.state == SlotState::Generate;
    uint32_t budget = opts_.n_batch;
    uint64_t in_step = 0;
    for (int32_t g : groups) {
        std::vector<Slot *> members;
        for (auto & s : slots_) if (s.state != SlotState::Idle && s.req->adapter == g) members.push_back(&s);
        in_step += members.size();
        decode_group(g, members, decoders, budget);
    }
    std::lock_guard<std::mutex> lk(mu_);
    stats_.steps++;
    stats_.max_step_sequences = std::max(stats_.max_step_sequences, in_step);
}

void Loop::decode_group(int32_t adapter, std::vector<Slot *> & members, bool decoders_active, uint32_t & budget) {
    batch_.n_tokens = 0;
    auto add = [&](Slot & s, llama_token tok, bool logits) {
        const int32_t i = batch_.n_tokens++;
        batch_.token[i] = tok;
        batch_.pos[i] = (llama_pos) s.cache.size();
        batch_.n_seq_id[i] = 1;
        batch_.seq_id[i][0] = s.seq;
        batch_.logits[i] = logits;
        s.cache.push_back(tok);
        if (logits) s.batch_index = i;
    };
    // Sequence-id order: a micro-batch only takes sequences whose ids ascend by 1 (see admit()).
    uint32_t prefill_left = decoders_active ? std::min(opts_.prefill_chunk, budget) : budget;
    uint64_t prefilled = 0, decoded = 0;
    for (Slot * s : members) {
        s->batch_index = -1;
        if (budget == 0) break;
        if (s->state == SlotState::Generate) {
            add(*s, s->next, true);
            budget--;
            decoded++;
        } else if (s->state == SlotState::Prefill && prefill_left > 0) {
            const auto & prompt = s->req->prompt;
            const size_t take = std::min<size_t>({prompt.size() - s->n_past, prefill_left, budget});
            for (size_t k = 0; k < take; k++) {
                const bool last = s->n_past + k + 1 == prompt.size();
                add(*s, prompt[s->n_past + k], last);
            }
            s->n_past += take;
            prefill_left -= (uint32_t) take;
            budget -= (uint32_t) take;
            prefilled += take;
        }
    }
    if (batch_.n_tokens == 0) return;
    set_adapter(adapter);
    const auto t0 = std::chrono::steady_clock::now();
    const int32_t ret = llama_decode(ctx_, batch_);
    const double dt = ms_since(t0);
    {
        std::lock_guard<std::mutex> lk(mu_);
        stats_.decodes++;
        stats_.decoded_tokens += decoded;
        stats_.prefill_tokens += prefilled;
        stats_.decode_ms += dt;
    }
    if (ret != 0) {
        // The K/V of every sequence in this batch is now unknown: drop it, fail those requests.
        const std::string why = ret == 1 ? "no room left in the KV cache" : "llama_decode failed with code " + std::to_string(ret);
        for (Slot * s : members) {
            bool in_batch = false;
            for (int32_t i = 0; i < batch_.n_tokens; i++) in_batch |= batch_.seq_id[i][0] == s->seq;
            if (!in_batch) continue;
            llama_memory_seq_rm(llama_get_memory(ctx_), s->seq, -1, -1);
            s->cache.clear();
            finish(*s, StopReason::Error, why);
        }
        return;
    }
    const auto t1 = std::chrono::steady_clock::now();
    uint64_t sampled = 0;
    for (Slot * s : members) {
        if (s->batch_index < 0) continue;
        s->state = SlotState::Generate;
        sample_slot(*s);
        sampled++;
    }
    std::lock_guard<std::mutex> lk(mu_);
    stats_.sampled_tokens += sampled;
    stats_.sample_ms += ms_since(t1);
}

/**
 * Picks the next token from this sequence's logits. Penalties (repeat / presence / frequency over
 * the last `penalty_last_n` generated tokens, newlines exempt) are llama.cpp's penalties sampler
 * math applied to the window LlamaChat uses; greedy is the first maximum, as llama.cpp's greedy.
 */
llama_token Loop::sample_token(Slot & s, const float * logits) {
    const SamplingParams & sp = s.req->sampling;
    const bool penalties = sp.penalty_last_n > 0 &&
                           (sp.repeat_penalty != 1.0f || sp.presence_penalty != 0.0f || sp.frequency_penalty != 0.0f);
    if (!penalties && !s.chain) {
        int32_t best = 0;
        for (int32_t t = 1; t < n_vocab_; t++) if (logits[t] > logits[best]) best = t;
        return best;
    }
    candidates_.resize((size_t) n_vocab_);
    for (int32_t t = 0; t < n_vocab_; t++) candidates_[t] = llama_token_data{t, logits[t], 0.0f};
    if (penalties) {
        // token -> occurrences in the window
        std::unordered_map<llama_token, int> count;
        const size_t n = s.generated.size();
        const size_t from = n > (size_t) sp.penalty_last_n ? n - (size_t) sp.penalty_last_n : 0;
        for (size_t i = from; i < n; i++) {
            if (!sp.penalize_nl && s.generated[i] == nl_token_) continue;
            count[s.generated[i]]++;
        }
        for (const auto & [tok, c] : count) {
            if (tok < 0 || tok >= n_vocab_) continue;
            float & l = candidates_[tok].logit;
            l = l <= 0 ? l * sp.repeat_penalty : l / sp.repeat_penalty;
            l -= float(c) * sp.frequency_penalty + float(c > 0) * sp.presence_penalty;
        }
    }
    llama_token_data_array arr{candidates_.data(), candidates_.size(), -1, false};
    if (!s.chain) {
        size_t best = 0;
        for (size_t i = 1; i < arr.size; i++) if (arr.data[i].logit > arr.data[best].logit) best = i;
        return arr.data[best].id;
    }
    llama_sampler_apply(s.chain, &arr);
    if (arr.selected < 0 || (size_t) arr.selected >= arr.size) return arr.data[0].id;
    return arr.data[arr.selected].id;
}

void Loop::sample_slot(Slot & s) {
    const float * logits = llama_get_logits_ith(ctx_, s.batch_index);
    if (!logits) { finish(s, StopReason::Error, "no logits for sequence " + std::to_string(s.seq)); return; }
    const llama_token tok = sample_token(s, logits);
    Request & r = *s.req;
    if (!r.ignore_eog && llama_vocab_is_eog(vocab_, tok)) {
        finish(s, StopReason::Eog);  // not counted, not shown (node-llama-cpp does not yield it either)
        return;
    }
    s.generated.push_back(tok);
    for (const auto & seq : r.stop_token_seqs) {
        if (seq.empty() || seq.size() > s.generated.size()) continue;
        if (std::equal(seq.begin(), seq.end(), s.generated.end() - (ptrdiff_t) seq.size())) {
            emit(s, "", false, StopReason::None);  // count the token
            finish(s, StopReason::Trigger);
            return;
        }
    }
    char buf[256];
    int32_t n = llama_token_to_piece(vocab_, tok, buf, sizeof buf, 0, false);
    std::string piece;
    if (n < 0) {
        piece.resize((size_t) -n);
        n = llama_token_to_piece(vocab_, tok, piece.data(), (int32_t) piece.size(), 0, false);
        piece.resize(n > 0 ? (size_t) n : 0);
    } else piece.assign(buf, (size_t) n);
    std::string shown;
    const bool stopped = s.stops.push(s.utf8.push(piece), shown);
    if (stopped) {
        emit(s, shown, false, StopReason::None);
        finish(s, StopReason::Trigger);
        return;
    }
    if ((int32_t) s.generated.size() >= r.max_tokens) {
        emit(s, shown, false, StopReason::None);
        finish(s, StopReason::MaxTokens);
        return;
    }
    emit(s, shown, false, StopReason::None);
    s.next = tok;
}

void Loop::finish(Slot & s, StopReason reason, const std::string & error) {
    std::string tail;
    if (reason != StopReason::Trigger && reason != StopReason::Error) {
        // The stream ended without a stop string: release what was held back.
        std::string rest;
        if (s.stops.push(s.utf8.flush(), rest)) reason = StopReason::Trigger;
        else rest += s.stops.flush();
        tail = rest;
    }
    emit(s, tail, true, reason, error);
    if (reason == StopReason::Error) {
        llama_memory_seq_rm(llama_get_memory(ctx_), s.seq, -1, -1);
        s.cache.clear();
    }
    s.state = SlotState::Idle;
    s.req.reset();
    if (s.chain) { llama_sampler_free(s.chain); s.chain = nullptr; }
    uint32_t active = 0;
    for (auto & x : slots_) active += x.state != SlotState::Idle;
    std::lock_guard<std::mutex> lk(mu_);
    stats_.active = active;
}

void Loop::emit(Slot & s, const std::string & text, bool done, StopReason reason, const std::string & error) {
    if (!s.req) return;
    std::lock_guard<std::mutex> lk(mu_);
    const uint32_t id = s.req->id;
    auto it = event_of_.find(id);
    Event * e;
    // Text since the last drain is merged into one event, except the first token's: it stays an event
    // of its own, so a reader that falls behind still gets the first token apart (time to first token).
    if (it != event_of_.end() && !(events_[it->second].tokens == 1 && !events_[it->second].text.empty())) e = &events_[it->second];
    else {
        event_of_[id] = events_.size();
        events_.push_back(Event{});
        e = &events_.back();
        e->id = id;
    }
    e->text += text;
    e->tokens = (int32_t) s.generated.size();
    if (done || s.generated.size() <= 1) urgent_ = true;
    e->seq = s.seq;
    if (done) {
        e->done = true;
        e->reason = reason;
        e->prompt_tokens = (int32_t) s.req->prompt.size();
        e->reused_tokens = s.reused;
        e->error = error;
    }
}

}  // namespace atelier
