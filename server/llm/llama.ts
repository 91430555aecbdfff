import "server-only";
// The one file that talks to node-llama-cpp's process-wide native instance.
import os from "node:os";
import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";
import { env } from "../env";
import { inferenceThreads } from "./tuning";

const globalForLlama = globalThis as unknown as { atelierLlama?: Promise<Llama> };

/**
 * One Llama per process: each getLlama() loads the native backend again and
 * duplicates its thread pools and memory accounting.
 */
export function llamaInstance(): Promise<Llama> {
  const wanted = env().ATELIER_GPU;
  globalForLlama.atelierLlama ??= getLlama({
    gpu: wanted === "cpu" ? false : wanted,
    // Never compile llama.cpp at runtime (it would try to download a toolchain offline and hang).
    build: "never",
    // The default (max(cores, 4)) oversubscribes small machines: every decode then waits on
    // descheduled threads at ggml's barriers (0.5 tok/s instead of 75 on 2 cores, BENCHMARKS.md).
    maxThreads: inferenceThreads(os.availableParallelism()),
    logLevel: LlamaLogLevel.error,
  }).catch((err: unknown) => {
    globalForLlama.atelierLlama = undefined;
    throw err;
  });
  return globalForLlama.atelierLlama;
}

export type BackendInfo = {
  backend: "cuda" | "vulkan" | "metal" | "cpu";
  gpuName: string | null;
  vram: { total: number; used: number } | null;
  cpuMathCores: number;
};

export async function backendInfo(): Promise<BackendInfo> {
  const llama = await llamaInstance();
  const backend = llama.gpu === false ? "cpu" : llama.gpu;
  if (backend === "cpu") return { backend, gpuName: null, vram: null, cpuMathCores: llama.cpuMathCores };
  const [names, vram] = await Promise.all([llama.getGpuDeviceNames(), llama.getVramState()]);
  return {
    backend,
    gpuName: names.join(", ") || null,
    vram: { total: vram.total, used: vram.used },
    cpuMathCores: llama.cpuMathCores,
  };
}
