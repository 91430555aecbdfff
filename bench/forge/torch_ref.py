#!/usr/bin/python3
"""PyTorch reference trainer for the forge benchmark: the same llama architecture, init, data, row
order, AdamW and LR schedule as atelier-forge (server/forge/native), so tok/s and held-out ppl compare.

  /usr/bin/python3 bench/forge/torch_ref.py --init init.gguf --train t.atds --eval e.atds
        [--epochs 2 | --steps N] [--batch 4] [--threads 2] [--bf16] [--lr 1e-3 ...]
        [--lora-init adapter.gguf]     LoRA: base frozen, trains the adapter's A/B from forge's initial adapter

Architecture: token embedding, n_layer x (RMSNorm -> Q/K/V (GQA) -> RoPE as llama.cpp's arch llama
(GGML_ROPE_TYPE_NORM: rotates adjacent pairs (2i, 2i+1), theta_i = base^(-2i/head_dim)) -> causal
softmax(QK^T/sqrt(hd)) V -> wo -> residual; RMSNorm -> SwiGLU(gate, up) -> down -> residual),
RMSNorm, untied output head. Weights come from the forge-initialised GGUF (--init, F32), so all three
systems start from identical parameters (forge's init: N(0, 0.02), attn_output/ffn_down
N(0, 0.02/sqrt(2*n_layer)), norms 1). ggml stores a [in, out] matrix as out rows of in floats: the
same memory layout as nn.Linear's [out, in] weight, so tensors load without transposes.
Optimizer: AdamW (decoupled wd on >=2-D tensors only, as forge), global-norm grad clip, forge's
warmup + cosine schedule, forge's per-epoch row permutation (splitmix64). Loss: mean CE over masked
targets. --bf16 runs forward/backward under torch.autocast("cpu", bfloat16) with fp32 master
weights/optimizer; held-out eval is fp32 either way. --lora-init: every base weight is frozen and each
adapted nn.Linear computes W x + (alpha/r)·B(A x), with A/B loaded from a forge adapter GGUF written at step 0
(so both sides start from the same adapter), as PEFT's LoRA without dropout. Prints JSON lines; "done" has
tok_s (training loop only), eval_loss, eval_ppl, peak_rss_bytes.
"""
import argparse
import json
import math
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

M64 = (1 << 64) - 1


# ----------------------------------------------------------------------------------------------- data
def load_atds(path):
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:4] != b"ATDS":
        sys.exit(f"{path}: not an ATDS file")
    ver, row_len, n = struct.unpack_from("<III", buf, 4)
    assert ver == 1
    tok = np.frombuffer(buf, dtype="<i4", count=row_len * n, offset=16).reshape(n, row_len)
    mask = np.frombuffer(buf, dtype=np.uint8, count=row_len * n, offset=16 + 4 * row_len * n).reshape(n, row_len)
    return torch.from_numpy(tok.astype(np.int64)), torch.from_numpy(mask.astype(np.bool_))


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def epoch_perm(n, seed, epoch):
    """server/forge/native/dataset.cpp RowOrder, bit for bit."""
    p = list(range(n))
    st = (seed * 0x100000001B3 + epoch * 0x9E3779B97F4A7C15 + 1) & M64
    for i in range(n - 1, 0, -1):
        st, r = splitmix64(st)
        j = r % (i + 1)
        p[i], p[j] = p[j], p[i]
    return p


# ----------------------------------------------------------------------------------------------- gguf
def read_gguf(path):
    with open(path, "rb") as f:
        b = f.read()
    assert b[:4] == b"GGUF", path
    pos = 4
    _ver, n_t, n_kv = struct.unpack_from("<IQQ", b, pos)
    pos += 20
    scal = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def rstr(p):
        (n,) = struct.unpack_from("<Q", b, p)
        return b[p + 8 : p + 8 + n].decode("utf-8", "replace"), p + 8 + n

    def rval(t, p):
        if t == 8:
            return rstr(p)
        if t == 9:
            et, n = struct.unpack_from("<IQ", b, p)
            p += 12
            out = []
            for _ in range(n):
                v, p = rval(et, p)
                out.append(v)
            return out, p
        fmt = "<" + scal[t]
        return struct.unpack_from(fmt, b, p)[0], p + struct.calcsize(fmt)

    kv = {}
    for _ in range(n_kv):
        k, pos = rstr(pos)
        (t,) = struct.unpack_from("<I", b, pos)
        kv[k], pos = rval(t, pos + 4)
    infos = []
    for _ in range(n_t):
        name, pos = rstr(pos)
        (nd,) = struct.unpack_from("<I", b, pos)
        dims = struct.unpack_from("<%dQ" % nd, b, pos + 4)
        ty, off = struct.unpack_from("<IQ", b, pos + 4 + 8 * nd)
        pos += 4 + 8 * nd + 12
        infos.append((name, dims, ty, off))
    align = int(kv.get("general.alignment", 32))
    base = (pos + align - 1) // align * align
    tensors = {}
    for name, dims, ty, off in infos:
        if ty != 0:
            sys.exit(f"{path}: tensor {name} is not F32 (type {ty}); use an F32 init GGUF")
        n = int(np.prod(dims))
        a = np.frombuffer(b, dtype="<f4", count=n, offset=base + off)
        tensors[name] = torch.from_numpy(a.copy().reshape(tuple(reversed(dims))))
    return kv, tensors


# ----------------------------------------------------------------------------------------------- model
class RMSNorm(torch.nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight


class Block(torch.nn.Module):
    def __init__(self, hp):
        super().__init__()
        E, H, Hk, hd, ff = hp["n_embd"], hp["n_head"], hp["n_head_kv"], hp["head_dim"], hp["n_ff"]
        self.H, self.Hk, self.hd = H, Hk, hd
        self.attn_norm = RMSNorm(E, hp["norm_eps"])
        self.wq = torch.nn.Linear(E, H * hd, bias=False)
        self.wk = torch.nn.Linear(E, Hk * hd, bias=False)
        self.wv = torch.nn.Linear(E, Hk * hd, bias=False)
        self.wo = torch.nn.Linear(H * hd, E, bias=False)
        self.ffn_norm = RMSNorm(E, hp["norm_eps"])
        self.w_gate = torch.nn.Linear(E, ff, bias=False)
        self.w_up = torch.nn.Linear(E, ff, bias=False)
        self.w_down = torch.nn.Linear(ff, E, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        h = self.attn_norm(x)
        q = self.wq(h).view(B, T, self.H, self.hd)
        k = self.wk(h).view(B, T, self.Hk, self.hd)
        v = self.wv(h).view(B, T, self.Hk, self.hd)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, H, T, hd]
        if self.Hk != self.H:  # query head h reads kv head h // (H/Hk), as llama.cpp
            k = k.repeat_interleave(self.H // self.Hk, dim=1)
            v = v.repeat_interleave(self.H // self.Hk, dim=1)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(self.hd))
        att = att.masked_fill(mask, float("-inf")).float().softmax(-1).to(v.dtype)
        o = (att @ v).transpose(1, 2).reshape(B, T, self.H * self.hd)
        x = x + self.wo(o)
        h = self.ffn_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


def rope(x, cos, sin):
    # NORM mode: pairs (2i, 2i+1). x: [B, T, H, hd]; cos/sin: [T, 1, hd/2]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    c, s = cos.to(x.dtype), sin.to(x.dtype)
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).flatten(-2)


class Llama(torch.nn.Module):
    def __init__(self, hp):
        super().__init__()
        self.hp = hp
        self.tok_embd = torch.nn.Embedding(hp["n_vocab"], hp["n_embd"])
        self.layers = torch.nn.ModuleList(Block(hp) for _ in range(hp["n_layer"]))
        self.out_norm = RMSNorm(hp["n_embd"], hp["norm_eps"])
        self.output = torch.nn.Linear(hp["n_embd"], hp["n_vocab"], bias=False)
        hd, T = hp["head_dim"], hp["n_ctx"]
        inv = hp["rope_theta"] ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
        ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
        self.register_buffer("cos", ang.cos().float()[:, None, :], persistent=False)
        self.register_buffer("sin", ang.sin().float()[:, None, :], persistent=False)
        self.register_buffer("mask", torch.ones(T, T, dtype=torch.bool).triu(1), persistent=False)

    def forward(self, tokens):
        T = tokens.shape[1]
        x = self.tok_embd(tokens)
        cos, sin, mask = self.cos[:T], self.sin[:T], self.mask[:T, :T]
        for L in self.layers:
            x = L(x, cos, sin, mask)
        return self.output(self.out_norm(x))

    def load_gguf(self, t):
        sd = {"tok_embd.weight": t["token_embd.weight"], "out_norm.weight": t["output_norm.weight"],
              "output.weight": t.get("output.weight", t["token_embd.weight"])}
        names = {"attn_norm": "attn_norm", "attn_q": "wq", "attn_k": "wk", "attn_v": "wv", "attn_output": "wo",
                 "ffn_norm": "ffn_norm", "ffn_gate": "w_gate", "ffn_up": "w_up", "ffn_down": "w_down"}
        for i in range(self.hp["n_layer"]):
            for g, p in names.items():
                sd[f"layers.{i}.{p}.weight"] = t[f"blk.{i}.{g}.weight"]
        self.load_state_dict(sd, strict=True)


class LoraLinear(torch.nn.Module):
    """W x + s·B(A x) with W frozen (PEFT's LoRA, no dropout)."""

    def __init__(self, base, a, b, scale):
        super().__init__()
        self.base = base
        self.a = torch.nn.Parameter(a.clone())  # [r, n_in]
        self.b = torch.nn.Parameter(b.clone())  # [n_out, r]
        self.scale = scale

    def forward(self, x):
        return self.base(x) + self.scale * F.linear(F.linear(x, self.a), self.b)


def attach_lora(model, path):
    kv, t = read_gguf(path)
    alpha = float(kv["adapter.lora.alpha"])
    names = {"attn_q": "wq", "attn_k": "wk", "attn_v": "wv", "attn_output": "wo", "ffn_gate": "w_gate", "ffn_up": "w_up", "ffn_down": "w_down"}
    for p in model.parameters():
        p.requires_grad_(False)
    n = 0
    for key, a in t.items():
        if not key.endswith(".lora_a"):
            continue
        base = key[: -len(".lora_a")]  # blk.<i>.<target>.weight
        _, i, target, _ = base.split(".")
        b = t[base + ".lora_b"]
        block = model.layers[int(i)]
        attr = names[target]
        setattr(block, attr, LoraLinear(getattr(block, attr), a, b, alpha / a.shape[0]))
        n += 1
    return n


def hparams_from_kv(kv):
    a = kv["general.architecture"]
    g = lambda k, d=None: kv.get(f"{a}.{k}", d)
    hp = {"n_embd": g("embedding_length"), "n_layer": g("block_count"), "n_head": g("attention.head_count"),
          "n_ff": g("feed_forward_length"), "n_ctx": g("context_length"), "rope_theta": g("rope.freq_base", 10000.0),
          "norm_eps": g("attention.layer_norm_rms_epsilon", 1e-5)}
    hp["n_head_kv"] = g("attention.head_count_kv", hp["n_head"])
    hp["n_vocab"] = g("vocab_size") or len(kv["tokenizer.ggml.tokens"])
    hp["head_dim"] = hp["n_embd"] // hp["n_head"]
    return hp


# ----------------------------------------------------------------------------------------------- train
def lr_at(a, step, total):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    span = max(1, total - a.warmup)
    prog = min(1.0, (step - a.warmup) / span)
    return a.lr * a.min_lr_ratio + (a.lr - a.lr * a.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * prog))


def ce_sum(model, tok, mask, bf16):
    x, y, m = tok[:, :-1], tok[:, 1:], mask[:, 1:]
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(x)
    ce = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none")
    return (ce * m.reshape(-1)).sum(), int(m.sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--init", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--eval")
    ap.add_argument("--epochs", type=float, default=2)
    ap.add_argument("--steps", type=int, default=-1)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=0)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.95)
    ap.add_argument("--eps", type=float, default=1e-8)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--lora-init", help="forge LoRA adapter GGUF at step 0: freeze the base, train A/B")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    kv, tensors = read_gguf(a.init)
    hp = hparams_from_kv(kv)
    model = Llama(hp)
    model.load_gguf(tensors)
    n_lora = attach_lora(model, a.lora_init) if a.lora_init else 0
    tr_tok, tr_mask = load_atds(a.train)
    n_rows = tr_tok.shape[0]
    steps = a.steps if a.steps >= 0 else math.ceil(a.epochs * n_rows / a.batch)
    trainable = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.dim() >= 2]
    no_decay = [p for p in trainable if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(a.beta1, a.beta2), eps=a.eps)
    print(json.dumps({"type": "start", "params": sum(p.numel() for p in model.parameters()), "trainable": sum(p.numel() for p in trainable),
                      "lora_matrices": n_lora, "steps": steps,
                      "threads": torch.get_num_threads(), "bf16": a.bf16, "torch": torch.__version__}), flush=True)

    perm_cache = {}

    def row_at(i):
        e = i // n_rows
        if e not in perm_cache:
            perm_cache.clear()
            perm_cache[e] = epoch_perm(n_rows, a.seed, e)
        return perm_cache[e][i % n_rows]

    model.train()
    t0 = time.perf_counter()
    tokens = 0
    loss = float("nan")
    for step in range(steps):
        rows = [row_at(step * a.batch + b) for b in range(a.batch)]
        tok, mask = tr_tok[rows], tr_mask[rows]
        s, n = ce_sum(model, tok, mask, a.bf16)
        if n == 0:
            continue
        l = s / n
        opt.zero_grad(set_to_none=True)
        l.backward()
        if a.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(trainable, a.grad_clip)
        for g in opt.param_groups:
            g["lr"] = lr_at(a, step, steps)
        opt.step()
        tokens += tok.shape[0] * (tok.shape[1] - 1)
        loss = l.item()
        if (step + 1) % a.log_every == 0 or step + 1 == steps:
            el = time.perf_counter() - t0
            print(json.dumps({"type": "step", "step": step + 1, "steps": steps, "loss": loss, "tok_s": tokens / el}), flush=True)
    train_s = time.perf_counter() - t0

    eval_loss = float("nan")
    if a.eval:
        ev_tok, ev_mask = load_atds(a.eval)
        model.eval()
        tot, cnt = 0.0, 0
        with torch.no_grad():
            for r in range(0, ev_tok.shape[0], a.batch):
                s, n = ce_sum(model, ev_tok[r : r + a.batch], ev_mask[r : r + a.batch], False)
                tot += float(s)
                cnt += n
        eval_loss = tot / max(cnt, 1)
    print(json.dumps({"type": "done", "steps": steps, "tokens": tokens, "train_seconds": train_s, "tok_s": tokens / train_s,
                      "train_loss": loss, "eval_loss": eval_loss, "eval_ppl": math.exp(eval_loss),
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}), flush=True)


if __name__ == "__main__":
    main()
