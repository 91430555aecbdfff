import path from "node:path";
import { defineConfig } from "vitest/config";

/** End-to-end browser tests: a real `next start` (after `next build`) driven by Debian's Chromium. */
export default defineConfig({
  resolve: {
    alias: {
      "server-only": path.resolve(import.meta.dirname, "tests/browser/empty.ts"),
      "@": import.meta.dirname,
    },
  },
  test: {
    include: ["tests/browser/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    pool: "forks",
  },
});
