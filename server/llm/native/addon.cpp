// N-API binding of the generation loop (loop.h). The typed TypeScript side is
// server/llm/native-loop.ts; keep the two in step.
//
//   libraryInfo() -> { llamaLibrary, ggmlLibrary, devices: [{ name, description, type }], systemInfo }
//   loadBackends(dir)                      registers ggml backends when nothing did yet (standalone use)
//   createLoop(options, notify) -> Promise<NativeLoop>   loads the model off the JS thread
//   NativeLoop: submit(id, Int32Array prompt, request) / cancel(id) / drain() -> events
//               loadAdapter(path) -> Promise<index> / stats() / info() / close() -> Promise<events>
#define NAPI_VERSION 8
#include <node_api.h>

#include "loop.h"
#include "ggml-backend.h"

#include <dlfcn.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>

using namespace atelier;

#define CHECK(call)                                                                   \
    do {                                                                              \
        if ((call) != napi_ok) { throw_last(env, #call); return nullptr; }           \
    } while (0)

static void throw_last(napi_env env, const char * what) {
    const napi_extended_error_info * info = nullptr;
    napi_get_last_error_info(env, &info);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, "ATELIER_NATIVE", (std::string(what) + ": " + (info && info->error_message ? info->error_message : "N-API error")).c_str());
}

// ---- small value helpers ----

static bool has(napi_env env, napi_value obj, const char * key) {
    bool r = false;
    napi_has_named_property(env, obj, key, &r);
    if (!r) return false;
    napi_value v;
    napi_valuetype t;
    napi_get_named_property(env, obj, key, &v);
    napi_typeof(env, v, &t);
    return t != napi_undefined && t != napi_null;
}
static double num(napi_env env, napi_value obj, const char * key, double def) {
    if (!has(env, obj, key)) return def;
    napi_value v;
    double d = def;
    napi_get_named_property(env, obj, key, &v);
    if (napi_get_value_double(env, v, &d) != napi_ok) return def;
    return d;
}
static bool flag(napi_env env, napi_value obj, const char * key, bool def) {
    if (!has(env, obj, key)) return def;
    napi_value v;
    bool b = def;
    napi_get_named_property(env, obj, key, &v);
    if (napi_get_value_bool(env, v, &b) != napi_ok) return def;
    return b;
}
static std::string str(napi_env env, napi_value v) {
    size_t n = 0;
    if (napi_get_value_string_utf8(env, v, nullptr, 0, &n) != napi_ok) return "";
    std::string s(n, '\0');
    napi_get_value_string_utf8(env, v, s.data(), n + 1, &n);
    return s;
}
static std::string str(napi_env env, napi_value obj, const char * key) {
    if (!has(env, obj, key)) return "";
    napi_value v;
    napi_get_named_property(env, obj, key, &v);
    return str(env, v);
}
static napi_value make_str(napi_env env, const std::string & s) {
    napi_value v;
    napi_create_string_utf8(env, s.data(), s.size(), &v);
    return v;
}
static napi_value make_num(napi_env env, double d) {
    napi_value v;
    napi_create_double(env, d, &v);
    return v;
}
static void set(napi_env env, napi_value obj, const char * key, napi_value v) { napi_set_named_property(env, obj, key, v); }

/** Copies an Int32Array / Uint32Array / number[] into tokens. */
static bool tokens_of(napi_env env, napi_value v, std::vector<llama_token> & out) {
    bool is_typed = false;
    napi_is_typedarray(env, v, &is_typed);
    if (is_typed) {
        napi_typedarray_type type;
        size_t length;
        void * data;
        napi_value buf;
        size_t offset;
        napi_get_typedarray_info(env, v, &type, &length, &data, &buf, &offset);
        if (type != napi_int32_array && type != napi_uint32_array) return false;
        out.assign((const llama_token *) data, (const llama_token *) data + length);
        return true;
    }
    bool is_array = false;
    napi_is_array(env, v, &is_array);
    if (!is_array) return false;
    uint32_t n = 0;
    napi_get_array_length(env, v, &n);
    out.resize(n);
    for (uint32_t i = 0; i < n; i++) {
        napi_value e;
        int32_t t = 0;
        napi_get_element(env, v, i, &e);
        if (napi_get_value_int32(env, e, &t) != napi_ok) return false;
        out[i] = t;
    }
    return true;
}

// ---- library facts (the start-up self-check reads these) ----

static napi_value library_info(napi_env env, napi_callback_info) {
    napi_value out;
    napi_create_object(env, &out);
    Dl_info info{};
    if (dladdr((void *) &llama_decode, &info) && info.dli_fname) set(env, out, "llamaLibrary", make_str(env, info.dli_fname));
    if (dladdr((void *) &ggml_backend_dev_count, &info) && info.dli_fname) set(env, out, "ggmlLibrary", make_str(env, info.dli_fname));
    napi_value devices;
    napi_create_array(env, &devices);
    for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
        ggml_backend_dev_t d = ggml_backend_dev_get(i);
        napi_value o;
        napi_create_object(env, &o);
        set(env, o, "name", make_str(env, ggml_backend_dev_name(d)));
        set(env, o, "description", make_str(env, ggml_backend_dev_description(d)));
        const auto t = ggml_backend_dev_type(d);
        set(env, o, "type", make_str(env, t == GGML_BACKEND_DEVICE_TYPE_CPU ? "cpu" : t == GGML_BACKEND_DEVICE_TYPE_GPU ? "gpu" : t == GGML_BACKEND_DEVICE_TYPE_IGPU ? "igpu" : "accel"));
        napi_set_element(env, devices, (uint32_t) i, o);
    }
    set(env, out, "devices", devices);
    set(env, out, "systemInfo", make_str(env, llama_print_system_info()));
    return out;
}

static napi_value load_backends(napi_env env, napi_callback_info cb) {
    size_t argc = 1;
    napi_value argv[1];
    CHECK(napi_get_cb_info(env, cb, &argc, argv, nullptr, nullptr));
    if (ggml_backend_dev_count() == 0 && argc > 0) ggml_backend_load_all_from_path(str(env, argv[0]).c_str());
    return make_num(env, (double) ggml_backend_dev_count());
}

// ---- the loop object ----

struct LoopWrap;
static napi_ref g_constructor = nullptr;

/** Work handed from the loop thread to the JS thread through the threadsafe function. */
struct JsCall {
    napi_deferred deferred = nullptr;  // adapter load result; null = "events are waiting"
    int32_t index = -1;
    std::string error;
    LoopWrap * w = nullptr;
};

struct LoopWrap {
    Loop * loop = nullptr;
    napi_threadsafe_function tsfn = nullptr;
    napi_env env = nullptr;
    napi_ref wrapper = nullptr;
    int64_t outstanding = 0;   // requests + adapter loads in flight: the TSFN keeps Node alive while > 0
    bool closed = false;
    bool hooked = false;

    void ref() { if (outstanding++ == 0 && tsfn) napi_ref_threadsafe_function(env, tsfn); }
    void unref() { if (outstanding > 0 && --outstanding == 0 && tsfn) napi_unref_threadsafe_function(env, tsfn); }
};

static void teardown(LoopWrap * w) {
    if (w->loop) { w->loop->stop(); delete w->loop; w->loop = nullptr; }
    if (w->tsfn) { napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort); w->tsfn = nullptr; }
}

static void env_cleanup(void * data) {
    auto * w = (LoopWrap *) data;
    w->hooked = false;
    teardown(w);
}

static void finalize_wrap(napi_env env, void * data, void *) {
    auto * w = (LoopWrap *) data;
    if (w->hooked) napi_remove_env_cleanup_hook(env, env_cleanup, w);
    teardown(w);
    delete w;
}

static void call_js(napi_env env, napi_value notify, void *, void * data) {
    if (!env) { delete (JsCall *) data; return; }
    auto * call = (JsCall *) data;
    if (call && call->deferred) {
        if (call->error.empty()) napi_resolve_deferred(env, call->deferred, make_num(env, call->index));
        else {
            napi_value msg, err;
            napi_create_string_utf8(env, call->error.c_str(), NAPI_AUTO_LENGTH, &msg);
            napi_create_error(env, nullptr, msg, &err);
            napi_reject_deferred(env, call->deferred, err);
        }
        if (call->w) call->w->unref();
        delete call;
        return;
    }
    delete call;
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, notify, 0, nullptr, nullptr);
}

static LoopWrap * unwrap(napi_env env, napi_callback_info cb, size_t * argc, napi_value * argv) {
    napi_value self;
    void * data = nullptr;
    if (napi_get_cb_info(env, cb, argc, argv, &self, nullptr) != napi_ok) return nullptr;
    if (napi_unwrap(env, self, &data) != napi_ok) return nullptr;
    auto * w = (LoopWrap *) data;
    if (!w->loop || w->closed) {
        napi_throw_error(env, "ATELIER_NATIVE_CLOSED", "the native generation loop is closed");
        return nullptr;
    }
    return w;
}

static napi_value loop_ctor(napi_env env, napi_callback_info cb) {
    size_t argc = 1;
    napi_value argv[1], self;
    CHECK(napi_get_cb_info(env, cb, &argc, argv, &self, nullptr));
    void * ptr = nullptr;
    if (argc < 1 || napi_get_value_external(env, argv[0], &ptr) != napi_ok) {
        napi_throw_error(env, nullptr, "NativeLoop is created by createLoop()");
        return nullptr;
    }
    CHECK(napi_wrap(env, self, ptr, finalize_wrap, nullptr, nullptr));
    return self;
}

static napi_value loop_submit(napi_env env, napi_callback_info cb) {
    size_t argc = 3;
    napi_value argv[3];
    LoopWrap * w = unwrap(env, cb, &argc, argv);
    if (!w) return nullptr;
    if (argc < 3) { napi_throw_type_error(env, nullptr, "submit(id, prompt, request)"); return nullptr; }
    Request r;
    uint32_t id = 0;
    CHECK(napi_get_value_uint32(env, argv[0], &id));
    r.id = id;
    if (!tokens_of(env, argv[1], r.prompt)) { napi_throw_type_error(env, nullptr, "prompt must be an Int32Array of token ids"); return nullptr; }
    for (llama_token t : r.prompt) {
        if (t < 0 || t >= w->loop->n_vocab()) { napi_throw_range_error(env, nullptr, ("token id " + std::to_string(t) + " is outside the vocabulary").c_str()); return nullptr; }
    }
    napi_value o = argv[2];
    SamplingParams & sp = r.sampling;
    sp.temperature = (float) num(env, o, "temperature", 0);
    sp.top_k = (int32_t) num(env, o, "topK", 40);
    sp.top_p = (float) num(env, o, "topP", 0.95);
    sp.min_p = (float) num(env, o, "minP", 0);
    sp.repeat_penalty = (float) num(env, o, "repeatPenalty", 1);
    sp.presence_penalty = (float) num(env, o, "presencePenalty", 0);
    sp.frequency_penalty = (float) num(env, o, "frequencyPenalty", 0);
    sp.penalty_last_n = (int32_t) num(env, o, "penaltyLastN", 64);
    sp.penalize_nl = flag(env, o, "penalizeNewline", false);
    sp.seed = (uint32_t) num(env, o, "seed", 0);
    r.max_tokens = (int32_t) num(env, o, "maxTokens", 256);
    r.adapter = (int32_t) num(env, o, "adapter", -1);
    r.ignore_eog = flag(env, o, "ignoreEog", false);
    if (has(env, o, "stopStrings")) {
        napi_value arr;
        uint32_t n = 0;
        napi_get_named_property(env, o, "stopStrings", &arr);
        napi_get_array_length(env, arr, &n);
        for (uint32_t i = 0; i < n; i++) {
            napi_value e;
            napi_get_element(env, arr, i, &e);
            r.stop_strings.push_back(str(env, e));
        }
    }
    if (has(env, o, "stopTokens")) {
        napi_value arr;
        uint32_t n = 0;
        napi_get_named_property(env, o, "stopTokens", &arr);
        napi_get_array_length(env, arr, &n);
        for (uint32_t i = 0; i < n; i++) {
            napi_value e;
            napi_get_element(env, arr, i, &e);
            std::vector<llama_token> seq;
            if (!tokens_of(env, e, seq)) { napi_throw_type_error(env, nullptr, "stopTokens must be token id arrays"); return nullptr; }
            r.stop_token_seqs.push_back(std::move(seq));
        }
    }
    w->ref();
    w->loop->submit(std::move(r));
    return nullptr;
}

static napi_value loop_cancel(napi_env env, napi_callback_info cb) {
    size_t argc = 1;
    napi_value argv[1];
    LoopWrap * w = unwrap(env, cb, &argc, argv);
    if (!w) return nullptr;
    uint32_t id = 0;
    CHECK(napi_get_value_uint32(env, argv[0], &id));
    w->loop->cancel(id);
    return nullptr;
}

static const char * reason_name(StopReason r) {
    switch (r) {
        case StopReason::Eog: return "eogToken";
        case StopReason::Trigger: return "stopGenerationTrigger";
        case StopReason::MaxTokens: return "maxTokens";
        case StopReason::Abort: return "abort";
        case StopReason::Error: return "error";
        default: return "";
    }
}

static napi_value events_to_js(napi_env env, LoopWrap * w, const std::vector<Event> & events) {
    napi_value arr;
    napi_create_array_with_length(env, events.size(), &arr);
    for (size_t i = 0; i < events.size(); i++) {
        const Event & e = events[i];
        napi_value o;
        napi_create_object(env, &o);
        set(env, o, "id", make_num(env, e.id));
        set(env, o, "text", make_str(env, e.text));
        set(env, o, "tokens", make_num(env, e.tokens));
        if (e.done) {
            napi_value t;
            napi_get_boolean(env, true, &t);
            set(env, o, "done", t);
            set(env, o, "reason", make_str(env, reason_name(e.reason)));
            set(env, o, "promptTokens", make_num(env, e.prompt_tokens));
            set(env, o, "reusedTokens", make_num(env, e.reused_tokens));
            set(env, o, "sequence", make_num(env, e.seq));
            if (!e.error.empty()) set(env, o, "error", make_str(env, e.error));
            w->unref();
        }
        napi_set_element(env, arr, (uint32_t) i, o);
    }
    return arr;
}

static napi_value loop_drain(napi_env env, napi_callback_info cb) {
    size_t argc = 0;
    napi_value self;
    void * data = nullptr;
    CHECK(napi_get_cb_info(env, cb, &argc, nullptr, &self, nullptr));
    CHECK(napi_unwrap(env, self, &data));
    auto * w = (LoopWrap *) data;
    if (!w->loop) return events_to_js(env, w, {});
    return events_to_js(env, w, w->loop->drain());
}

static napi_value loop_load_adapter(napi_env env, napi_callback_info cb) {
    size_t argc = 1;
    napi_value argv[1];
    LoopWrap * w = unwrap(env, cb, &argc, argv);
    if (!w) return nullptr;
    napi_deferred deferred;
    napi_value promise;
    CHECK(napi_create_promise(env, &deferred, &promise));
    w->ref();
    napi_threadsafe_function tsfn = w->tsfn;
    w->loop->load_adapter(str(env, argv[0]), [tsfn, deferred, w](int32_t index, std::string error) {
        auto * call = new JsCall{deferred, index, std::move(error), w};
        if (napi_call_threadsafe_function(tsfn, call, napi_tsfn_blocking) != napi_ok) delete call;
    });
    return promise;
}

static napi_value loop_stats(napi_env env, napi_callback_info cb) {
    size_t argc = 0;
    LoopWrap * w = unwrap(env, cb, &argc, nullptr);
    if (!w) return nullptr;
    const LoopStats s = w->loop->stats();
    napi_value o;
    napi_create_object(env, &o);
    set(env, o, "steps", make_num(env, (double) s.steps));
    set(env, o, "decodes", make_num(env, (double) s.decodes));
    set(env, o, "decodedTokens", make_num(env, (double) s.decoded_tokens));
    set(env, o, "prefillTokens", make_num(env, (double) s.prefill_tokens));
    set(env, o, "sampledTokens", make_num(env, (double) s.sampled_tokens));
    set(env, o, "maxActive", make_num(env, (double) s.max_active));
    set(env, o, "maxStepSequences", make_num(env, (double) s.max_step_sequences));
    set(env, o, "kvCopies", make_num(env, (double) s.kv_copies));
    set(env, o, "decodeMs", make_num(env, s.decode_ms));
    set(env, o, "sampleMs", make_num(env, s.sample_ms));
    set(env, o, "active", make_num(env, s.active));
    set(env, o, "queued", make_num(env, s.queued));
    return o;
}

static napi_value loop_info(napi_env env, napi_callback_info cb) {
    size_t argc = 0;
    LoopWrap * w = unwrap(env, cb, &argc, nullptr);
    if (!w) return nullptr;
    napi_value o;
    napi_create_object(env, &o);
    set(env, o, "contextPerSequence", make_num(env, w->loop->n_ctx_seq()));
    set(env, o, "sequences", make_num(env, w->loop->n_seq()));
    set(env, o, "vocabulary", make_num(env, w->loop->n_vocab()));
    return o;
}

// close(): stop the thread and free the model off the JS thread; resolves with the last events.
struct CloseWork {
    LoopWrap * w;
    Loop * loop;
    std::vector<Event> events;
    napi_deferred deferred;
    napi_async_work work;
};

static napi_value loop_close(napi_env env, napi_callback_info cb) {
    size_t argc = 0;
    napi_value self;
    void * data = nullptr;
    CHECK(napi_get_cb_info(env, cb, &argc, nullptr, &self, nullptr));
    CHECK(napi_unwrap(env, self, &data));
    auto * w = (LoopWrap *) data;
    napi_value promise;
    auto * c = new CloseWork{w, w->loop, {}, nullptr, nullptr};
    CHECK(napi_create_promise(env, &c->deferred, &promise));
    w->closed = true;
    w->loop = nullptr;
    if (w->hooked) { napi_remove_env_cleanup_hook(env, env_cleanup, w); w->hooked = false; }
    napi_value name = make_str(env, "atelier.loop.close");
    CHECK(napi_create_async_work(env, nullptr, name,
        [](napi_env, void * d) {
            auto * c = (CloseWork *) d;
            if (c->loop) { c->loop->stop(); c->events = c->loop->drain(); delete c->loop; c->loop = nullptr; }
        },
        [](napi_env env, napi_status, void * d) {
            auto * c = (CloseWork *) d;
            napi_value events = events_to_js(env, c->w, c->events);
            if (c->w->tsfn) { napi_release_threadsafe_function(c->w->tsfn, napi_tsfn_release); c->w->tsfn = nullptr; }
            napi_resolve_deferred(env, c->deferred, events);
            napi_delete_async_work(env, c->work);
            delete c;
        },
        c, &c->work));
    CHECK(napi_queue_async_work(env, c->work));
    return promise;
}

// createLoop(options, notify): the model loads on a worker thread.
struct CreateWork {
    LoopOptions opts;
    Loop * loop = nullptr;
    std::string error;
    napi_ref notify = nullptr;
    napi_deferred deferred = nullptr;
    napi_async_work work = nullptr;
};

static napi_value create_loop(napi_env env, napi_callback_info cb) {
    size_t argc = 2;
    napi_value argv[2];
    CHECK(napi_get_cb_info(env, cb, &argc, argv, nullptr, nullptr));
    napi_valuetype t1 = napi_undefined;
    if (argc >= 2) napi_typeof(env, argv[1], &t1);
    if (argc < 2 || t1 != napi_function) { napi_throw_type_error(env, nullptr, "createLoop(options, notify)"); return nullptr; }
    auto * c = new CreateWork();
    napi_value o = argv[0];
    c->opts.model_path = str(env, o, "modelPath");
    c->opts.gpu_layers = (int32_t) num(env, o, "gpuLayers", 0);
    c->opts.n_seq = (uint32_t) num(env, o, "sequences", 8);
    c->opts.n_ctx_seq = (uint32_t) num(env, o, "contextPerSequence", 2048);
    c->opts.n_batch = (uint32_t) num(env, o, "batchSize", 512);
    c->opts.prefill_chunk = (uint32_t) num(env, o, "prefillChunk", 256);
    c->opts.threads = (int32_t) num(env, o, "threads", 1);
    c->opts.flash_attn = (int) num(env, o, "flashAttention", -1);
    c->opts.kv_unified = flag(env, o, "kvUnified", false);
    c->opts.use_mmap = flag(env, o, "useMmap", true);
    napi_create_reference(env, argv[1], 1, &c->notify);
    napi_value promise;
    CHECK(napi_create_promise(env, &c->deferred, &promise));
    napi_value name = make_str(env, "atelier.loop.create");
    CHECK(napi_create_async_work(env, nullptr, name,
        [](napi_env, void * d) {
            auto * c = (CreateWork *) d;
            try { c->loop = new Loop(c->opts); } catch (const std::exception & e) { c->error = e.what(); }
        },
        [](napi_env env, napi_status, void * d) {
            auto * c = (CreateWork *) d;
            napi_value notify;
            napi_get_reference_value(env, c->notify, &notify);
            napi_delete_reference(env, c->notify);
            if (!c->loop) {
                napi_value msg, err;
                napi_create_string_utf8(env, c->error.c_str(), NAPI_AUTO_LENGTH, &msg);
                napi_create_error(env, nullptr, msg, &err);
                napi_reject_deferred(env, c->deferred, err);
            } else {
                auto * w = new LoopWrap();
                w->loop = c->loop;
                w->env = env;
                napi_value ext, ctor, obj, name = make_str(env, "atelier.loop.notify");
                napi_create_threadsafe_function(env, notify, nullptr, name, 0, 1, nullptr, nullptr, nullptr, call_js, &w->tsfn);
                napi_unref_threadsafe_function(env, w->tsfn);  // ref'd only while work is in flight
                napi_create_external(env, w, nullptr, nullptr, &ext);
                napi_get_reference_value(env, g_constructor, &ctor);
                if (napi_new_instance(env, ctor, 1, &ext, &obj) != napi_ok) {
                    teardown(w);
                    delete w;
                    napi_value msg, err;
                    napi_create_string_utf8(env, "could not wrap the native loop", NAPI_AUTO_LENGTH, &msg);
                    napi_create_error(env, nullptr, msg, &err);
                    napi_reject_deferred(env, c->deferred, err);
                } else {
                    napi_add_env_cleanup_hook(env, env_cleanup, w);
                    w->hooked = true;
                    napi_threadsafe_function tsfn = w->tsfn;
                    w->loop->start([tsfn] { napi_call_threadsafe_function(tsfn, nullptr, napi_tsfn_nonblocking); });
                    napi_resolve_deferred(env, c->deferred, obj);
                }
            }
            napi_delete_async_work(env, c->work);
            delete c;
        },
        c, &c->work));
    CHECK(napi_queue_async_work(env, c->work));
    return promise;
}

static napi_value init(napi_env env, napi_value exports) {
    napi_property_descriptor methods[] = {
        {"submit", nullptr, loop_submit, nullptr, nullptr, nullptr, napi_default, nullptr},
        {"cancel", nullptr, loop_cancel, nullptr, nullptr, nullptr, napi_default, nullptr},
        {"drain", nullptr, loop_drain, nullptr, nullptr, nullptr, napi_default, nullptr},
        {"loadAdapter", nullptr, loop_load_adapter, nullptr, nullptr, nullptr, napi_default, nullptr},
        {"stats", nullptr, loop_stats, nullptr, nullptr, nullptr, napi_default, nullptr},
        {"info", nullptr, loop_info, nullptr, nullptr, nullptr, napi_default, nullptr},
        {"close", nullptr, loop_close, nullptr, nullptr, nullptr, napi_default, nullptr},
    };
    napi_value ctor;
    CHECK(napi_define_class(env, "NativeLoop", NAPI_AUTO_LENGTH, loop_ctor, nullptr, sizeof methods / sizeof methods[0], methods, &ctor));
    CHECK(napi_create_reference(env, ctor, 1, &g_constructor));
    napi_property_descriptor fns[] = {
        {"libraryInfo", nullptr, library_info, nullptr, nullptr, nullptr, napi_default, nullptr},
        {"loadBackends", nullptr, load_backends, nullptr, nullptr, nullptr, napi_default, nullptr},
        {"createLoop", nullptr, create_loop, nullptr, nullptr, nullptr, napi_default, nullptr},
    };
    CHECK(napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns));
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
