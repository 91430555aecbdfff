// Engine (engine.h): gradient/moment buffers, the cached step graphs (one per target-row bucket, or the segments
// of a checkpointed step), input upload, gradient accumulation over micro-batches, and the optimizer step.
// Shapes: tokens [B·T], positions [T], causal (and sliding-window) masks [T, T], gathered targets [M] with
// one-hot labels [V, M]; checkpoints and their gradients [E, B·T].
#include "engine.h"
#include "common.h"
#include "gemm.h"
#include "cpu_ops.h"

#include "ggml-alloc.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

MicroBatch make_micro_batch(const Dataset & d, const std::vector<int64_t> & rows) {
    const int T = d.seq_len();
    MicroBatch mb;
    mb.tokens.assign(rows.size() * T, 0);
    for (size_t b = 0; b < rows.size(); b++) {
        if (rows[b] < 0) continue;
        const int32_t * tok = d.row_tokens((uint32_t) rows[b]);
        const uint8_t * msk = d.row_mask((uint32_t) rows[b]);
        memcpy(mb.tokens.data() + b * T, tok, T * sizeof(int32_t));
        for (int i = 0; i < T; i++) {
            if (msk[i + 1]) {
                mb.idx.push_back((int32_t) (b * T + i));
                mb.targets.push_back(tok[i + 1]);
            }
        }
    }
    return mb;
}

Engine::Engine(Backends & be, Model & m, int B, int T, bool train) : B(B), T(T), be(be), m(m), train(train) {
    fast_gemm = be.forge_gemm();
    trainable = m.lora.empty() ? m.params() : m.lora_tensors;
    const size_t n_state = trainable.size() * 3 + 8;
    ggml_init_params ip = { n_state * ggml_tensor_overhead() * 2, nullptr, true };
    sctx = ggml_init(ip);
    // Three contexts' worth of tensors in one ggml context, but separate buffers so
    // zeroing gradients is a single buffer clear.
    std::vector<ggml_tensor *> grads, moments;
    if (train) {
        for (ggml_tensor * p : trainable) {
            if (p->type != GGML_TYPE_F32) fail("BAD_CONFIG", std::string("trainable tensor ") + ggml_get_name(p) + " is not F32");
            ggml_set_param(p);
            ggml_tensor * g = ggml_new_tensor(sctx, GGML_TYPE_F32, GGML_MAX_DIMS, p->ne);
            ggml_format_name(g, "%s.grad", ggml_get_name(p));
            grad_of[p] = g;
            grads.push_back(g);
        }
    }
    ggml_backend_buffer_type_t buft = ggml_backend_get_default_buffer_type(be.main());
    auto alloc_list = [&](const std::vector<ggml_tensor *> & ts, const char * what) -> ggml_backend_buffer_t {
        if (ts.empty()) return nullptr;
        size_t total = 0;
        const size_t align = ggml_backend_buft_get_alignment(buft);
        for (auto * t : ts) total += GGML_PAD(ggml_backend_buft_get_alloc_size(buft, t), align);
        ggml_backend_buffer_t buf = ggml_backend_buft_alloc_buffer(buft, total);
        if (!buf) fail("OUT_OF_MEMORY", std::string("cannot allocate ") + fmt_bytes(total) + " for " + what);
        ggml_tallocr ta = ggml_tallocr_new(buf);
        for (auto * t : ts) ggml_tallocr_alloc(&ta, t);
        ggml_backend_buffer_clear(buf, 0);
        return buf;
    };
    grads_buf = alloc_list(grads, "gradients");
    if (train) {
        for (ggml_tensor * p : trainable) {
            ggml_tensor * mt = ggml_new_tensor(sctx, GGML_TYPE_F32, GGML_MAX_DIMS, p->ne);
            ggml_tensor * vt = ggml_new_tensor(sctx, GGML_TYPE_F32, GGML_MAX_DIMS, p->ne);
            ggml_format_name(mt, "%s.adam_m", ggml_get_name(p));
            ggml_format_name(vt, "%s.adam_v", ggml_get_name(p));
            m_of[p] = mt;
            v_of[p] = vt;
            moments.push_back(mt);
            moments.push_back(vt);
        }
    }
    moments_buf = alloc_list(moments, "AdamW moments");
    loss_grad = ggml_new_tensor_1d(sctx, GGML_TYPE_F32, 1);
    clip_scale = ggml_new_tensor_1d(sctx, GGML_TYPE_F32, 1);
    adam_wd = ggml_new_tensor_1d(sctx, GGML_TYPE_F32, 7);
    adam_nowd = ggml_new_tensor_1d(sctx, GGML_TYPE_F32, 7);
    aux_buf = alloc_list({loss_grad, clip_scale, adam_wd, adam_nowd}, "optimizer scalars");

    pos_data.resize(T);
    for (int i = 0; i < T; i++) pos_data[i] = i;
    // Causal mask [Tk, Tq]: row q may attend to keys k <= q. The sliding-window mask also hides keys with
    // q - k >= n_swa (llama.cpp's is_masked_swa, LLAMA_SWA_TYPE_STANDARD).
    mask_data.assign((size_t) T * T, 0.0f);
    for (int q = 0; q < T; q++)
        for (int k = q + 1; k < T; k++) mask_data[(size_t) q * T + k] = -INFINITY;
    if (!m.hp.swa_layer.empty()) {
        mask_swa_data = mask_data;
        for (int q = 0; q < T; q++)
            for (int k = 0; k <= q; k++)
                if (q - k >= m.hp.n_swa) mask_swa_data[(size_t) q * T + k] = -INFINITY;
    }
    // mistral3 temperature tuning (llama.cpp llm_graph_input_attn_temp): q × (log(floor(pos / floor_len) + 1) · s + 1)
    if (m.hp.attn_temp_scale != 0.0f) {
        attn_temp_data.resize(T);
        for (int i = 0; i < T; i++)
            attn_temp_data[i] = (float) (std::log(std::floor((float) i / m.hp.attn_temp_floor) + 1.0) * m.hp.attn_temp_scale + 1.0);
    }

    // With forge's pool the optimizer runs in forge's code (cpu_ops.h: f64 norm, one fused AdamW
    // pass that also clears the gradients); ggml's graphs remain for GPUs and ggml-threaded runs.
    const char * keep = getenv("ATELIER_FORGE_GGML_OPS");
    fused_opt = train && fast_gemm && !be.ggml_threads && !(keep && *keep && *keep != '0');
    if (fused_opt) {
        for (ggml_tensor * p : trainable) {
            AdamWSlot s{(float *) p->data, (float *) grad_of[p]->data, (float *) m_of[p]->data, (float *) v_of[p]->data,
                        ggml_nelements(p), ggml_n_dims(p) >= 2};
            if (!s.w || !s.g || !s.m || !s.v) fail("IO", std::string("tensor ") + ggml_get_name(p) + " is not in host memory");
            slots.push_back(s);
        }
    }
    if (train) {
        const size_t osize = 1024 + trainable.size() * 8;
        size_t gsz = 64;
        while (gsz < osize) gsz <<= 1;
        ggml_init_params op = { gsz * 2 * ggml_tensor_overhead() + 2 * ggml_graph_overhead_custom(gsz, false), nullptr, true };
        octx = ggml_init(op);
        norm_graph = ggml_new_graph_custom(octx, gsz, false);
        for (ggml_tensor * p : trainable) {
            ggml_tensor * s = ggml_sum(octx, ggml_sqr(octx, grad_of[p]));
            sumsq = sumsq ? ggml_add(octx, sumsq, s) : s;
        }
        ggml_set_output(sumsq);
        ggml_build_forward_expand(norm_graph, sumsq);
        opt_graph = ggml_new_graph_custom(octx, gsz, false);
        for (ggml_tensor * p : trainable) {
            ggml_tensor * g = ggml_mul(octx, grad_of[p], clip_scale);
            ggml_tensor * hp = ggml_n_dims(p) >= 2 ? adam_wd : adam_nowd;
            ggml_build_forward_expand(opt_graph, ggml_opt_step_adamw(octx, p, g, m_of[p], v_of[p], hp));
        }
    }
}

Engine::~Engine() {
    train_graphs.clear();
    eval_graphs.clear();
    fwd_graph[0].reset();
    fwd_graph[1].reset();
    head_graphs[0].clear();
    head_graphs[1].clear();
    layer_graphs.clear();
    embed_graph.reset();
    if (ckpt_buf) ggml_backend_buffer_free(ckpt_buf);
    if (cctx) ggml_free(cctx);
    if (octx) ggml_free(octx);
    if (grads_buf) ggml_backend_buffer_free(grads_buf);
    if (moments_buf) ggml_backend_buffer_free(moments_buf);
    if (aux_buf) ggml_backend_buffer_free(aux_buf);
    if (sctx) ggml_free(sctx);
}

uint64_t Engine::state_bytes() const {
    uint64_t n = 0;
    if (grads_buf) n += ggml_backend_buffer_get_size(grads_buf);
    if (moments_buf) n += ggml_backend_buffer_get_size(moments_buf);
    return n;
}

int Engine::bucket(int M) const {
    // A handful of graph shapes: enough to skip most of the padding rows' head compute
    // without rebuilding a graph every step.
    const int full = B * T;
    const int gran = std::max(8, (full + 7) / 8);
    int b = ((std::max(M, 1) + gran - 1) / gran) * gran;
    return std::min(b, full);
}

StepGraph * Engine::graph_for(int M, bool backward) {
    auto & cache = backward ? train_graphs : eval_graphs;
    auto it = cache.find(M);
    if (it != cache.end()) return it->second.get();
    // Training steps use the run's precision; evaluation stays F32, so held-out numbers are comparable across runs.
    StepGraph * g = build_step_graph(m, B, T, M, backward, backward, fast_gemm, backward && bf16, grad_of, loss_grad);
    cache[M].reset(g);
    return g;
}

// Forget where a cached graph's activations lived, so the next allocation places every one of them.
// ggml's graph allocator only places tensors whose `data` is NULL (llama.cpp rebuilds its graphs for
// every batch, so its tensors always are). Forge caches graphs per bucket and switches between them;
// when another graph made the scheduler grow (free + reallocate) its compute buffer, the cached
// graph's tensors kept pointers into the freed buffer and the next input upload wrote there (the
// eval SIGSEGV in memcpy with chat rows of mixed target counts, issue 12). Persistent tensors
// (weights, LoRA, gradients, moments) live in non-compute buffers and are left alone.
static void forget_compute_placement(ggml_cgraph * g) {
    auto reset = [](ggml_tensor * t) {
        if (t->buffer && ggml_backend_buffer_get_usage(t->buffer) == GGML_BACKEND_BUFFER_USAGE_COMPUTE) {
            t->data = nullptr;
            t->buffer = nullptr;
        }
    };
    for (int i = 0; i < ggml_graph_n_nodes(g); i++) {
        ggml_tensor * n = ggml_graph_node(g, i);
        reset(n);
        for (int s = 0; s < GGML_MAX_SRC; s++) if (n->src[s]) reset(n->src[s]);
    }
}

void Engine::use_graph(ggml_cgraph * g) {
    if (allocated == g) return;
    forget_compute_placement(g);
    ggml_backend_sched_reset(be.sched);
    if (!ggml_backend_sched_alloc_graph(be.sched, g)) fail("OUT_OF_MEMORY", "cannot allocate compute buffers for the training graph");
    allocated = g;
}

// The graphs a step can run: one graph, or the segments of a checkpointed step (the scheduler's buffer is
// sized by the largest of them; the per-layer segments all have the first one's shape).
std::vector<StepGraph *> Engine::largest_graphs() {
    if (!checkpoint) return {graph_for(B * T, train)};
    std::vector<StepGraph *> gs = {segment(Segment::Forward, 0, train), segment(Segment::Head, head_chunk, train)};
    if (!train) gs.push_back(segment(Segment::Forward, 0, false));
    if (train) {
        gs.push_back(segment(Segment::Layer, m.hp.n_layer - 1, true));
        if (grad_of.count(m.tok_embd)) gs.push_back(segment(Segment::Embed, 0, true));
    }
    return gs;
}

// Host memory of the graph objects a run will build (ggml contexts holding tensor metadata and graphs): the
// largest graphs are built by now; the remaining per-layer segments and the eval graphs are extrapolated.
uint64_t Engine::graph_bytes_estimate() {
    auto used = [](StepGraph * g) { return g ? (uint64_t) ggml_used_mem(g->ctx) : 0; };
    if (!checkpoint) {
        const uint64_t one = used(graph_for(B * T, train));
        return one * (train ? 3 : 2) / 2 + one; // a couple of bucket sizes of the train graph, forward-only eval graphs
    }
    uint64_t n = used(segment(Segment::Forward, 0, train)) * 2 + used(segment(Segment::Head, head_chunk, train)) * 2;
    if (train) {
        n += used(segment(Segment::Layer, m.hp.n_layer - 1, true)) * m.hp.n_layer;
        if (grad_of.count(m.tok_embd)) n += used(segment(Segment::Embed, 0, true));
    }
    return n;
}

uint64_t Engine::measure_compute_bytes() {
    uint64_t best = 0;
    for (StepGraph * g : largest_graphs()) {
        int n = ggml_backend_sched_get_n_backends(be.sched);
        std::vector<size_t> sizes(n, 0);
        ggml_backend_sched_reserve_size(be.sched, g->graph, sizes.data());
        uint64_t total = 0;
        for (size_t s : sizes) total += s;
        best = std::max(best, total);
    }
    return best;
}

void Engine::reserve() {
    for (StepGraph * g : largest_graphs()) {
        forget_compute_placement(g->graph);
        if (!ggml_backend_sched_reserve(be.sched, g->graph)) fail("OUT_OF_MEMORY", "cannot allocate compute buffers");
    }
    allocated = nullptr;
}

// Uploads the inputs a graph has: tokens and attention inputs, dropout masks (seeded per mask identity, so a
// recomputed block draws the masks its forward pass drew), and for the head the target rows [r0, r1) of mb.
void Engine::set_inputs(StepGraph * g, const MicroBatch & mb, int r0, int r1, uint64_t dropout_seed) {
    // an input the graph does not read (a sliding-window mask in a global layer's segment) has no buffer
    auto set = [](ggml_tensor * t, const void * data, size_t n) { if (t && t->buffer) ggml_backend_tensor_set(t, data, 0, n); };
    set(g->tokens, mb.tokens.data(), mb.tokens.size() * 4);
    set(g->pos, pos_data.data(), pos_data.size() * 4);
    set(g->kq_mask, mask_data.data(), mask_data.size() * 4);
    set(g->kq_mask_swa, mask_swa_data.data(), mask_swa_data.size() * 4);
    set(g->attn_temp, attn_temp_data.data(), attn_temp_data.size() * 4);
    if (g->idx) {
        const int M = g->M, Mr = r1 - r0;
        std::vector<int32_t> idx(M, 0);
        std::copy(mb.idx.begin() + r0, mb.idx.begin() + r1, idx.begin());
        ggml_backend_tensor_set(g->idx, idx.data(), 0, M * 4);
        const int V = m.hp.n_vocab;
        // One-hot labels are V x M floats (large for big vocabularies): keep one zeroed host
        // buffer and only touch the M ones.
        if (labels_host.size() < (size_t) V * M) labels_host.assign((size_t) V * M, 0.0f);
        std::vector<float> rowmask(M, 0.0f);
        for (int r = 0; r < Mr; r++) {
            labels_host[(size_t) r * V + mb.targets[r0 + r]] = 1.0f;
            rowmask[r] = 1.0f;
        }
        ggml_backend_tensor_set(g->labels, labels_host.data(), 0, (size_t) V * M * 4);
        for (int r = 0; r < Mr; r++) labels_host[(size_t) r * V + mb.targets[r0 + r]] = 0.0f;
        ggml_backend_tensor_set(g->rowmask, rowmask.data(), 0, M * 4);
    }
    if (!g->dropout_masks.empty()) {
        const float p = m.lora_dropout, keep = m.lora_scale / (1.0f - p); // dropout and the LoRA scale (model.cpp)
        std::vector<float> dm;
        for (size_t i = 0; i < g->dropout_masks.size(); i++) {
            ggml_tensor * t = g->dropout_masks[i];
            uint64_t st = dropout_seed ^ (g->dropout_ids[i] * 0x9E3779B97F4A7C15ull);
            dm.resize(ggml_nelements(t));
            for (float & x : dm) x = ((splitmix64(st) >> 40) * (1.0 / 16777216.0)) < p ? 0.0f : keep;
            ggml_backend_tensor_set(t, dm.data(), 0, dm.size() * 4);
        }
    }
}

void Engine::compute(StepGraph * g) {
    if (ggml_backend_sched_graph_compute(be.sched, g->graph) != GGML_STATUS_SUCCESS) fail("OUT_OF_MEMORY", "graph compute failed");
}

double Engine::run(StepGraph * g, const MicroBatch & mb, uint64_t dropout_seed) {
    use_graph(g->graph);
    set_inputs(g, mb, 0, (int) mb.idx.size(), dropout_seed);
    compute(g);
    float loss = 0;
    ggml_backend_tensor_get(g->loss, &loss, 0, 4);
    return (double) loss * g->M; // CE op averages over all M rows; padding rows add 0
}

// ------------------------------------------------------------------------------ checkpointed steps
void Engine::enable_checkpointing() {
    if (checkpoint) return;
    checkpoint = true;
    const HParams & hp = m.hp;
    const int L = hp.n_layer;
    ggml_init_params ip = { (size_t) (L + 8) * ggml_tensor_overhead(), nullptr, true };
    cctx = ggml_init(ip);
    for (int l = 0; l <= L; l++) {
        ggml_tensor * t = ggml_new_tensor_2d(cctx, GGML_TYPE_F32, hp.n_embd, (int64_t) B * T);
        ggml_format_name(t, "ckpt.%d", l);
        ckpt.push_back(t);
    }
    gx[0] = ggml_new_tensor_2d(cctx, GGML_TYPE_F32, hp.n_embd, (int64_t) B * T);
    gx[1] = ggml_new_tensor_2d(cctx, GGML_TYPE_F32, hp.n_embd, (int64_t) B * T);
    one = ggml_new_tensor_1d(cctx, GGML_TYPE_F32, 1);
    ckpt_buf = ggml_backend_alloc_ctx_tensors(cctx, be.main());
    if (!ckpt_buf) fail("OUT_OF_MEMORY", "cannot allocate " + fmt_bytes(ggml_get_mem_size(cctx)) + " for activation checkpoints");
    const float v1 = 1.0f;
    ggml_backend_tensor_set(one, &v1, 0, 4);
    // the block inputs are differentiated (their gradient is what flows from segment to segment)
    if (train) for (ggml_tensor * t : ckpt) ggml_set_param(t);
    // head chunk: [V, chunk] logits of at most ~64 MiB (one chunk's logits, their gradient and labels are alive)
    head_chunk = (int) std::max<int64_t>(8, std::min<int64_t>((int64_t) B * T, (64ll << 20) / (4ll * hp.n_vocab)));
    if (const char * hc = getenv("ATELIER_FORGE_HEAD_CHUNK")) if (atoi(hc) > 0) head_chunk = std::min(atoi(hc), B * T); // test hook
}

int Engine::head_bucket(int M) const {
    const int gran = std::max(8, (head_chunk + 7) / 8);
    return std::min(head_chunk, ((std::max(M, 1) + gran - 1) / gran) * gran);
}

StepGraph * Engine::segment(Segment seg, int arg, bool backward) {
    const int L = m.hp.n_layer;
    std::unique_ptr<StepGraph> * slot;
    SegmentIO io;
    io.ckpt = ckpt;
    io.one = one;
    int M = 0, layer = -1;
    switch (seg) {
        case Segment::Forward: slot = &fwd_graph[backward]; break;
        case Segment::Head: slot = &head_graphs[backward][arg]; M = arg; io.gx_out = gx[0]; break;
        case Segment::Layer:
            // ping-pong: the head writes gx[0]; block l reads dL/dx_{l+1} and writes dL/dx_l
            layer = arg;
            if (layer_graphs.size() < (size_t) L) layer_graphs.resize(L);
            slot = &layer_graphs[layer];
            io.gx_in = gx[(L - 1 - layer) % 2];
            io.gx_out = gx[(L - layer) % 2];
            break;
        case Segment::Embed: slot = &embed_graph; io.gx_in = gx[L % 2]; break;
        default: fail("IO", "internal: bad segment");
    }
    if (!*slot) {
        const bool drop = backward && (seg == Segment::Forward || seg == Segment::Layer);
        const bool bwd = backward && seg != Segment::Forward;
        slot->reset(build_segment_graph(m, seg, layer, B, T, M, bwd, drop, fast_gemm, backward && bf16, grad_of, loss_grad, io));
    }
    return slot->get();
}

double Engine::run_checkpointed(const MicroBatch & mb, int64_t step_targets, uint64_t dropout_seed, bool backward) {
    const int L = m.hp.n_layer;
    const int Mr = (int) mb.idx.size();
    StepGraph * f = segment(Segment::Forward, 0, backward);
    use_graph(f->graph);
    set_inputs(f, mb, 0, 0, dropout_seed);
    compute(f);
    if (backward) ggml_backend_tensor_memset(gx[0], 0, 0, ggml_nbytes(gx[0]));
    double sum = 0;
    for (int r0 = 0; r0 < Mr; r0 += head_chunk) {
        const int r1 = std::min(Mr, r0 + head_chunk);
        StepGraph * h = segment(Segment::Head, head_bucket(r1 - r0), backward);
        if (backward) {
            const float lg = (float) h->M / (float) step_targets; // graph loss = CE_sum / M; step loss = CE_sum / step_targets
            ggml_backend_tensor_set(loss_grad, &lg, 0, 4);
        }
        use_graph(h->graph);
        set_inputs(h, mb, r0, r1, dropout_seed);
        compute(h);
        float loss = 0;
        ggml_backend_tensor_get(h->loss, &loss, 0, 4);
        sum += (double) loss * h->M;
    }
    if (!backward) return sum;
    for (int l = L - 1; l >= 0; l--) {
        StepGraph * g = segment(Segment::Layer, l, true);
        ggml_tensor * out = gx[(L - l) % 2];
        ggml_backend_tensor_memset(out, 0, 0, ggml_nbytes(out));
        use_graph(g->graph);
        set_inputs(g, mb, 0, 0, dropout_seed);
        compute(g);
    }
    if (grad_of.count(m.tok_embd)) {
        StepGraph * e = segment(Segment::Embed, 0, true);
        use_graph(e->graph);
        set_inputs(e, mb, 0, 0, dropout_seed);
        compute(e);
    }
    return sum;
}

double Engine::accumulate(const MicroBatch & mb, int64_t step_targets, uint64_t dropout_seed) {
    const int Mr = (int) mb.idx.size();
    if (Mr == 0) return 0.0; // nothing to learn from: skip compute entirely
    if (checkpoint) return run_checkpointed(mb, step_targets, dropout_seed, true);
    StepGraph * g = graph_for(bucket(Mr), true);
    // graph loss = CE_sum / M; step loss = CE_sum / step_targets.
    const float lg = (float) g->M / (float) step_targets;
    ggml_backend_tensor_set(loss_grad, &lg, 0, 4);
    return run(g, mb, dropout_seed);
}

double Engine::forward_sum(const MicroBatch & mb) {
    const int Mr = (int) mb.idx.size();
    if (Mr == 0) return 0.0;
    if (checkpoint) return run_checkpointed(mb, 0, 0, false);
    StepGraph * g = graph_for(bucket(Mr), false);
    return run(g, mb, 0);
}

double Engine::grad_norm() {
    if (fused_opt) return forge_grad_norm(slots);
    use_graph(norm_graph);
    ggml_backend_sched_graph_compute(be.sched, norm_graph);
    float s = 0;
    ggml_backend_tensor_get(sumsq, &s, 0, 4);
    return std::sqrt((double) s);
}

void Engine::optimizer_step(const AdamWParams & p, float clip) {
    const float b1h = 1.0f / (1.0f - std::pow(p.beta1, (float) p.t));
    const float b2h = 1.0f / (1.0f - std::pow(p.beta2, (float) p.t));
    float wd[7] = {p.lr, p.beta1, p.beta2, p.eps, p.weight_decay, b1h, b2h};
    float nowd[7] = {p.lr, p.beta1, p.beta2, p.eps, 0.0f, b1h, b2h};
    if (fused_opt) {
        forge_adamw(slots, clip, p.lr, p.beta1, p.beta2, p.eps, p.weight_decay, b1h, b2h);
        grads_clear = true; // forge_adamw zeroed them
        return;
    }
    ggml_backend_tensor_set(adam_wd, wd, 0, sizeof wd);
    ggml_backend_tensor_set(adam_nowd, nowd, 0, sizeof nowd);
    ggml_backend_tensor_set(clip_scale, &clip, 0, 4);
    use_graph(opt_graph);
    ggml_backend_sched_graph_compute(be.sched, opt_graph);
}

void Engine::zero_grads() {
    if (grads_clear) { grads_clear = false; return; }
    if (grads_buf) ggml_backend_buffer_clear(grads_buf, 0);
}
