#!/usr/bin/env bash
# Forge training benchmark (CPU): atelier-forge vs llama.cpp's llama_opt vs PyTorch, same model and data.
#
#   bench/forge/run.sh [--quick] [--skip-llama-opt] [--skip-torch] [other bench.py flags]   (~25 min on 2 idle cores)
#
# Builds what is missing (forge via its own build.mjs, bench/.cache/forge/llama-opt unless --skip-llama-opt,
# the data set), runs bench/forge/bench.py (3.5M shape: f32 and bf16 vs PyTorch fp32/bf16 autocast, fine-tunes),
# prints the table and writes bench/forge/RESULTS.md and the "training" section of BENCHMARKS.md.
# The other forge benchmarks have their own entry points (each writes its own BENCHMARKS.md section):
#   /usr/bin/python3 bench/forge/lora_speed.py     LoRA vs full FT over F16/BF16/Q8_0/Q4_K_M bases
#   /usr/bin/python3 bench/forge/lora_124m.py      LoRA r16 on the 124M shape vs a PyTorch fp32 LoRA
#   /usr/bin/python3 bench/forge/memory.py         8B Q4_K_M LoRA at ctx 2048; 1B full FT, checkpointing on/off
#   bash bench/forge/gpu.sh                        CUDA: bf16 MFU on a 0.5B shape
# Needs: g++, git, node, Debian's /usr/bin/python3 with python3-torch + python3-numpy; for the PyTorch
# figures to mean anything, OpenBLAS as the system BLAS:
#   apt-get install -y python3-torch python3-numpy libopenblas0-openmp
#   update-alternatives --set libblas.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3
# Run it on a quiet machine: `uptime` load should be well under 1; RESULTS.md records the load seen.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
C=bench/.cache/forge
LIBS=node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
BUNDLE=node_modules/node-llama-cpp/llama/gitRelease.bundle
FORGE=server/forge/native/build/atelier-forge
mkdir -p "$C"

# 1. atelier-forge (its build script is a no-op when up to date)
node server/forge/native/build.mjs >&2
[ -x "$FORGE" ] || { echo "atelier-forge did not build" >&2; exit 1; }

# 2. llama.cpp headers + docs (domain data) from node-llama-cpp's bundle: the exact source of the shipped libs
if [ ! -f "$C/llama.cpp/include/llama.h" ] || [ ! -d "$C/llama.cpp/docs" ]; then
  rm -rf "$C/llama.cpp"
  git clone -q --depth 1 --no-checkout "$BUNDLE" "$C/llama.cpp"
  git -C "$C/llama.cpp" sparse-checkout set --no-cone /ggml/include/ /include/ '/docs/**/*.md'
  git -C "$C/llama.cpp" checkout -q
fi

# 3. llama_opt driver, linked to the shipped libs (rpath); not needed with --skip-llama-opt
SKIP_LO=0
for arg in "$@"; do [ "$arg" = "--skip-llama-opt" ] && SKIP_LO=1; done
if [ "$SKIP_LO" = 0 ] && { [ ! -x "$C/llama-opt" ] || [ bench/forge/llama-opt.cpp -nt "$C/llama-opt" ]; }; then
  # the shipped names carry a version (libllama.v0.4.0.so, libggml.v0.4.0.so); find, not ls, so a missing
  # unversioned name cannot fail the pipeline under pipefail
  LLAMA_LIB=$(find "$LIBS" -maxdepth 1 -name 'libllama*.so' ! -name '*common*' -printf '%f\n' | sort | head -1)
  GGML_LIB=$(find "$LIBS" -maxdepth 1 \( -name 'libggml.so' -o -name 'libggml.v*.so' \) -printf '%f\n' | sort | head -1)
  [ -n "$LLAMA_LIB" ] && [ -n "$GGML_LIB" ] || { echo "[bench] libllama/libggml not found in $LIBS" >&2; exit 1; }
  g++ -std=c++17 -O2 -I "$C/llama.cpp/include" -I "$C/llama.cpp/ggml/include" bench/forge/llama-opt.cpp \
      -o "$C/llama-opt" -L "$LIBS" "-l:$LLAMA_LIB" -l:libggml-base.so "-l:$GGML_LIB" \
      -Wl,-rpath,"$ROOT/$LIBS" -pthread
fi

# 4. data (deterministic; rebuilt only when missing)
[ -f "$C/data/manifest.json" ] || /usr/bin/python3 bench/forge/prepare_data.py "$C/data" "$C/llama.cpp" >&2

# 5. environment notes
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "[bench] python3-torch missing: apt-get install -y python3-torch python3-numpy" >&2; exit 1; }
case "$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null)" in
  *openblas*) ;;
  *) echo "[bench] WARNING: system BLAS is not OpenBLAS; PyTorch fp32 will be ~15x slower than the reference figure" >&2 ;;
esac
echo "[bench] $(uptime)" >&2

exec /usr/bin/python3 bench/forge/bench.py "$@"
