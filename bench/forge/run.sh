#!/usr/bin/env bash
# Forge training benchmark (CPU): atelier-forge vs llama.cpp's llama_opt vs PyTorch, same model and data.
#
#   bench/forge/run.sh [--quick] [other bench.py flags]      (from anywhere; ~15 min on 2 idle cores)
#
# Builds what is missing (forge via its own build.mjs, bench/.cache/forge/llama-opt, the data set),
# runs bench/forge/bench.py, prints the table and writes bench/forge/RESULTS.md.
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
[ -f server/forge/native/READY ] || echo "[bench] note: server/forge/native/READY is absent (forge still in progress)" >&2

# 2. llama.cpp headers + docs (domain data) from node-llama-cpp's bundle: the exact source of the shipped libs
if [ ! -f "$C/llama.cpp/include/llama.h" ] || [ ! -d "$C/llama.cpp/docs" ]; then
  rm -rf "$C/llama.cpp"
  git clone -q --depth 1 --no-checkout "$BUNDLE" "$C/llama.cpp"
  git -C "$C/llama.cpp" sparse-checkout set --no-cone /ggml/include/ /include/ '/docs/**/*.md'
  git -C "$C/llama.cpp" checkout -q
fi

# 3. llama_opt driver, linked to the shipped libs (rpath)
if [ ! -x "$C/llama-opt" ] || [ bench/forge/llama-opt.cpp -nt "$C/llama-opt" ]; then
  LLAMA_LIB=$(cd "$LIBS" && ls libllama*.so | grep -v common | head -1)
  GGML_LIB=$(cd "$LIBS" && ls libggml.so libggml.v*.so 2>/dev/null | head -1)
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
