#!/usr/bin/python3
"""Forge training benchmark driver (stdlib only). Use bench/forge/run.sh, which builds what is missing.

  /usr/bin/python3 bench/forge/bench.py [--quick] [--forge PATH] [--skip-torch] [--skip-llama-opt]

Runs, on the same byte-level data (bench/forge/prepare_data.py) and the same forge-initialised GGUF:
  scratch, 2 epochs: atelier-forge f32 (threads 1 and 2, best reported; plus 2 threads with its non-default
                     ATELIER_FORGE_GGML_THREADS=1, and a 30-step per-op profile), atelier-forge bf16 (precision
                     "bf16", best thread count; only on CPUs with AVX512-BF16), llama_opt (threads 1 and 2, best),
                     PyTorch fp32 and bf16-autocast (torch.set_num_threads(2), OpenBLAS if selected)
  fine-tune, 1 epoch of the domain set from the forge scratch model: forge full, llama_opt full,
                     forge LoRA rank 8
Peak RSS of each child comes from wait4()'s ru_maxrss. Prints a markdown table and writes
bench/forge/RESULTS.md and the "training" section of BENCHMARKS.md (+ raw JSON in bench/.cache/forge/results.json). --quick: a few steps per
run, to check the plumbing (its numbers and pass/fail are not meaningful).
"""
import argparse
import datetime
import glob
import hashlib
import json
import os
import platform
import subprocess
import sys
import time

from common import run, write_section

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../.."))
CACHE = os.path.join(ROOT, "bench/.cache/forge")
DATA = os.path.join(CACHE, "data")
LIBS = os.path.join(ROOT, "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64")
PY = "/usr/bin/python3"

MODEL = {"n_vocab": 257, "n_embd": 256, "n_layer": 4, "n_head": 4, "n_head_kv": 4, "n_ff": 768, "n_ctx": 256,
         "rope_theta": 10000.0, "norm_eps": 1e-5}
# Shared optimisation settings (forge config names). llama_opt gets the same per-token schedule
# (its optimizer step is one sequence, so warmup is scaled by batch).
TRAIN = {"batch": 4, "lr": 1e-3, "min_lr_ratio": 0.1, "warmup_steps": 20, "weight_decay": 0.1, "beta1": 0.9,
         "beta2": 0.95, "eps": 1e-8, "grad_clip": 1.0, "seed": 42}
FT = {"lr": 3e-4, "warmup_steps": 10}
LORA = {"rank": 8, "alpha": 16, "dropout": 0.0,
        "targets": ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]}
LORA_LR = 1e-3
# llama_opt steps on one sequence (batch 1, no clipping): at the shared lr 1e-3 it diverged (held-out ppl 53.8
# after 2 epochs), so it gets the linearly scaled lr/batch. Its speed does not depend on the lr.
LO_LR_SCALE = 1.0 / TRAIN["batch"]


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def popen_rss(cmd, env, label):
    """bench/forge/common.py's run(): JSON stdout lines, wall/CPU seconds, peak RSS via wait4, other processes' load."""
    r = run(cmd, label, env)
    tok_s = next((l["tok_s"] for l in reversed(r["lines"]) if "tok_s" in l), None)
    last = next((l for l in reversed(r["lines"]) if l.get("type") in ("done", "eval")), {})
    log(f"  tok/s {tok_s}, eval ppl {last.get('eval_ppl', last.get('ppl'))}")
    return r


def forge_run(forge, name, cfg, label, env=None):
    path = os.path.join(CACHE, "tmp", name + ".json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    r = popen_rss([forge, "train", "--config", path], env, label)
    steps = [l for l in r["lines"] if l.get("type") == "step"]
    done = [l for l in r["lines"] if l.get("type") == "done"][-1]
    tps = next((l["tokens_per_step"] for l in r["lines"] if l.get("type") == "start"), 0)
    r.update(tokens=tps * len(steps), tok_s=steps[-1]["tok_s"] if steps else 0.0, eval_ppl=done.get("eval_ppl"), eval_loss=done.get("eval_loss"),
             train_loss=done.get("train_loss"), steps=done.get("steps"), out=cfg["out"])
    return r


def llama_opt_run(bin_, base, train, evl, threads, extra, out, label):
    cmd = [bin_, "--model", base, "--train", train, "--eval", evl, "--threads", str(threads), "--libs", LIBS, "--out", out]
    for k, v in extra.items():
        cmd += ["--" + k, str(v)]
    r = popen_rss(cmd, None, label)
    done = [l for l in r["lines"] if l.get("type") == "done"][-1]
    r.update(tokens=done["tokens"], tok_s=done["tok_s"], eval_ppl=done["eval_ppl"], eval_loss=done["eval_loss"],
             train_loss=done["train_loss"], steps=done["steps"], out=out, threads=threads)
    return r


def torch_run(base, train, evl, bf16, extra, label):
    cmd = [PY, os.path.join(HERE, "torch_ref.py"), "--init", base, "--train", train, "--eval", evl, "--threads", "2"]
    for k, v in extra.items():
        cmd += ["--" + k, str(v)]
    if bf16:
        cmd.append("--bf16")
    r = popen_rss(cmd, {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}, label)
    done = [l for l in r["lines"] if l.get("type") == "done"][-1]
    r.update(tokens=done["tokens"], tok_s=done["tok_s"], eval_ppl=done["eval_ppl"], eval_loss=done["eval_loss"],
             train_loss=done["train_loss"], steps=done["steps"])
    return r


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception:
        return ""


def sha_file(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def fmt_mib(b):
    return f"{b / 2**20:.0f} MiB"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--forge", default=os.path.join(ROOT, "server/forge/native/build/atelier-forge"))
    ap.add_argument("--llama-opt", default=os.path.join(CACHE, "llama-opt"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--skip-llama-opt", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    a = ap.parse_args()
    os.makedirs(os.path.join(CACHE, "tmp"), exist_ok=True)
    os.makedirs(os.path.join(CACHE, "out"), exist_ok=True)
    threads = [int(t) for t in a.threads.split(",")]
    with open(os.path.join(DATA, "tokenizer.json")) as f:
        tok = json.load(f)
    with open(os.path.join(DATA, "manifest.json")) as f:
        manifest = json.load(f)
    g_tr, g_ev = os.path.join(DATA, "general.train.atds"), os.path.join(DATA, "general.eval.atds")
    d_tr, d_ev = os.path.join(DATA, "domain.train.atds"), os.path.join(DATA, "domain.eval.atds")
    n_gen = manifest["sets"]["general"]["train_rows"]
    n_dom = manifest["sets"]["domain"]["train_rows"]
    B = TRAIN["batch"]
    quick_steps = 6
    scratch_len = {"steps": quick_steps} if a.quick else {"epochs": 2}
    ft_len = {"steps": quick_steps} if a.quick else {"epochs": 1}
    out = lambda n: os.path.join(CACHE, "out", n + ".gguf")
    res = {}

    # 1. shared random init: forge scratch with steps 0 (F32, byte-level gpt2 vocab for llama.cpp).
    init = out("init")
    base_cfg = {"mode": "scratch", "train": g_tr, "model": MODEL, "tokenizer": tok, **TRAIN}
    forge_run(a.forge, "init", {**base_cfg, "out": init, "steps": 0, "threads": 2}, "init (forge steps:0)")

    # 2. scratch, 2 epochs
    for t in threads:
        res[f"forge_scratch_t{t}"] = forge_run(a.forge, f"scratch_t{t}", {**base_cfg, "out": out(f"forge_scratch_t{t}"),
                                               "eval": g_ev, "threads": t, **scratch_len}, f"forge scratch threads={t}")
    best_t = max(threads, key=lambda t: res[f"forge_scratch_t{t}"]["tok_s"])
    res["forge_scratch"] = res[f"forge_scratch_t{best_t}"]
    # mixed precision: BF16 matmul operands, F32 masters (needs AVX512-BF16; "auto" falls back to f32 otherwise)
    r = forge_run(a.forge, f"scratch_bf16_t{best_t}", {**base_cfg, "out": out("forge_scratch_bf16"), "eval": g_ev, "threads": best_t,
                                                         "precision": "auto", **scratch_len}, f"forge scratch bf16 threads={best_t}")
    if next((l.get("precision") for l in r["lines"] if l.get("type") == "start"), "f32") == "bf16":
        res["forge_scratch_bf16"] = r
    # forge's documented alternative threading (all threads to ggml, spin barriers; faster on an idle box)
    gt = max(threads)
    if gt > 1:
        res["forge_scratch_ggml_threads"] = forge_run(a.forge, f"scratch_t{gt}_ggml", {**base_cfg, "out": out("forge_scratch_ggml"),
                                                      "eval": g_ev, "threads": gt, **scratch_len},
                                                      f"forge scratch threads={gt} ATELIER_FORGE_GGML_THREADS=1", {"ATELIER_FORGE_GGML_THREADS": "1"})
        res["forge_scratch_ggml_threads"]["threads"] = gt
    lo_sched = {"lr": TRAIN["lr"] * LO_LR_SCALE, "min-lr-ratio": TRAIN["min_lr_ratio"], "warmup": TRAIN["warmup_steps"] * B,
                "wd": TRAIN["weight_decay"], "beta1": TRAIN["beta1"], "beta2": TRAIN["beta2"], "eps": TRAIN["eps"], "seed": TRAIN["seed"]}
    lo_len = {"steps": quick_steps * B} if a.quick else {"epochs": 2}
    if not a.skip_llama_opt:
        for t in threads:
            res[f"llama_opt_scratch_t{t}"] = llama_opt_run(a.llama_opt, init, g_tr, g_ev, t, {**lo_sched, **lo_len},
                                                           out(f"llama_opt_scratch_t{t}"), f"llama_opt scratch threads={t}")
        lt = max(threads, key=lambda t: res[f"llama_opt_scratch_t{t}"]["tok_s"])
        res["llama_opt_scratch"] = res[f"llama_opt_scratch_t{lt}"]
    t_sched = {"lr": TRAIN["lr"], "min-lr-ratio": TRAIN["min_lr_ratio"], "warmup": TRAIN["warmup_steps"], "wd": TRAIN["weight_decay"],
               "beta1": TRAIN["beta1"], "beta2": TRAIN["beta2"], "eps": TRAIN["eps"], "grad-clip": TRAIN["grad_clip"],
               "seed": TRAIN["seed"], "batch": B}
    t_len = {"steps": quick_steps} if a.quick else {"epochs": 2}
    if not a.skip_torch:
        res["torch_fp32"] = torch_run(init, g_tr, g_ev, False, {**t_sched, **t_len}, "torch fp32")
        res["torch_bf16"] = torch_run(init, g_tr, g_ev, True, {**t_sched, **t_len}, "torch bf16 autocast")

    # where forge's time goes: ggml per-op timing (ATELIER_FORGE_PROFILE=1; CUSTOM = forge's own GEMMs), 30 steps, 1 thread
    prof = {}
    for m, cfg in (("scratch", {**base_cfg, "out": out("prof"), "threads": 1, "steps": 30}),):
        r = forge_run(a.forge, "prof_" + m, cfg, f"forge {m} per-op profile (1 thread)", {"ATELIER_FORGE_PROFILE": "1"})
        prof[m] = [ln.rstrip() for ln in r["stderr"].splitlines() if ln.startswith("    ") or "profile:" in ln][:12]
    res["profile"] = prof

    # 3. fine-tunes of the forge scratch model on the domain set (1 epoch), best forge thread count.
    base = res["forge_scratch"]["out"]
    ev0 = popen_rss([a.forge, "eval", "--model", base, "--data", d_ev, "--threads", str(best_t)], None, "domain ppl of the base")
    res["base_domain_ppl"] = [l for l in ev0["lines"] if l.get("type") == "eval"][-1]["ppl"]
    ft_cfg = {**TRAIN, **FT, "train": d_tr, "eval": d_ev, "base": base, "threads": best_t, **ft_len}
    res["forge_full"] = forge_run(a.forge, "full", {**ft_cfg, "mode": "full", "out": out("forge_full")}, f"forge full FT threads={best_t}")
    res["forge_lora"] = forge_run(a.forge, "lora", {**ft_cfg, "mode": "lora", "lr": LORA_LR, "weight_decay": 0.0, "lora": LORA,
                                                    "out": out("forge_lora_adapter")}, f"forge LoRA r{LORA['rank']} threads={best_t}")
    if not a.skip_llama_opt:
        lo_ft = {**lo_sched, "lr": FT["lr"] * LO_LR_SCALE, "warmup": FT["warmup_steps"] * B, **({"steps": quick_steps * B} if a.quick else {"epochs": 1})}
        lt = max(threads, key=lambda t: res[f"llama_opt_scratch_t{t}"]["tok_s"])
        res["llama_opt_full"] = llama_opt_run(a.llama_opt, base, d_tr, d_ev, lt, lo_ft, out("llama_opt_full"), f"llama_opt full FT threads={lt}")

    report(a, res, threads, best_t, manifest, n_gen, n_dom)


def report(a, res, threads, best_t, manifest, n_gen, n_dom):
    lo_s = res.get("llama_opt_scratch")
    lo_f = res.get("llama_opt_full")
    tf = res.get("torch_fp32")
    rows = []
    targets = []

    def ratio(x, ref):
        return f"{x / ref['tok_s']:.2f}x" if ref and ref.get("tok_s") else "–"

    def row(system, mode, r, lo_ref, t_ref, note=""):
        tpc = r["tokens"] / r["cpu_s"] if r.get("tokens") and r.get("cpu_s") else 0
        rows.append(f"| {system} | {mode} | {r['tok_s']:,.0f} | {tpc:,.0f} | {fmt_mib(r['rss'])} | "
                    f"{r['eval_ppl']:.3f} | {ratio(r['tok_s'], lo_ref)} | {ratio(r['tok_s'], t_ref)} | {note} |")

    for t in threads:
        r = res[f"forge_scratch_t{t}"]
        row(f"atelier-forge f32, {t} thr", "scratch, 2 ep", r, lo_s, tf, "**best default**" if t == best_t else "")
    if "forge_scratch_bf16" in res:
        row(f"atelier-forge bf16, {best_t} thr", "scratch, 2 ep", res["forge_scratch_bf16"], lo_s, tf, "precision bf16")
    if "forge_scratch_ggml_threads" in res:
        r = res["forge_scratch_ggml_threads"]
        row(f"atelier-forge, {r['threads']} thr, ATELIER_FORGE_GGML_THREADS=1", "scratch, 2 ep", r, lo_s, tf, "non-default threading")
    for t in threads:
        k = f"llama_opt_scratch_t{t}"
        if k in res:
            row(f"llama_opt, {t} thr", "scratch, 2 ep (batch 1)", res[k], lo_s, tf, "floor" if res[k] is lo_s else "")
    if tf:
        row("PyTorch fp32 (OpenBLAS), 2 thr", "scratch, 2 ep", tf, lo_s, tf, "reference")
        row("PyTorch bf16 autocast, 2 thr", "scratch, 2 ep", res["torch_bf16"], lo_s, tf, "")
    row(f"atelier-forge, {best_t} thr", "full FT, 1 ep domain", res["forge_full"], lo_f, None, "")
    if lo_f:
        row(f"llama_opt, {lo_f['threads']} thr", "full FT, 1 ep domain (batch 1)", lo_f, lo_f, None, "floor")
    row(f"atelier-forge, {best_t} thr", f"LoRA r{LORA['rank']}, 1 ep domain", res["forge_lora"], lo_f, None, "vs llama_opt full FT")

    fs = res["forge_scratch"]
    def check(name, ok, detail):
        targets.append(f"| {name} | {detail} | {'NOT RUN' if ok is None else 'PASS' if ok else 'FAIL'} |")
    if lo_s:
        check("scratch tok/s >= 1.5x llama_opt", fs["tok_s"] >= 1.5 * lo_s["tok_s"], f"{fs['tok_s']:,.0f} vs {lo_s['tok_s']:,.0f} ({fs['tok_s'] / lo_s['tok_s']:.2f}x)")
    if tf:
        check("scratch tok/s >= 1.0x PyTorch fp32", fs["tok_s"] >= tf["tok_s"], f"{fs['tok_s']:,.0f} vs {tf['tok_s']:,.0f} ({fs['tok_s'] / tf['tok_s']:.2f}x); bf16 {res['torch_bf16']['tok_s']:,.0f}")
        if "forge_scratch_ggml_threads" in res:
            g = res["forge_scratch_ggml_threads"]
            check("… same with ATELIER_FORGE_GGML_THREADS=1 (not default)", g["tok_s"] >= tf["tok_s"],
                  f"{g['tok_s']:,.0f} vs {tf['tok_s']:,.0f} ({g['tok_s'] / tf['tok_s']:.2f}x)")
        check("scratch tok/s >= 1.2x PyTorch fp32", fs["tok_s"] >= 1.2 * tf["tok_s"], f"{fs['tok_s']:,.0f} vs {tf['tok_s']:,.0f} ({fs['tok_s'] / tf['tok_s']:.2f}x)")
        d = 100 * (fs["eval_ppl"] / tf["eval_ppl"] - 1)
        # the same training loss at the same step on both sides, measured in this run (torch logs every 50 steps)
        tl = {l["step"]: l["loss"] for l in tf["lines"] if l.get("type") == "step"}
        fl = {l["step"]: l["loss"] for l in fs["lines"] if l.get("type") == "step"}
        common_steps = sorted(set(tl) & set(fl))
        same = (f"training loss at step {common_steps[0]}: forge {fl[common_steps[0]]:.6f}, torch {tl[common_steps[0]]:.6f}"
                if common_steps else "no common logged step")
        check("held-out ppl <= PyTorch fp32 (2 ep)", fs["eval_ppl"] <= tf["eval_ppl"],
              f"{fs['eval_ppl']:.3f} vs {tf['eval_ppl']:.3f} ({d:+.2f}%; {same}; one seed)")
        tb = res["torch_bf16"]
        fb = res.get("forge_scratch_bf16")
        if fb:
            check("forge bf16 tok/s >= 1.0x PyTorch bf16 autocast", fb["tok_s"] >= tb["tok_s"], f"{fb['tok_s']:,.0f} vs {tb['tok_s']:,.0f} ({fb['tok_s'] / tb['tok_s']:.2f}x)")
            check("… moonshot: >= 1.3x", fb["tok_s"] >= 1.3 * tb["tok_s"], f"{fb['tok_s'] / tb['tok_s']:.2f}x")
            db = 100 * (fb["eval_ppl"] / fs["eval_ppl"] - 1)
            check("forge bf16 held-out ppl within 1% of forge f32", abs(db) <= 1.0,
                  f"{fb['eval_ppl']:.3f} vs {fs['eval_ppl']:.3f} ({db:+.2f}%); PyTorch bf16 vs fp32: {100 * (tb['eval_ppl'] / tf['eval_ppl'] - 1):+.2f}%")
        else:
            check("forge bf16 tok/s >= 1.0x PyTorch bf16 autocast", None, "this CPU has no AVX512-BF16: forge precision auto ran f32")
    if lo_f:
        ff = res["forge_full"]
        check("full FT tok/s >= 1.5x llama_opt", ff["tok_s"] >= 1.5 * lo_f["tok_s"], f"{ff['tok_s']:,.0f} vs {lo_f['tok_s']:,.0f} ({ff['tok_s'] / lo_f['tok_s']:.2f}x)")
    gpu_here = os.path.exists("/dev/nvidiactl")
    check("CUDA MFU >= 30% (0.5B)", None, "not measured by this script: run bench/forge/gpu.sh" + ("" if gpu_here else " (this machine has no /dev/nvidiactl)"))

    cpu = sh("lscpu | sed -n 's/^Model name: *//p' | head -1") or platform.processor()
    blas = os.path.realpath("/etc/alternatives/libblas.so.3-x86_64-linux-gnu")
    torch_v = next((l.get("torch") for l in (tf or {}).get("lines", []) if l.get("type") == "start"), "n/a")
    llama_commit = sh(f"git -C {os.path.join(CACHE, 'llama.cpp')} rev-parse --short HEAD")
    others = [v["others"] for v in res.values() if isinstance(v, dict) and "others" in v]
    max_other = max(others, default=0)
    noisy = max_other > 0.2
    table = "\n".join([
        "| system | run | tok/s | tok/CPU-s | peak RSS | held-out ppl | vs llama_opt | vs torch fp32 | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|", *rows])
    ttable = "\n".join(["| target | measured | result |", "|---|---|---|", *targets])
    gs, ds = manifest["sets"]["general"], manifest["sets"]["domain"]
    md = f"""# Forge training benchmark (CPU)

{"**QUICK MODE: a few steps per run; numbers and pass/fail are NOT meaningful.**" if a.quick else ""}
Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} · CPU: {cpu}, {os.cpu_count()} cores ·
CPU used by other processes during the runs: up to {max_other:.2f} cores{" (**machine shared/busy: numbers are noisy**)" if noisy else " (quiet)"} ·
PyTorch {torch_v}, BLAS {blas} · llama.cpp {llama_commit} (node-llama-cpp bundle, shipped libs) ·
forge binary sha256 {sha_file(a.forge)}.

Model: llama, n_embd {MODEL['n_embd']}, {MODEL['n_layer']} layers, {MODEL['n_head']} heads, n_ff {MODEL['n_ff']}, ctx {MODEL['n_ctx']},
untied head, byte-level vocab 257 ({fs['lines'][0].get('params', 0) / 1e6 if fs['lines'] and fs['lines'][0].get('type') == 'start' else 0:.2f}M params), one shared forge-made init GGUF.
Data: general {gs['bytes']:,} B of node_modules READMEs → {gs['train_rows']} train / {gs['eval_rows']} held-out rows of 256 tokens
(train sha256 {gs['train_sha256'][:12]}); domain {ds['bytes']:,} B of llama.cpp docs → {ds['train_rows']} / {ds['eval_rows']} rows.
Settings: batch {TRAIN['batch']} x 256, AdamW lr {TRAIN['lr']} (FT {FT['lr']}, LoRA {LORA_LR}), warmup {TRAIN['warmup_steps']} steps, cosine to
{TRAIN['min_lr_ratio']}x, wd {TRAIN['weight_decay']}, betas {TRAIN['beta1']}/{TRAIN['beta2']}, clip {TRAIN['grad_clip']}, seed {TRAIN['seed']}, same row order
everywhere. The llama_opt driver (bench/forge/llama-opt.cpp) steps on one 256-token sequence (no batch, no clip,
token_embd frozen); its warmup is the same in tokens and its lr is scaled by 1/batch. LoRA: rank {LORA['rank']}, alpha {LORA['alpha']}, all 7 linear targets.
Fine-tunes start from the forge scratch model (domain held-out ppl before: {res['base_domain_ppl']:.3f}).
tok/s = training tokens / training-loop wall time (eval excluded); tok/CPU-s = training tokens / the process's
user+sys CPU time (includes init and the final eval; steadier than tok/s on a shared machine, but counts
ggml's barrier spinning as work); peak RSS = ru_maxrss of the process.

{table}

{ttable}
"""
    if res.get("profile"):
        md += ("\nforge per-op time, scratch, 1 thread, 30 steps (ATELIER_FORGE_PROFILE=1; `forge …` = forge's own ops on its pool: GEMMs "
               "and cpu_ops.cpp; UPPERCASE = ggml ops, single-threaded by default; the fused optimizer runs outside the graph and is not listed):\n\n```\n")
        md += "\n".join(res["profile"]["scratch"]) + "\n```\n"
    if os.path.exists(os.path.join(HERE, "SEEDS.md")):
        md += "\nHeld-out ppl across seeds (is the forge/torch gap noise?): bench/forge/SEEDS.md (bench/forge/seeds.py).\n"
    print(table)
    print()
    print(ttable)
    with open(a.out, "w") as f:
        f.write(md)
    if not a.quick:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
        write_section("training", "\n".join([
            f"### Training on the 3.5M reference shape: forge vs llama_opt vs PyTorch ({stamp})", "",
            f"Command: `bash bench/forge/run.sh {' '.join(sys.argv[1:])}`. Machine: {cpu}, {os.cpu_count()} cores; other processes used up to "
            f"{max_other:.2f} CPUs during the runs{' (busy: noisy numbers)' if noisy else ''}. Full details: bench/forge/RESULTS.md.", "",
            table, "", ttable]))
    with open(os.path.join(CACHE, "results.json"), "w") as f:
        json.dump({k: {kk: vv for kk, vv in v.items() if kk != "lines"} if isinstance(v, dict) else v for k, v in res.items()}, f, indent=1)
    log(f"wrote {os.path.relpath(a.out, ROOT)}")


if __name__ == "__main__":
    main()
