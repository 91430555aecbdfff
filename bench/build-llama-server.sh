#!/usr/bin/env bash
# Build llama.cpp's own llama-server + llama-bench from the SAME llama.cpp source that
# node-llama-cpp ships (node_modules/node-llama-cpp/llama/gitRelease.bundle) into bench/.cache.
# Idempotent: skips clone/configure/build steps that are already done for the same flags.
#
# Flags mirror node-llama-cpp's prebuilt CPU binaries (see its dist/bindings/utils/compileLLamaCpp.js, CI mode):
#   GGML_OPENMP=OFF (prebuilt libs don't link libgomp -> ggml's own threadpool), no curl/openssl.
# CPU code generation (LLAMA_CPU_MODE):
#   native   (default) GGML_NATIVE=ON: -march=native; on this box (Zen 4) ~= the libggml-cpu-zen4.so variant
#                      node-llama-cpp picks at runtime. Fast to build (one CPU backend).
#   variants GGML_BACKEND_DL=ON + GGML_CPU_ALL_VARIANTS=ON: byte-for-byte the prebuilt's scheme (best
#                      libggml-cpu-<variant>.so loaded at runtime). ~15 CPU backends -> several times slower to build.
# GPU: LLAMA_GPU=cuda adds -DGGML_CUDA=ON (used by bench/gpu/run.sh).
# Output: bench/.cache/llama.cpp/build-<mode>/bin/{llama-server,llama-bench}; symlink bench/.cache/llama-bin -> that bin/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/bench/.cache"
SRC="$CACHE/llama.cpp"
BUNDLE="$ROOT/node_modules/node-llama-cpp/llama/gitRelease.bundle"
MODE="${LLAMA_CPU_MODE:-native}"
GPU="${LLAMA_GPU:-none}"
JOBS="${JOBS:-$(nproc)}"

mkdir -p "$CACHE"
if [ ! -d "$SRC/.git" ]; then
  git clone -q "$BUNDLE" "$SRC"
fi
# make sure the checkout is the bundle's commit (bundle can change when node-llama-cpp is upgraded)
WANT="$(git bundle list-heads "$BUNDLE" | awk '$2=="HEAD"{print $1}')"
HAVE="$(git -C "$SRC" rev-parse HEAD)"
if [ "$WANT" != "$HAVE" ]; then
  git -C "$SRC" fetch -q "$BUNDLE" HEAD && git -C "$SRC" -c advice.detachedHead=false checkout -q "$WANT"
fi

FLAGS=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_OPENMP=OFF -DGGML_CCACHE=OFF
       -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF
       -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON)
case "$MODE" in
  native)   FLAGS+=(-DGGML_NATIVE=ON) ;;
  variants) FLAGS+=(-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON) ;;
  *) echo "LLAMA_CPU_MODE must be native|variants" >&2; exit 2 ;;
esac
if [ "$GPU" = cuda ]; then FLAGS+=(-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-native}"); MODE="$MODE-cuda"; fi

BUILD="$SRC/build-$MODE"
STAMP="$BUILD/.atelier-flags"
SIG="$WANT ${FLAGS[*]}"
if [ -x "$BUILD/bin/llama-server" ] && [ -x "$BUILD/bin/llama-bench" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$SIG" ]; then
  echo "llama-server already built: $BUILD/bin"
else
  if [ "$(cat "$STAMP" 2>/dev/null)" != "$SIG" ]; then rm -rf "$BUILD"; fi
  cmake -S "$SRC" -B "$BUILD" "${FLAGS[@]}" > "$CACHE/cmake-configure-$MODE.log"
  nice -n 10 cmake --build "$BUILD" -j "$JOBS" --target llama-server llama-bench
  echo "$SIG" > "$STAMP"
fi
ln -sfn "$BUILD/bin" "$CACHE/llama-bin"
echo "$CACHE/llama-bin/llama-server"
