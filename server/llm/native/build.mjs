#!/usr/bin/env node
// Builds Atelier's native generation loop (a Node-API addon) against the llama.cpp libraries
// node-llama-cpp ships: one addon per installed prebuilt package (CPU, CUDA, Vulkan), so the
// loop always links the very libllama/libggml node-llama-cpp loaded (server/llm/native-loop.ts
// picks the one matching `llama.gpu` and checks it at start-up). Headers come from
// node-llama-cpp's own source bundle, Node-API headers from Node's include dir. No downloads.
//
//   node server/llm/native/build.mjs [--force] [--sanitize]
//   --sanitize: an ASan+UBSan build of the CPU variant into build/sanitize/ (see sanitize-check.mjs)
// Idempotent: does nothing when the addons are newer than every source.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../../..");
const sanitize = process.argv.includes("--sanitize");
const force = process.argv.includes("--force");
const buildDir = path.join(here, "build", ...(sanitize ? ["sanitize"] : []));
const headersDir = path.join(here, "build", "llama.cpp");
const isPostinstall = process.env.npm_lifecycle_event === "postinstall";
const log = (msg) => console.log(`[native-loop] ${msg}`);

function bail(msg) {
  console.error(`[native-loop] ERROR: ${msg}`);
  // Never break `npm install`: Atelier then serves with node-llama-cpp's own loop (ATELIER_ENGINE falls back).
  process.exit(isPostinstall ? 0 : 1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
  if (r.error) return { ok: false, out: String(r.error.message) };
  return { ok: r.status === 0, out: (r.stdout || "") + (r.stderr || "") };
}

const plat = `${process.platform}-${process.arch}`;
if (process.platform !== "linux") bail(`the native loop is built for Linux only (this is ${plat}); Atelier uses node-llama-cpp's loop here`);

// One variant per prebuilt package that is installed: the package name is the folder name.
const variants = [plat, `${plat}-cuda`, `${plat}-vulkan`]
  .map((name) => ({ name, libs: path.join(root, "node_modules", "@node-llama-cpp", name, "bins", name) }))
  .filter((v) => fs.existsSync(v.libs) && fs.readdirSync(v.libs).some((f) => /^libllama.*\.so$/.test(f)))
  .filter((v) => !sanitize || v.name === plat);
if (variants.length === 0) bail(`no prebuilt llama.cpp libraries under node_modules/@node-llama-cpp/${plat}*; run npm install first`);

const sources = fs.readdirSync(here).filter((f) => /\.(cpp|h)$/.test(f) && f !== "sanitize_main.cpp").map((f) => path.join(here, f));
sources.push(fileURLToPath(import.meta.url));
const addonOf = (v) => path.join(buildDir, v.name, "atelier-loop.node");

function upToDate() {
  if (force) return false;
  return variants.every((v) => {
    const out = addonOf(v);
    if (!fs.existsSync(out)) return false;
    const t = fs.statSync(out).mtimeMs;
    return sources.every((s) => fs.statSync(s).mtimeMs < t);
  });
}
if (upToDate()) {
  log(`up to date: ${variants.map((v) => path.relative(root, addonOf(v))).join(", ")}`);
  process.exit(0);
}

if (!run("g++", ["--version"]).ok) bail("g++ was not found. Install a C++17 compiler (Debian/Ubuntu: `apt-get install g++`), then run `npm run setup`.");

// Node-API headers: Node's own include dir (official tarballs and the Debian/NodeSource packages
// ship it), else node-gyp's header cache.
const nodeInclude = [
  path.resolve(path.dirname(process.execPath), "..", "include", "node"),
  path.join(os.homedir(), ".cache", "node-gyp", process.versions.node, "include", "node"),
  "/usr/include/node",
  "/usr/local/include/node",
].find((d) => fs.existsSync(path.join(d, "node_api.h")));
if (!nodeInclude) bail(`Node-API headers (node_api.h) not found next to ${process.execPath}; install Node with its headers (e.g. the official tarball or NodeSource package)`);

// llama.cpp headers: a sparse, shallow checkout of node-llama-cpp's bundle (same commit as the binaries).
const bundle = path.join(root, "node_modules", "node-llama-cpp", "llama", "gitRelease.bundle");
if (!fs.existsSync(path.join(headersDir, "ggml", "include", "ggml.h"))) {
  if (!fs.existsSync(bundle)) bail(`llama.cpp source bundle missing at ${bundle}`);
  if (!run("git", ["--version"]).ok) bail("git was not found; it is needed once to unpack llama.cpp headers");
  log("unpacking llama.cpp headers from node-llama-cpp's bundle");
  fs.rmSync(headersDir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(headersDir), { recursive: true });
  let r = run("git", ["clone", "-q", "--depth", "1", "--no-checkout", bundle, headersDir]);
  if (r.ok) r = run("git", ["-C", headersDir, "sparse-checkout", "set", "--no-cone", "/ggml/include/", "/include/"]);
  if (r.ok) r = run("git", ["-C", headersDir, "checkout", "-q"]);
  if (!r.ok) bail(`could not unpack llama.cpp headers:\n${r.out}`);
}

const sanFlags = sanitize ? ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer", "-g", "-O1"] : ["-O2"];
const cflags = [
  "-std=c++17", "-fPIC", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers", ...sanFlags,
  "-DNODE_GYP_MODULE_NAME=atelier_loop",
  "-I", nodeInclude, "-I", path.join(headersDir, "include"), "-I", path.join(headersDir, "ggml", "include"),
];
const objDir = path.join(buildDir, "obj");
fs.mkdirSync(objDir, { recursive: true });
const cppFiles = sources.filter((s) => s.endsWith(".cpp"));
const headerTime = Math.max(fs.statSync(fileURLToPath(import.meta.url)).mtimeMs, ...sources.filter((s) => s.endsWith(".h")).map((s) => fs.statSync(s).mtimeMs));
const t0 = Date.now();
log(`compiling ${cppFiles.length} sources${sanitize ? " with ASan+UBSan" : ""}`);
const failures = [];
const objects = [];
const queue = [...cppFiles];
async function worker() {
  while (queue.length) {
    const src = queue.shift();
    const obj = path.join(objDir, path.basename(src, ".cpp") + ".o");
    objects.push(obj);
    if (!force && fs.existsSync(obj) && fs.statSync(obj).mtimeMs > Math.max(headerTime, fs.statSync(src).mtimeMs)) continue;
    await new Promise((resolve) => {
      const p = spawn("g++", [...cflags, "-c", src, "-o", obj], { stdio: ["ignore", "inherit", "pipe"] });
      let err = "";
      p.stderr.on("data", (d) => (err += d));
      p.on("close", (code) => {
        if (err) process.stderr.write(err);
        if (code !== 0) failures.push(path.basename(src));
        resolve();
      });
    });
  }
}
await Promise.all(Array.from({ length: Math.max(1, Math.min(os.availableParallelism(), 4)) }, worker));
if (failures.length) bail(`compilation failed: ${failures.join(", ")}`);

for (const v of variants) {
  const files = fs.readdirSync(v.libs);
  const pick = (re, what) => files.find((n) => re.test(n)) ?? bail(`${what} not found in ${v.libs}`);
  const libs = [pick(/^libllama(\.[a-z]+)?(\.v[\d.]+)?\.so$/, "libllama"), pick(/^libggml(\.[a-z]+)?(\.v[\d.]+)?\.so$/, "libggml"), pick(/^libggml-base\.so$/, "libggml-base.so")];
  const outDir = path.join(buildDir, v.name);
  fs.mkdirSync(outDir, { recursive: true });
  const out = addonOf(v);
  const rel = path.relative(outDir, v.libs);
  const link = run("g++", [
    "-shared", ...objects, "-o", `${out}.tmp`, ...(sanitize ? ["-fsanitize=address,undefined"] : []),
    "-L", v.libs, ...libs.map((l) => `-l:${l}`),
    // $ORIGIN-relative first (a moved checkout keeps working), the absolute path as a fallback.
    `-Wl,-rpath,$ORIGIN/${rel}`, `-Wl,-rpath,${v.libs}`, "-pthread", "-ldl",
  ]);
  if (!link.ok) bail(`link failed for ${v.name}:\n${link.out}`);
  fs.renameSync(`${out}.tmp`, out);
}

// The CPU variant must load and find llama.cpp (the GPU ones need their drivers to load).
if (!sanitize) {
  const cpu = variants.find((v) => v.name === plat);
  if (cpu) {
    const check = run(process.execPath, ["-e", `const a=require(${JSON.stringify(addonOf(cpu))}); if(typeof a.createLoop!=="function") process.exit(1); console.log(a.libraryInfo().llamaLibrary)`]);
    if (!check.ok) bail(`built addon does not load:\n${check.out}`);
  }
}
log(`built ${variants.map((v) => path.relative(root, addonOf(v))).join(", ")} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
