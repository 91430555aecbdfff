#!/usr/bin/python3
"""Seed study for the scratch run: is forge's held-out ppl vs PyTorch fp32 a real gap or seed noise?

  /usr/bin/python3 bench/forge/seeds.py [--seeds 42,1,2,3,4] [--threads 2] [--forge PATH]

Run bench/forge/run.sh once first (it builds forge and the data). For each seed: a forge init GGUF with
that seed (init + row order both follow the seed, exactly as in bench.py), then the 2-epoch scratch run
of atelier-forge and of torch_ref.py fp32 on the same settings, alternating which goes first so machine
load drifts hit both alike. Prints one row per seed, mean/std of held-out ppl and of the paired
difference, and the median tok/s of each; writes bench/forge/SEEDS.md, raw JSON in bench/.cache/forge/seeds.json.
Held-out ppl does not depend on the thread count or the load (forge is bitwise deterministic).
"""
import argparse
import datetime
import json
import os
import statistics

import bench


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="42,1,2,3,4")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=float, default=2, help="2 = the benchmark; small values only to check the plumbing")
    ap.add_argument("--out", default=os.path.join(bench.HERE, "SEEDS.md"))
    ap.add_argument("--forge", default=os.path.join(bench.ROOT, "server/forge/native/build/atelier-forge"))
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    os.makedirs(os.path.join(bench.CACHE, "tmp"), exist_ok=True)
    os.makedirs(os.path.join(bench.CACHE, "out"), exist_ok=True)
    with open(os.path.join(bench.DATA, "tokenizer.json")) as f:
        tok = json.load(f)
    g_tr, g_ev = os.path.join(bench.DATA, "general.train.atds"), os.path.join(bench.DATA, "general.eval.atds")
    out = lambda n: os.path.join(bench.CACHE, "out", n + ".gguf")
    T = bench.TRAIN
    rows = []
    for i, seed in enumerate(seeds):
        base = {"mode": "scratch", "train": g_tr, "model": bench.MODEL, "tokenizer": tok, **T, "seed": seed}
        init = out(f"seed_init{seed}")
        bench.forge_run(a.forge, "seed_init", {**base, "out": init, "steps": 0, "threads": a.threads}, f"init seed {seed}")
        t_args = {"lr": T["lr"], "min-lr-ratio": T["min_lr_ratio"], "warmup": T["warmup_steps"], "wd": T["weight_decay"],
                  "beta1": T["beta1"], "beta2": T["beta2"], "eps": T["eps"], "grad-clip": T["grad_clip"], "seed": seed,
                  "batch": T["batch"], "epochs": a.epochs}
        run_f = lambda: bench.forge_run(a.forge, "seed_run", {**base, "out": out("seed_forge"), "eval": g_ev, "threads": a.threads,
                                                              "epochs": a.epochs}, f"forge seed {seed}")
        run_t = lambda: bench.torch_run(init, g_tr, g_ev, False, t_args, f"torch fp32 seed {seed}")
        if i % 2 == 0:
            f, t = run_f(), run_t()
        else:
            t, f = run_t(), run_f()
        rows.append({"seed": seed, "forge_ppl": f["eval_ppl"], "torch_ppl": t["eval_ppl"], "forge_tok_s": f["tok_s"],
                     "torch_tok_s": t["tok_s"], "forge_load": f["load"], "torch_load": t["load"],
                     "forge_others": f["others"], "torch_others": t["others"]})
        bench.log(f"seed {seed}: forge {f['eval_ppl']:.4f} torch {t['eval_ppl']:.4f}")
    report(a, rows)


def report(a, rows):
    lines = ["| seed | forge ppl | torch ppl | forge - torch | forge tok/s | torch tok/s | load (forge / torch) |",
             "|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['seed']} | {r['forge_ppl']:.4f} | {r['torch_ppl']:.4f} | {r['forge_ppl'] - r['torch_ppl']:+.4f} | "
                     f"{r['forge_tok_s']:,.0f} | {r['torch_tok_s']:,.0f} | {r['forge_load'][0]} / {r['torch_load'][0]} |")
    fp = [r["forge_ppl"] for r in rows]
    tp = [r["torch_ppl"] for r in rows]
    d = [x - y for x, y in zip(fp, tp)]
    sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
    summary = (f"forge ppl {statistics.mean(fp):.4f} ± {sd(fp):.4f}, torch ppl {statistics.mean(tp):.4f} ± {sd(tp):.4f} "
               f"(mean ± std over {len(rows)} seeds); paired forge - torch {statistics.mean(d):+.4f} ± {sd(d):.4f}; "
               f"median tok/s forge {statistics.median(r['forge_tok_s'] for r in rows):,.0f}, "
               f"torch {statistics.median(r['torch_tok_s'] for r in rows):,.0f}")
    print("\n".join(lines) + "\n\n" + summary)
    with open(a.out, "w") as f:
        f.write(f"# Forge vs PyTorch fp32: held-out ppl across seeds\n\n{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}, "
                f"forge binary sha256 {bench.sha_file(a.forge)}, {a.threads} threads; settings as bench.py's scratch run "
                f"({a.epochs:g} epochs), seed = init + row order.\n\n" + "\n".join(lines) + "\n\n" + summary + "\n")
    with open(os.path.join(bench.CACHE, "seeds.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
