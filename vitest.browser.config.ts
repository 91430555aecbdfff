import path from "node:path";
import { defineConfig } from "vitest/config";

/** End-to-end tests on a real `next start` (after `next build`): browser tests driven by Debian's Chromium, and the robustness suite. */
export default defineConfig({
  resolve: {
    alias: {
      "server-only": path.resolve(import.meta.dirname, "tests/browser/empty.ts"),
      "@": import.meta.dirname,
    },
  },
  test: {
    // The robustness suite (tests/robustness) drives `next start` too: it needs the same build.
    include: ["tests/browser/**/*.test.ts", "tests/robustness/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    pool: "forks",
  },
});
