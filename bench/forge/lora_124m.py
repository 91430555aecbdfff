#!/usr/bin/python3
"""LoRA r16 on the 124M bench shape: atelier-forge vs a PyTorch fp32 LoRA reference (issue 12 benchmark).

  /usr/bin/python3 bench/forge/lora_124m.py [--steps 40] [--reps 1] [--threads 2] [--quick]

Base: llama d=768, 12 layers, 12 heads, SwiGLU 2048, vocab 50259 (the 124M shape of bench/make-model.py), random
F32 weights made by `atelier-forge synth` (cached in bench/.cache/forge/lora124). Data: the benchmark's domain set
(bench/forge/prepare_data.py: llama.cpp docs, byte tokens, rows of 256). Both sides start from the same adapter
(forge writes its initial adapter at steps: 0 and PyTorch loads it), train rank 16 / alpha 32 on all seven linear
targets with the same row order, schedule (warmup 10, cosine to 0.1x, lr 1e-3, no weight decay, clip 1) and
batch 4 x 256, and report training tok/s (loop only), tok per CPU-second and the held-out loss after training.
Runs are interleaved (forge, torch, forge, ...); medians over --reps. Writes the "lora-124m" section of BENCHMARKS.md.
Cost on 2 cores: ~3-6 s per step per side (the 50k-vocabulary head included).
"""
import argparse
import json
import os
import subprocess
import sys

from common import CACHE, FORGE, ROOT, forge_train, fmt_int, log, machine, median, run, sha_file, stamp, write_section

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPE = {"embd": 768, "layers": 12, "heads": 12, "kv-heads": 12, "ff": 2048, "vocab": 50259, "ctx": 1024}
LORA = {"rank": 16, "alpha": 32, "dropout": 0.0, "targets": ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]}
OPT = {"batch": 4, "lr": 1e-3, "min_lr_ratio": 0.1, "warmup_steps": 10, "weight_decay": 0.0, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8,
       "grad_clip": 1.0, "seed": 42}


def ensure_data():
    data = os.path.join(CACHE, "data")
    if os.path.exists(os.path.join(data, "manifest.json")):
        return data
    src = os.path.join(CACHE, "llama.cpp")
    if not os.path.isdir(os.path.join(src, "docs")):
        bundle = os.path.join(ROOT, "node_modules/node-llama-cpp/llama/gitRelease.bundle")
        subprocess.run(["git", "clone", "-q", "--depth", "1", "--no-checkout", bundle, src], check=True)
        subprocess.run(["git", "-C", src, "sparse-checkout", "set", "--no-cone", "/ggml/include/", "/include/", "/docs/**/*.md"], check=True)
        subprocess.run(["git", "-C", src, "checkout", "-q"], check=True)
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "prepare_data.py"), data, src], check=True)
    return data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--forge", default=FORGE)
    ap.add_argument("--quick", action="store_true", help="3 steps: plumbing check only (nothing written)")
    a = ap.parse_args()
    if a.quick:
        a.steps, a.reps = 3, 1
    d = os.path.join(CACHE, "lora124")
    os.makedirs(d, exist_ok=True)
    p = lambda f: os.path.join(d, f)
    data = ensure_data()
    tr, ev = os.path.join(data, "domain.train.atds"), os.path.join(data, "domain.eval.atds")
    base = p("base-f32.gguf")
    if not os.path.exists(base):
        args = [a.forge, "synth", "--out", base, "--type", "f32", "--no-rope-freqs", "--threads", str(a.threads)]
        for k, v in SHAPE.items():
            args += [f"--{k}", str(v)]
        run(args, "124M base (forge synth, F32)")
    init = p("adapter-init.gguf")
    common = {"mode": "lora", "base": base, "train": tr, "eval": ev, "checkpointDir": "", "threads": a.threads, "lora": LORA, **OPT}
    forge_train({**{k: v for k, v in common.items() if k != "eval"}, "out": init, "steps": 0}, "lora124-init", "initial adapter (steps 0)", a.forge)

    torch_cmd = ["/usr/bin/python3", os.path.join(HERE, "torch_ref.py"), "--init", base, "--lora-init", init, "--train", tr, "--eval", ev,
                 "--steps", str(a.steps), "--threads", str(a.threads), "--batch", str(OPT["batch"]), "--lr", str(OPT["lr"]),
                 "--min-lr-ratio", str(OPT["min_lr_ratio"]), "--warmup", str(OPT["warmup_steps"]), "--wd", "0", "--beta1", str(OPT["beta1"]),
                 "--beta2", str(OPT["beta2"]), "--eps", str(OPT["eps"]), "--grad-clip", str(OPT["grad_clip"]), "--seed", str(OPT["seed"]), "--log-every", "10"]
    env_t = {"OMP_NUM_THREADS": str(a.threads), "OPENBLAS_NUM_THREADS": str(a.threads)}
    res = {"forge": [], "torch": []}
    for rep in range(a.reps):
        r = forge_train({**common, "out": p("adapter.gguf"), "steps": a.steps}, "lora124", f"[{rep + 1}/{a.reps}] forge LoRA r16", a.forge)
        tokens = r["start"]["tokens_per_step"] * len(r["steps"])
        loop_s = sum(s["step_s"] for s in r["steps"])
        res["forge"].append({"tok_s": tokens / loop_s, "tok_cpu": tokens / r["cpu_s"], "eval_loss": r["done"].get("eval_loss"),
                             "rss": r["rss"], "others": r["others"], "trainable": r["start"].get("trainable")})
        t = run(torch_cmd, f"[{rep + 1}/{a.reps}] PyTorch fp32 LoRA r16", env_t)
        done = next(l for l in t["lines"] if l.get("type") == "done")
        start = next(l for l in t["lines"] if l.get("type") == "start")
        res["torch"].append({"tok_s": done["tok_s"], "tok_cpu": done["tokens"] / t["cpu_s"], "eval_loss": done["eval_loss"], "rss": t["rss"],
                             "others": t["others"], "trainable": start.get("trainable")})
    f, t = ({k: median([x[k] for x in res[s]]) for k in ("tok_s", "tok_cpu", "eval_loss", "rss")} for s in ("forge", "torch"))
    others = [x["others"] for s in res.values() for x in s]
    ratio = f["tok_s"] / t["tok_s"]
    dl = 100 * (f["eval_loss"] / t["eval_loss"] - 1)
    lines = [
        f"### LoRA r16 on the 124M shape: forge vs PyTorch fp32 LoRA ({stamp()})", "",
        f"Command: `/usr/bin/python3 bench/forge/lora_124m.py --steps {a.steps} --reps {a.reps} --threads {a.threads}`. Machine: {machine()}; "
        f"other processes used {min(others):.2f}-{max(others):.2f} CPUs during the runs. forge sha256 {sha_file(a.forge)}.",
        f"Base {SHAPE['embd']}x{SHAPE['layers']} layers, vocab {SHAPE['vocab']}, random F32 weights; trainable: forge {fmt_int(res['forge'][0]['trainable'] or 0)}, "
        f"PyTorch {fmt_int(res['torch'][0]['trainable'] or 0)} parameters; {a.steps} steps of batch {OPT['batch']} x 256, same initial adapter, row order and schedule.", "",
        "| system | tok/s (loop) | tok / CPU-s | peak RSS | held-out loss |",
        "|---|---:|---:|---:|---:|",
        f"| atelier-forge LoRA r16, {a.threads} thr | {fmt_int(f['tok_s'])} | {fmt_int(f['tok_cpu'])} | {f['rss'] / 2**20:,.0f} MiB | {f['eval_loss']:.4f} |",
        f"| PyTorch fp32 LoRA r16, {a.threads} thr | {fmt_int(t['tok_s'])} | {fmt_int(t['tok_cpu'])} | {t['rss'] / 2**20:,.0f} MiB | {t['eval_loss']:.4f} |",
        "",
        "| target | measured | result |", "|---|---|---|",
        f"| forge >= 1.5x PyTorch fp32 LoRA (tok/s) | {ratio:.2f}x | {'PASS' if ratio >= 1.5 else 'FAIL'} |",
        f"| held-out loss equal within 1% | {dl:+.2f}% | {'PASS' if abs(dl) <= 1 else 'FAIL'} |",
    ]
    print("\n".join(lines))
    if not a.quick:
        write_section("lora-124m", "\n".join(lines))
    with open(p("results.json"), "w") as fp:
        json.dump(res, fp, indent=1)


if __name__ == "__main__":
    main()
