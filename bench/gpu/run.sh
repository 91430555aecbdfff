#!/usr/bin/env bash
# Run the chat-throughput benchmark on a CUDA machine: raw node-llama-cpp vs llama-server (CUDA build of the same
# llama.cpp source) vs Atelier end to end, all with gpu "auto". Prints which backend actually served.
# Usage (repo root): bash bench/gpu/run.sh [extra chat-throughput flags, e.g. --model /path/model.gguf]
# Results: $OUT/BENCHMARKS.md + $OUT/bench.json when $OUT is set, else bench/.cache/gpu/.
# Assumes: Linux x64, NVIDIA driver (nvidia-smi), Node >= 20.10; CUDA toolkit (nvcc) only for the llama-server side;
# registry access only if node_modules is missing (npm ci).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
RES="${OUT:-bench/.cache/gpu}"; mkdir -p "$RES"
log() { echo "[gpu/run] $*" >&2; }

command -v node >/dev/null || { log "node not found: install Node >= 20.10"; exit 1; }
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=10)?0:1)' \
  || { log "Node $(node -v) is too old (need >= 20.10)"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$RES/gpu.txt" >&2 || log "nvidia-smi failed: no usable NVIDIA GPU?"

[ -d node_modules/node-llama-cpp ] || npm ci --no-audit --no-fund
# Which backend node-llama-cpp picks with gpu:"auto" (prebuilt CUDA binaries ship in @node-llama-cpp/linux-x64-cuda*)
node --input-type=module -e '
  import { getLlama } from "node-llama-cpp";
  const l = await getLlama({ gpu: "auto", build: "never" });
  console.log(JSON.stringify({ backend: l.gpu === false ? "cpu" : l.gpu, devices: l.gpu ? await l.getGpuDeviceNames() : [], buildType: l.buildType }));
' | tee "$RES/backend.json" >&2

SIDES="raw,server,atelier"
if command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="$PATH:/usr/local/cuda/bin"
  LLAMA_GPU=cuda JOBS="$(nproc)" bash bench/build-llama-server.sh >&2   # -DGGML_CUDA=ON, links bench/.cache/llama-bin
else
  log "nvcc not found: skipping the llama-server side"; SIDES="raw,atelier"
fi
[ -f .next/BUILD_ID ] || npx next build >&2

npx tsx bench/chat-throughput.ts --gpu auto --sides "$SIDES" --out "$RES/BENCHMARKS.md" --json "$RES/bench.json" "$@" | tee "$RES/table.md"
log "backend that served: $(cat "$RES/backend.json")  (Atelier: ATELIER_GPU=auto, same process-wide getLlama)"
