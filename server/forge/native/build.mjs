#!/usr/bin/env node
// Builds server/forge/native/build/atelier-forge against node-llama-cpp's prebuilt
// llama.cpp libraries. Headers come from node-llama-cpp's own source bundle, so
// they always match the binaries. Idempotent: does nothing when the binary is newer
// than every source file.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../../..");
const buildDir = path.join(here, "build");
const srcDir = path.join(buildDir, "llama.cpp");
// --sanitize: a separate AddressSanitizer + UndefinedBehaviorSanitizer build (build/atelier-forge-asan,
// objects in build/obj-asan) that the forge tests also run against (`npm run test:forge-asan`).
const sanitize = process.argv.includes("--sanitize");
const binary = path.join(buildDir, sanitize ? "atelier-forge-asan" : "atelier-forge");
const isPostinstall = process.env.npm_lifecycle_event === "postinstall";
const force = process.argv.includes("--force");

function log(msg) {
    console.log(`[forge] ${msg}`);
}

function bail(msg) {
    console.error(`[forge] ERROR: ${msg}`);
    // A failed native build must not break `npm install`; `npm run setup` reports it loudly.
    process.exit(isPostinstall ? 0 : 1);
}

function run(cmd, args, opts = {}) {
    const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
    if (r.error) return { ok: false, out: String(r.error.message) };
    return { ok: r.status === 0, out: (r.stdout || "") + (r.stderr || "") };
}

const plat = `${process.platform}-${process.arch}`;
const libsDir = path.join(root, "node_modules", "@node-llama-cpp", plat, "bins", plat);
const cudaDir = path.join(root, "node_modules", "@node-llama-cpp", `${plat}-cuda`, "bins", `${plat}-cuda`);
const bundle = path.join(root, "node_modules", "node-llama-cpp", "llama", "gitRelease.bundle");

if (process.platform !== "linux") bail(`the native trainer is built for Linux only (this is ${plat})`);
if (!fs.existsSync(libsDir)) bail(`prebuilt llama.cpp libraries not found at ${libsDir}; run npm install first`);

const sources = fs.readdirSync(here).filter((f) => f.endsWith(".cpp") || f.endsWith(".h")).map((f) => path.join(here, f));
sources.push(fileURLToPath(import.meta.url));

function upToDate() {
    if (force || !fs.existsSync(binary)) return false;
    const t = fs.statSync(binary).mtimeMs;
    return sources.every((s) => fs.statSync(s).mtimeMs < t);
}

if (upToDate()) {
    log(`up to date: ${path.relative(root, binary)}`);
    process.exit(0);
}

if (!run("g++", ["--version"]).ok) {
    bail("g++ was not found. Install a C++17 compiler (Debian/Ubuntu: `sudo apt-get install g++`), then run `npm run setup`.");
}

// Headers only (ggml/include, include): a sparse, shallow checkout of the bundle.
if (!fs.existsSync(path.join(srcDir, "ggml", "include", "ggml.h"))) {
    if (!fs.existsSync(bundle)) bail(`llama.cpp source bundle missing at ${bundle}`);
    if (!run("git", ["--version"]).ok) bail("git was not found; it is needed once to unpack llama.cpp headers");
    log("unpacking llama.cpp headers from node-llama-cpp's bundle");
    fs.rmSync(srcDir, { recursive: true, force: true });
    fs.mkdirSync(buildDir, { recursive: true });
    let r = run("git", ["clone", "-q", "--depth", "1", "--no-checkout", bundle, srcDir]);
    if (r.ok) r = run("git", ["-C", srcDir, "sparse-checkout", "set", "--no-cone", "/ggml/include/", "/include/"]);
    if (r.ok) r = run("git", ["-C", srcDir, "checkout", "-q"]);
    if (!r.ok) bail(`could not unpack llama.cpp headers:\n${r.out}`);
}

const libFiles = fs.readdirSync(libsDir);
const pick = (re, what) => {
    const f = libFiles.find((n) => re.test(n));
    if (!f) bail(`${what} not found in ${libsDir}`);
    return f;
};
const libs = [
    pick(/^libggml-base\.so$/, "libggml-base.so"),
    pick(/^libggml(\.v[\d.]+)?\.so$/, "libggml.so"),
    pick(/^libllama(\.v[\d.]+)?\.so$/, "libllama.so"),
];

// Relative paths keep the binary working if the checkout moves; the absolute ones
// are a fallback for symlinked node_modules.
const relLibs = path.relative(buildDir, libsDir);
const relCuda = path.relative(buildDir, cudaDir);
const cppFiles = sources.filter((s) => s.endsWith(".cpp"));
const objDir = path.join(buildDir, sanitize ? "obj-asan" : "obj");
fs.mkdirSync(objDir, { recursive: true });
// -O1 keeps the sanitized build ~2-3x slower than -O2 instead of ~10x at -O0; every UB report aborts.
const sanitizeFlags = ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"];
const cflags = [
    "-std=c++17", ...(sanitize ? sanitizeFlags : ["-O2"]), "-fPIC", "-Wall", "-Wno-unused-function",
    "-I", path.join(srcDir, "ggml", "include"), "-I", path.join(srcDir, "include"),
    `-DFORGE_LIBS_DIR="${relLibs}"`, `-DFORGE_LIBS_ABS="${libsDir}"`,
    `-DFORGE_CUDA_DIR="${relCuda}"`, `-DFORGE_CUDA_ABS="${cudaDir}"`,
];

const headerTime = Math.max(...sources.filter((s) => !s.endsWith(".cpp")).map((s) => fs.statSync(s).mtimeMs));
const newestInput = (src) => Math.max(headerTime, fs.statSync(src).mtimeMs);
log(`compiling (${cppFiles.length} sources, unchanged objects reused)`);
const t0 = Date.now();
const jobs = Math.max(1, Math.min(os.cpus().length, 4));
const { spawn } = await import("node:child_process");
const objects = [];
const queue = [...cppFiles];
const failures = [];
async function worker() {
    while (queue.length) {
        const src = queue.shift();
        const obj = path.join(objDir, path.basename(src, ".cpp") + ".o");
        objects.push(obj);
        // Incremental: an object newer than its source, every header and this script is reused.
        if (!force && fs.existsSync(obj) && fs.statSync(obj).mtimeMs > newestInput(src)) continue;
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
await Promise.all(Array.from({ length: jobs }, worker));
if (failures.length) bail(`compilation failed: ${failures.join(", ")}`);

const tmp = `${binary}.tmp`;
const link = run("g++", [
    ...objects, "-o", tmp, ...(sanitize ? ["-fsanitize=address,undefined"] : []),
    "-L", libsDir, ...libs.map((l) => `-l:${l}`),
    `-Wl,-rpath,$ORIGIN/${relLibs}`, `-Wl,-rpath,${libsDir}`, "-pthread",
]);
if (!link.ok) bail(`link failed:\n${link.out}`);
fs.renameSync(tmp, binary);
const check = run(binary, ["version"]);
if (!check.ok) bail(`built binary does not start:\n${check.out}`);
log(`built ${path.relative(root, binary)} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
