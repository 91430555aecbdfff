import "server-only";
import os from "node:os";
import { backendInfo } from "../../llm/llama";
import { ModelPool } from "../../llm/pool";
import { inferenceThreads } from "../../llm/tuning";
import { createTRPCRouter, viewerProcedure } from "../trpc";
import pkg from "../../../package.json" with { type: "json" };

export const systemRouter = createTRPCRouter({
  status: viewerProcedure.query(async () => {
    const [info, loaded] = await Promise.all([backendInfo(), ModelPool.instance().loadedSummary()]);
    return {
      backend: info.backend,
      gpuName: info.gpuName,
      // The threads a serving context uses (cores − 1 unless ATELIER_THREADS says otherwise), loaded or not.
      threads: loaded[0]?.threads ?? inferenceThreads(info.cpuMathCores),
      ram: { total: os.totalmem(), free: os.freemem(), processRss: process.memoryUsage().rss },
      vram: info.vram,
      loadedModels: loaded.map(({ id, name, refs }) => ({ id, name, refs })),
      version: pkg.version,
    };
  }),
});
