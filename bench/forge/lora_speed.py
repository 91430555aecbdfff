#!/usr/bin/python3
"""LoRA vs full fine-tune speed over frozen bases in their storage types (issue 12, Deliver 0b).

  /usr/bin/python3 bench/forge/lora_speed.py [--steps 12] [--reps 3] [--threads 2] [--baseline OLD_FORGE] [--quick]

Bases: the committed starter (F16, the case that was 13x slower) and a synthetic llama (n_embd 512, 4 layers,
GQA 8/4, n_ff 1536, vocab 512; random init by forge) stored as F16, BF16, Q8_0 and Q4_K_M. Per base: a full
fine-tune (F32 master weights), LoRA rank 8 on attention (the studio's default) and LoRA rank 16 on all seven
linear targets, interleaved `--reps` times; reported are the medians of the steady step time (steps after the
second) and of CPU seconds per 1k training tokens for the whole process. `--baseline` runs another build (e.g.
one from before the typed GEMM) on the same configs in the same loop. Writes the "lora-speed" section of
BENCHMARKS.md.
"""
import argparse
import json
import os
import random
import struct

from common import CACHE, FORGE, ROOT, forge_train, fmt_int, gguf_tensors, machine, median, run, sha_file, stamp, write_section

SYN = {"n_vocab": 512, "n_embd": 512, "n_layer": 4, "n_head": 8, "n_head_kv": 4, "n_ff": 1536, "n_ctx": 256}
SEQ, ROWS, BATCH = 256, 48, 4
ATTN = ["attn_q", "attn_k", "attn_v", "attn_output"]
ALL = ATTN + ["ffn_gate", "ffn_up", "ffn_down"]


def tokenizer(n_vocab):
    # byte-level tokens (GPT-2 byte chars) then control tokens up to n_vocab, EOS first
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    chars = {b: chr(c) for b, c in zip(bs, cs)}
    toks = [chars[b] for b in range(256)] + ["<|endoftext|>"] + [f"<|x{i}|>" for i in range(n_vocab - 257)]
    return {"model": "gpt2", "pre": "gpt-2", "tokens": toks, "token_type": [1] * 256 + [3] * (n_vocab - 256), "merges": [],
            "bos_id": 256, "eos_id": 256, "add_bos": False}


def write_atds(path, n_vocab, seed=1):
    rnd = random.Random(seed)
    row = SEQ + 1
    toks = [rnd.randrange(min(n_vocab, 256)) for _ in range(ROWS * row)]
    mask = [0 if i % row == 0 else 1 for i in range(ROWS * row)]
    with open(path, "wb") as f:
        f.write(b"ATDS" + struct.pack("<III", 1, row, ROWS))
        f.write(struct.pack(f"<{len(toks)}i", *toks))
        f.write(bytes(mask))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--forge", default=FORGE)
    ap.add_argument("--baseline", help="another atelier-forge build to run on the same configs")
    ap.add_argument("--quick", action="store_true", help="4 steps, 1 rep: plumbing check only")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.steps, a.reps = 4, 1
    d = os.path.join(CACHE, "lora-speed")
    os.makedirs(d, exist_ok=True)
    p = lambda f: os.path.join(d, f)
    starter = os.path.join(ROOT, "models/starter/atelier-starter.gguf")
    # data for the starter (its own vocabulary) and for the synthetic model
    starter_vocab = gguf_tensors(starter)["token_embd.weight"][1][1]
    write_atds(p("starter.atds"), starter_vocab)
    write_atds(p("syn.atds"), SYN["n_vocab"])
    syn_f32 = p("syn-f32.gguf")
    forge_train({"mode": "scratch", "out": syn_f32, "checkpointDir": "", "train": p("syn.atds"), "model": SYN, "tokenizer": tokenizer(SYN["n_vocab"]),
                 "steps": 0, "seed": 7}, "syn-init", "synthetic init (forge scratch, steps 0)", a.forge)
    bases = [("starter (F16)", starter, p("starter.atds"))]
    for t in ("f16", "bf16", "q8_0", "q4_k_m"):
        out = p(f"syn-{t}.gguf")
        run([a.forge, "quantize", "--in", syn_f32, "--out", out, "--type", t], f"quantize {t}")
        bases.append((f"synthetic 17M ({t.upper()})", out, p("syn.atds")))

    bins = [("forge", a.forge)] + ([("baseline", a.baseline)] if a.baseline else [])
    kinds = [("full", None), ("LoRA r8 attn", {"rank": 8, "alpha": 16, "targets": ATTN}), ("LoRA r16 all", {"rank": 16, "alpha": 32, "targets": ALL})]
    res = {}
    for rep in range(a.reps):
        for bname, base, data in bases:
            for kname, lora in kinds:
                for tag, b in bins:
                    cfg = {"mode": "lora" if lora else "full", "base": base, "out": p("out.gguf"), "checkpointDir": "", "train": data,
                           "batch": BATCH, "steps": a.steps, "threads": a.threads, "seed": 1, **({"lora": lora} if lora else {})}
                    r = forge_train(cfg, "lora-speed", f"[{rep + 1}/{a.reps}] {tag} {bname} {kname}", b)
                    steady = [s["step_s"] for s in r["steps"][2:]] or [s["step_s"] for s in r["steps"]]
                    tokens = r["start"]["tokens_per_step"] * len(r["steps"])
                    res.setdefault((bname, kname, tag), []).append({"step_s": median(steady), "cpu_per_1k": 1000 * r["cpu_s"] / tokens,
                                                                     "others": r["others"], "gemm": r["start"].get("gemm")})
    tps = BATCH * SEQ
    rows, others = [], []
    for bname, _, _ in bases:
        full = {tag: median([x["step_s"] for x in res[(bname, "full", tag)]]) for tag, _ in bins}
        for kname, _ in kinds:
            for tag, _ in bins:
                xs = res[(bname, kname, tag)]
                st = median([x["step_s"] for x in xs])
                cpu = median([x["cpu_per_1k"] for x in xs])
                others += [x["others"] for x in xs]
                rows.append(f"| {bname} | {kname} | {tag} | {fmt_int(tps / st)} | {cpu:.2f} | {full[tag] / st:.2f}x |")
    lines = [
        f"### LoRA vs full fine-tune over typed bases ({stamp()})",
        "",
        f"Command: `/usr/bin/python3 bench/forge/lora_speed.py --steps {a.steps} --reps {a.reps} --threads {a.threads}"
        + (" --baseline <build>" if a.baseline else "") + "`. Machine: " + machine()
        + f"; other processes used {min(others):.2f}-{max(others):.2f} CPUs during the runs (median {median(others):.2f}).",
        f"forge sha256 {sha_file(a.forge)}" + (f", baseline sha256 {sha_file(a.baseline)}" if a.baseline else "")
        + f". Batch {BATCH} x {SEQ} tokens, random token rows, {a.steps} steps; tok/s from the median step time after step 2,"
        " CPU s / 1k tok from the whole process (load and save included); medians of the interleaved reps.",
        "",
        "| base | run | build | tok/s | CPU s / 1k tok | speed vs full FT (same build) |",
        "|---|---|---|---:|---:|---:|",
        *rows,
    ]
    print("\n".join(lines))
    if not a.no_write and not a.quick:
        write_section("lora-speed", "\n".join(lines))
    with open(p("results.json"), "w") as f:
        json.dump({f"{k[0]}|{k[1]}|{k[2]}": v for k, v in res.items()}, f, indent=1)


if __name__ == "__main__":
    main()
