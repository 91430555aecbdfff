import { expect } from "vitest";
import type { ServingSpec } from "@/server/llm/pool";
import { starterModelPath } from "./model";

export type EngineName = "native" | "node-llama-cpp";

/**
 * Switches ATELIER_ENGINE inside this test process, points `spec` at the starter model and checks
 * that the pool now serves it on that engine.
 */
export async function useEngine(engine: EngineName, spec: ServingSpec): Promise<void> {
  process.env.ATELIER_ENGINE = engine;
  const { resetEnvForTests } = await import("@/server/env");
  const { resetEngineKindForTests } = await import("@/server/llm/native-serving");
  resetEnvForTests();
  resetEngineKindForTests();
  spec.modelPath = starterModelPath();
  const { ModelPool } = await import("@/server/llm/pool");
  const { NativeServing } = await import("@/server/llm/native-serving");
  expect((await ModelPool.instance().serving(spec)) instanceof NativeServing).toBe(engine === "native");
}
