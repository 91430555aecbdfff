#!/usr/bin/python3
"""Training memory on big shapes (issue 12 benchmark): peak RSS against the trainer's own estimate.

  /usr/bin/python3 bench/forge/memory.py [--which 8b,1b] [--steps 2] [--threads 2] [--quick]

8b: LoRA r16 on all linear layers of a Llama-3-8B-shaped model (4096 x 32 layers, GQA 32/8, SwiGLU 14336,
    vocab 128256, rope_freqs) stored as Q4_K_M (llama.cpp's mix) with random weights, written by
    `atelier-forge synth` row block by row block (never an F32 copy); ctx 2048, batch 1, --steps steps,
    checkpointing auto. Target: peak RSS <= 8 GiB, estimate within +-15%.
1b: full fine-tune of a Llama-3.2-1B-shaped model (2048 x 16 layers, GQA 32/8, 8192, vocab 128256; F16 file,
    F32 master weights) at ctx 1024, batch 1, 1 step, checkpointing off and on (off may not fit: then the
    trainer's OUT_OF_MEMORY message, with its numbers, is the result).
Models are cached in bench/.cache/forge/memory. --quick shrinks both to 2 layers and ctx 256 (plumbing check,
nothing written). Cost on 2 cores: the 8B file takes ~15-30 min to write once (4.9 GB), each 8B step ~10-20 min
(one forward, one recomputed forward and the backward through 8B frozen Q4_K weights at 2048 tokens); the 1B
steps ~2-4 min each. Writes the "memory" section of BENCHMARKS.md.
"""
import argparse
import os
import random
import struct

from common import CACHE, FORGE, forge_train, log, machine, run, sha_file, stamp, write_section

SHAPES = {
    "8b": {"embd": 4096, "layers": 32, "heads": 32, "kv-heads": 8, "ff": 14336, "vocab": 128256, "ctx": 8192, "type": "q4_k_m"},
    "1b": {"embd": 2048, "layers": 16, "heads": 32, "kv-heads": 8, "ff": 8192, "vocab": 128256, "ctx": 8192, "type": "f16"},
}


def write_atds(path, rows, seq, vocab, seed=1):
    rnd = random.Random(seed)
    row = seq + 1
    with open(path, "wb") as f:
        f.write(b"ATDS" + struct.pack("<III", 1, row, rows))
        f.write(struct.pack(f"<{rows * row}i", *(rnd.randrange(vocab) for _ in range(rows * row))))
        f.write(bytes(0 if i % row == 0 else 1 for i in range(rows * row)))


def gib(b):
    return f"{b / 2**30:.2f} GiB"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--which", default="8b,1b")
    ap.add_argument("--steps", type=int, default=2, help="8B LoRA steps (the peak is reached in the first)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--forge", default=FORGE)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    d = os.path.join(CACHE, "memory")
    os.makedirs(d, exist_ok=True)
    p = lambda f: os.path.join(d, f)
    rows, targets = [], []
    for which in a.which.split(","):
        shape = dict(SHAPES[which])
        seq = 2048 if which == "8b" else 1024
        if a.quick:
            shape.update(layers=2)
            seq = 256
        tag = f"{which}{'-quick' if a.quick else ''}"
        model = p(f"llama-{tag}-{shape['type']}.gguf")
        if not os.path.exists(model):
            args = [a.forge, "synth", "--out", model, "--threads", str(a.threads)] + [x for k, v in shape.items() for x in (f"--{k}", str(v))]
            s = run(args, f"{which}: forge synth ({shape['type']})")
            rows.append(f"| {which} model file | written by `atelier-forge synth` in {s['wall']:.0f} s, peak RSS {gib(s['rss'])} | "
                        f"{os.path.getsize(model) / 1e9:.2f} GB | | |")
        else:
            rows.append(f"| {which} model file | cached ({os.path.getsize(model) / 1e9:.2f} GB) | | | |")
        data = p(f"rows-{seq}.atds")
        if not os.path.exists(data):
            write_atds(data, 2, seq, 256)
        if which == "8b":
            cfg = {"mode": "lora", "base": model, "out": p("adapter.gguf"), "checkpointDir": "", "train": data, "batch": 1,
                   "steps": a.steps, "threads": a.threads, "lora": {"rank": 16, "alpha": 32, "targets": ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]}}
            runs = [("LoRA r16, all linear, ctx %d" % seq, cfg)]
        else:
            base = {"mode": "full", "base": model, "out": p("full.gguf"), "checkpointDir": "", "train": data, "batch": 1, "steps": 1, "threads": a.threads}
            runs = [(f"full FT, ctx {seq}, checkpointing off", {**base, "checkpointing": "off"}),
                    (f"full FT, ctx {seq}, checkpointing on", {**base, "checkpointing": "on"})]
        for label, cfg in runs:
            r = forge_train(cfg, f"mem-{tag}", f"{which}: {label}", a.forge, check=False)
            err = next((l for l in r["lines"] if l.get("type") == "error"), None)
            if err:
                rows.append(f"| {which}: {label} | {err['code']}: {err['message']} | – | – | – |")
                continue
            est, peak = r["start"]["mem_estimate_bytes"], r["done"]["peak_rss_bytes"]
            steps = [s["step_s"] for s in r["steps"]]
            rows.append(f"| {which}: {label} (checkpointing {'on' if r['start'].get('checkpointing') else 'off'}) | {len(steps)} steps, "
                        f"{' / '.join(f'{x:.0f}' for x in steps)} s per step | {gib(peak)} | {gib(est)} | {100 * (est / peak - 1):+.1f}% |")
            if which == "8b" and not a.quick:
                targets.append(f"| 8B Q4_K_M LoRA r16 ctx {seq}: peak RSS <= 8 GiB | {gib(peak)} | {'PASS' if peak <= 8 * 2**30 else 'FAIL'} |")
            if not a.quick:
                targets.append(f"| {which} {label}: estimate within ±15% of peak | {100 * (est / peak - 1):+.1f}% | {'PASS' if abs(est / peak - 1) <= 0.15 else 'FAIL'} |")
    lines = [
        f"### Training memory on big shapes ({stamp()})", "",
        f"Command: `/usr/bin/python3 bench/forge/memory.py --which {a.which} --steps {a.steps} --threads {a.threads}`. Machine: {machine()}. "
        f"forge sha256 {sha_file(a.forge)}. Random weights, random tokens, batch 1. Peak RSS = the trainer's VmHWM (done event); "
        f"estimate = its start event's mem_estimate_bytes (what the studio planner shows).", "",
        "| run | details | peak RSS | estimate | estimate vs peak |", "|---|---|---:|---:|---:|", *rows, "",
        *(["| target | measured | result |", "|---|---|---|", *targets] if targets else []),
    ]
    print("\n".join(lines))
    if not a.quick:
        # both shapes: the "memory" block; one shape run alone (an 8B step takes long) writes its own block
        shapes = a.which.split(",")
        write_section("memory" if sorted(shapes) == ["1b", "8b"] else f"memory:{'-'.join(shapes)}", "\n".join(lines))


if __name__ == "__main__":
    main()
