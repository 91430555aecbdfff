#!/usr/bin/env python3
"""Create a ~124M-parameter llama-shaped GGUF with random weights for benchmarking (F32 and Q8_0).

Usage: /usr/bin/python3 bench/make-model.py [outdir=bench/.cache/models]
Needs numpy and llama.cpp's gguf-py (bench/.cache/llama.cpp/gguf-py, from bench/build-llama-server.sh).

Shape: d=768, 12 layers, 12 heads (MHA), SwiGLU ffn 2048, GPT-2 BPE vocab (from llama.cpp's
models/ggml-vocab-gpt-2.gguf) + <|im_start|>/<|im_end|> control tokens, tied embeddings, ChatML template.
EOS never wins: every normal token embedding has a large constant in dim 0 (so the final RMS-normed hidden
state is dominated by +dim0), while EOS/control token rows have -1 there -> their logits are ~45 below the rest.
Generation therefore always runs to the requested token count on both sides of the benchmark.
"""
import os, sys
import numpy as np
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".cache/llama.cpp/gguf-py"))
import gguf  # noqa: E402
from gguf.quants import quantize  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, ".cache/models")
VOCAB = os.path.join(HERE, ".cache/llama.cpp/models/ggml-vocab-gpt-2.gguf")
D, L, H, FF, CTX = 768, 12, 12, 2048, 4096
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

def field(r, k):
    f = r.fields[k]
    if f.types[0] == gguf.GGUFValueType.ARRAY:
        return [bytes(f.parts[i]) if f.types[1] == gguf.GGUFValueType.STRING else int(f.parts[i][0]) for i in f.data]
    return f.parts[f.data[0]]

def main():
    r = gguf.GGUFReader(VOCAB)
    tokens = field(r, "tokenizer.ggml.tokens") + [b"<|im_start|>", b"<|im_end|>"]
    types = field(r, "tokenizer.ggml.token_type") + [gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    merges = field(r, "tokenizer.ggml.merges")
    eot = int(field(r, "tokenizer.ggml.eos_token_id")[0])
    V, im_start, im_end = len(tokens), len(tokens) - 2, len(tokens) - 1

    rng = np.random.default_rng(1234)
    std = 0.02
    emb = rng.normal(0, std, (V, D)).astype(np.float32)
    emb[:, 0] = 1.0
    for t in (eot, im_start, im_end):
        emb[t, 0] = -1.0
    tensors = {"token_embd.weight": emb, "output_norm.weight": np.ones(D, np.float32)}
    for i in range(L):
        p = f"blk.{i}."
        tensors[p + "attn_norm.weight"] = np.ones(D, np.float32)
        tensors[p + "ffn_norm.weight"] = np.ones(D, np.float32)
        for n, shape in (("attn_q", (D, D)), ("attn_k", (D, D)), ("attn_v", (D, D)), ("attn_output", (D, D)),
                         ("ffn_gate", (FF, D)), ("ffn_up", (FF, D)), ("ffn_down", (D, FF))):
            tensors[p + n + ".weight"] = rng.normal(0, std, shape).astype(np.float32)
    nparams = sum(t.size for t in tensors.values())
    os.makedirs(OUT, exist_ok=True)

    for ftype, qtype, name in ((gguf.LlamaFileType.ALL_F32, None, "bench-124m-f32.gguf"),
                               (gguf.LlamaFileType.MOSTLY_Q8_0, gguf.GGMLQuantizationType.Q8_0, "bench-124m-q8_0.gguf")):
        path = os.path.join(OUT, name)
        w = gguf.GGUFWriter(path, "llama")
        w.add_name(f"atelier-bench-124m-{'f32' if qtype is None else 'q8_0'}")
        w.add_context_length(CTX); w.add_embedding_length(D); w.add_block_count(L)
        w.add_feed_forward_length(FF); w.add_head_count(H); w.add_head_count_kv(H)
        w.add_rope_dimension_count(D // H); w.add_layer_norm_rms_eps(1e-5); w.add_rope_freq_base(10000.0)
        w.add_vocab_size(V); w.add_file_type(ftype)
        w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre("gpt-2")
        w.add_token_list(tokens); w.add_token_types(types); w.add_token_merges(merges)
        w.add_bos_token_id(eot); w.add_eos_token_id(im_end); w.add_add_bos_token(False)
        w.add_chat_template(CHATML)
        for k, t in tensors.items():
            if qtype is not None and t.ndim == 2:
                w.add_tensor(k, quantize(t, qtype), raw_dtype=qtype)
            else:
                w.add_tensor(k, t)
        w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
        print(f"{path}: {nparams/1e6:.1f}M params, {os.path.getsize(path)/1e6:.0f} MB")

main()
