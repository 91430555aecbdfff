#!/usr/bin/env bash
# Forge training speed on a CUDA GPU: tokens/s and model FLOPs utilisation for a 0.5B-shaped llama
# (Qwen2.5-0.5B dims in arch llama: n_embd 896, 24 layers, 14 heads / 2 KV heads, n_ff 4864, vocab 32000,
# ctx 1024, untied head, ~0.42B params), random init and random tokens, STEPS steps of BATCH x 1024 tokens.
#
#   bash bench/forge/gpu.sh            env: STEPS=30 BATCH=4 PRECISIONS="bf16 f32" PEAK_BF16_TFLOPS=.. PEAK_FP32_TFLOPS=.. OUT=dir
#
# One run per precision ("bf16": the weights enter ggml's CUDA matmuls as BF16 copies, F32 masters/optimizer;
# "f32"). MFU = 6 * N * tokens/s / peak dense FLOP/s (N = all parameters), against the card's bf16 tensor peak
# (target >= 30% for the bf16 run) and its fp32 (non-tensor) peak; a 6N + 12*L*d*T (attention) variant too.
# Also prints peak memory per run (the trainer's estimate; VmHWM is host memory only on a GPU).
# forge needs no CUDA compile: build.mjs builds one binary and it loads node-llama-cpp's prebuilt
# libggml-cuda.so at run time when /dev/nvidiactl exists (needs the CUDA 12 runtime: libcudart, libcublas).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
RES="${OUT:-bench/.cache/forge/gpu}"; mkdir -p "$RES"
PY=$(command -v /usr/bin/python3 || command -v python3)
command -v nvidia-smi >/dev/null || { echo "nvidia-smi not found: no NVIDIA GPU/driver" >&2; exit 1; }
GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2

node server/forge/native/build.mjs >&2
CUDA_LIB=node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda/libggml-cuda.so
[ -f "$CUDA_LIB" ] || { echo "missing $CUDA_LIB (node-llama-cpp's CUDA prebuilt; npm install on a CUDA box)" >&2; exit 1; }
if ldd "$CUDA_LIB" | grep -q "not found"; then
  echo "libggml-cuda.so dependencies missing (install the CUDA 12 runtime / cuBLAS):" >&2; ldd "$CUDA_LIB" | grep "not found" >&2; exit 1
fi
unset ATELIER_FORGE_CPU_ONLY

GPU_NAME="$GPU_NAME" RES="$RES" exec "$PY" - <<'EOF'
import json, os, random, struct, subprocess, sys
res, gpu = os.environ["RES"], os.environ["GPU_NAME"]
steps, batch, T, V = int(os.environ.get("STEPS", 30)), int(os.environ.get("BATCH", 4)), 1024, 32000
model = {"n_vocab": V, "n_embd": 896, "n_layer": 24, "n_head": 14, "n_head_kv": 2, "n_ff": 4864, "n_ctx": T,
         "rope_theta": 1000000.0, "norm_eps": 1e-6}
# dense peak TFLOP/s: (bf16 tensor, fp32 non-tensor); first match wins
PEAKS = [("H200", 989, 67), ("GH200", 989, 67), ("H100 NVL", 835, 60), ("H100 PCIe", 756, 51), ("H100", 989, 67),
         ("A100", 312, 19.5), ("L40S", 362, 91.6), ("L40", 181, 90.5), ("L4", 121, 30.3), ("A10", 125, 31.2),
         ("RTX 4090", 165, 82.6), ("RTX 3090", 71, 35.6), ("V100", 125, 15.7)]
bf16, fp32 = next(((b, f) for k, b, f in PEAKS if k.lower() in gpu.lower()), (None, None))
bf16 = float(os.environ.get("PEAK_BF16_TFLOPS", bf16 or 0)); fp32 = float(os.environ.get("PEAK_FP32_TFLOPS", fp32 or 0))
data = os.path.join(res, "random.atds")
rows = batch * steps
rng = random.Random(0)
with open(data, "wb") as f:
    f.write(b"ATDS" + struct.pack("<III", 1, T + 1, rows))
    f.write(struct.pack("<%di" % (rows * (T + 1)), *(rng.randrange(V) for _ in range(rows * (T + 1)))))
    f.write(b"\x01" * (rows * (T + 1)))
results = []
for precision in os.environ.get("PRECISIONS", "bf16 f32").split():
    cfg = {"mode": "scratch", "out": os.path.join(res, "model.gguf"), "out_type": "f16", "train": data, "model": model,
           "batch": batch, "steps": steps, "lr": 3e-4, "warmup_steps": 0, "seed": 1, "precision": precision}
    with open(os.path.join(res, "run.json"), "w") as f:
        json.dump(cfg, f)
    p = subprocess.Popen(["server/forge/native/build/atelier-forge", "train", "--config", os.path.join(res, "run.json")],
                         stdout=subprocess.PIPE, text=True)
    start, st = None, []
    for ln in p.stdout:
        try:
            j = json.loads(ln)
        except ValueError:
            continue
        if j["type"] == "start":
            start = j
            print(f"forge {precision}: backend {j['backend']}, {j['params'] / 1e6:.1f}M params, {j['tokens_per_step']} tokens/step", file=sys.stderr)
        elif j["type"] == "step":
            st.append(j["step_s"])
            print(f"  step {j['step']}/{j['steps']} loss {j['loss']:.3f} {j['step_s'] * 1000:.0f} ms", file=sys.stderr)
        elif j["type"] == "error":
            print("forge error:", j, file=sys.stderr)
    if p.wait() != 0 or not start or len(st) < 5:
        sys.exit(f"forge run failed ({precision})")
    if start["backend"] != "cuda":
        print(f"WARNING: forge ran on {start['backend']}, not CUDA (is /dev/nvidiactl there?)", file=sys.stderr)
    warm = st[3:]  # first steps: graph build, allocation, cuBLAS init
    tok_s = start["tokens_per_step"] * len(warm) / sum(warm)
    N = start["params"]
    f6 = 6 * N * tok_s
    fa = (6 * N + 12 * model["n_layer"] * model["n_embd"] * T) * tok_s
    pct = lambda x, peak: f"{100 * x / (peak * 1e12):.1f}%" if peak else "n/a (set PEAK_*_TFLOPS)"
    results.append({"gpu": gpu, "precision": start.get("precision", precision), "backend": start["backend"], "params": N, "batch": batch, "ctx": T,
                    "steps": len(st), "tok_s": round(tok_s, 1), "model_tflops": round(f6 / 1e12, 2), "mfu_bf16_peak": pct(f6, bf16),
                    "mfu_fp32_peak": pct(f6, fp32), "mfu_bf16_peak_with_attn": pct(fa, bf16), "peak_bf16_tflops": bf16, "peak_fp32_tflops": fp32,
                    "mem_estimate_bytes": start.get("mem_estimate_bytes"), "checkpointing": start.get("checkpointing"),
                    "target_30pct_bf16": (f6 / (bf16 * 1e12) >= 0.30) if bf16 and precision == "bf16" else None})
print(json.dumps(results, indent=1))
with open(os.path.join(res, "gpu-result.json"), "w") as f:
    json.dump(results, f, indent=1)
EOF
