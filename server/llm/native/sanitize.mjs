#!/usr/bin/env node
// ASan+UBSan run of the native loop: builds the sanitized addon (build.mjs --sanitize) and runs
// sanitize-scenario.ts with the sanitizer runtimes preloaded into Node (Node itself is not
// instrumented, so leak checking is off; any memory error or undefined behaviour in the addon
// aborts the run). Usage: node server/llm/native/sanitize.mjs [model.gguf]
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../../..");
const step = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
step(process.execPath, [path.join(here, "build.mjs"), "--sanitize"]);
const runtime = (name) => spawnSync("g++", [`-print-file-name=${name}`], { encoding: "utf8" }).stdout.trim();
const preload = [runtime("libasan.so"), runtime("libubsan.so")].filter((p) => path.isAbsolute(p) && fs.existsSync(p));
if (preload.length < 2) {
  console.error("[native-loop] ERROR: libasan.so / libubsan.so not found (Debian: apt-get install g++ brings them)");
  process.exit(1);
}
const addon = path.join(here, "build", "sanitize", `${process.platform}-${process.arch}`, "atelier-loop.node");
const t0 = Date.now();
step(process.execPath, ["--conditions=react-server", "--import", "tsx", path.join(here, "sanitize-scenario.ts"), ...process.argv.slice(2)], {
  env: {
    ...process.env,
    LD_PRELOAD: preload.join(" "),
    ATELIER_NATIVE_ADDON: addon,
    ASAN_OPTIONS: "detect_leaks=0:abort_on_error=1:detect_odr_violation=0",
    UBSAN_OPTIONS: "print_stacktrace=1:halt_on_error=1",
  },
});
console.log(`[native-loop] ASan+UBSan run passed in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
