import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: {
      // Server modules guard against client bundling with "server-only"; tests run them in Node.
      "server-only": path.resolve(import.meta.dirname, "tests/helpers/server-only.ts"),
      "@": import.meta.dirname,
    },
  },
  test: {
    include: ["tests/unit/**/*.test.ts?(x)", "tests/integration/**/*.test.ts", "tests/forge/**/*.test.ts", "tests/knowledge/**/*.test.ts", "tests/studio/**/*.test.ts", "tests/evals/**/*.test.ts", "tests/loop/**/*.test.ts", "tests/scaleout/**/*.test.ts", "tests/export/**/*.test.ts"],
    // Native llama.cpp state does not belong in worker threads; each file gets its own process.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
