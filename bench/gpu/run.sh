#!/usr/bin/env bash
# Chat-throughput benchmark on a CUDA machine: Atelier's native loop (direct and end to end through HTTP/tRPC) vs
# llama-server (CUDA build of the same llama.cpp source), all with gpu "auto", on the starter and the two 124M bench
# models, plus the native loop's own GPU checks. Prints which backend and which addon variant actually served.
# Usage (repo root): bash bench/gpu/run.sh [extra chat-throughput flags, e.g. --models /path/model.gguf]
# Results: $OUT/BENCHMARKS.md + $OUT/bench.json when $OUT is set, else bench/.cache/gpu/.
# Assumes: Linux x64, NVIDIA driver (nvidia-smi), Node >= 20.10, g++; CUDA toolkit (nvcc) only for the llama-server
# side; registry access only if node_modules is missing (npm ci).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
RES="${OUT:-bench/.cache/gpu}"; mkdir -p "$RES"
log() { echo "[gpu/run] $*" >&2; }

command -v node >/dev/null || { log "node not found: install Node >= 20.10"; exit 1; }
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=10)?0:1)' \
  || { log "Node $(node -v) is too old (need >= 20.10)"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$RES/gpu.txt" >&2 || log "nvidia-smi failed: no usable NVIDIA GPU?"

[ -d node_modules/node-llama-cpp ] || npm ci --no-audit --no-fund
node server/llm/native/build.mjs >&2          # the native loop, one addon per installed node-llama-cpp backend (CUDA included)
# Which backend node-llama-cpp picks with gpu:"auto", and whether the native loop's self-check accepts it
npx tsx --conditions=react-server bench/gpu/backend.ts | tee "$RES/backend.json" >&2

SIDES="native,server,atelier"
if command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="$PATH:/usr/local/cuda/bin"
  LLAMA_GPU=cuda JOBS="$(nproc)" bash bench/build-llama-server.sh >&2   # -DGGML_CUDA=ON, links bench/.cache/llama-bin
else
  log "nvcc not found: skipping the llama-server side"; SIDES="native,atelier"
fi
[ -f .next/BUILD_ID ] || npx next build >&2

# The native loop's tests on the GPU build (greedy parity with node-llama-cpp, batching, LoRA per sequence).
ATELIER_GPU=auto npx vitest run tests/integration/native-loop.test.ts 2>&1 | tail -25 | tee "$RES/native-loop-tests.txt" >&2 || log "native loop tests failed on the GPU (see $RES/native-loop-tests.txt)"

npx tsx --conditions=react-server bench/chat-throughput.ts --gpu auto --models all --sides "$SIDES" --out "$RES/BENCHMARKS.md" --json "$RES/bench.json" "$@" | tee "$RES/table.md"
log "backend that served: $(cat "$RES/backend.json")  (Atelier: ATELIER_GPU=auto, ATELIER_ENGINE=native)"
