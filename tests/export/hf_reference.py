#!/usr/bin/env python3
"""An independent reader of Hugging Face exports: parses model.safetensors / adapter_model.safetensors
byte by byte, applies a PEFT LoRA the way PEFT does (W + lora_alpha / r * B @ A on target modules),
and runs the forward pass of transformers' LlamaForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM
in float64 numpy (rotate_half RoPE, RMSNorm, SwiGLU, grouped-query attention, q/k norms for qwen3,
q/k/v biases for qwen2). Prints the log-softmax of the logits at every position as JSON.

usage: hf_reference.py MODEL_DIR TOKEN_IDS_JSON [PEFT_DIR]
Only numpy (Debian: python3-numpy); nothing of Atelier, llama.cpp or transformers.
"""
import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = data[base + start : base + end]
        dtype = info["dtype"]
        if dtype == "F32":
            arr = np.frombuffer(raw, dtype="<f4")
        elif dtype == "F16":
            arr = np.frombuffer(raw, dtype="<f2")
        elif dtype == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit(f"unsupported dtype {dtype}")
        out[name] = arr.astype(np.float64).reshape(info["shape"])
    return out


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def softmax_last(x):
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def forward(cfg, w, ids):
    t = len(ids)
    e = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    nkv = cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or e // nh
    eps = cfg["rms_norm_eps"]
    qwen3 = cfg["model_type"] == "qwen3"
    inv_freq = 1.0 / (cfg["rope_theta"] ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
    freqs = np.outer(np.arange(t, dtype=np.float64), inv_freq)
    emb = np.concatenate([freqs, freqs], axis=-1)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
    mask = np.triu(np.full((t, t), -np.inf), k=1)

    x = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)

        def proj(name):
            y = h @ w[p + f"self_attn.{name}.weight"].T
            b = w.get(p + f"self_attn.{name}.bias")
            return y if b is None else y + b

        q = proj("q_proj").reshape(t, nh, hd)
        k = proj("k_proj").reshape(t, nkv, hd)
        v = proj("v_proj").reshape(t, nkv, hd)
        if qwen3:
            q = rms_norm(q, w[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, w[p + "self_attn.k_norm.weight"], eps)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = nh // nkv
        k = np.repeat(k, rep, axis=1)
        v = np.repeat(v, rep, axis=1)
        scores = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd) + mask
        att = np.einsum("hts,shd->thd", softmax_last(scores), v).reshape(t, nh * hd)
        x = x + att @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * u) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    logits = x @ head.T
    return logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) - logits.max(-1, keepdims=True)


def apply_peft(w, peft_dir):
    with open(f"{peft_dir}/adapter_config.json") as f:
        acfg = json.load(f)
    assert acfg["peft_type"] == "LORA" and not acfg.get("fan_in_fan_out")
    scale = acfg["lora_alpha"] / acfg["r"]
    lw = read_safetensors(f"{peft_dir}/adapter_model.safetensors")
    applied = 0
    for name, a in lw.items():
        if not name.endswith(".lora_A.weight"):
            continue
        module = name[len("base_model.model.") : -len(".lora_A.weight")]
        assert module.split(".")[-1] in acfg["target_modules"], module
        b = lw[name.replace("lora_A", "lora_B")]
        w[module + ".weight"] = w[module + ".weight"] + scale * (b @ a)
        applied += 1
    return applied


def main():
    model_dir, ids_json = sys.argv[1], sys.argv[2]
    with open(f"{model_dir}/config.json") as f:
        cfg = json.load(f)
    w = read_safetensors(f"{model_dir}/model.safetensors")
    applied = apply_peft(w, sys.argv[3]) if len(sys.argv) > 3 else 0
    ids = json.loads(ids_json)
    logprobs = forward(cfg, w, ids)
    json.dump({"applied": applied, "logprobs": logprobs.tolist()}, sys.stdout)


if __name__ == "__main__":
    main()
