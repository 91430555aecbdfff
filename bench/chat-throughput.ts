// Chat throughput benchmark (`npm run bench`): in ONE run, on the same model, prompt, sampler settings and token count,
//   - raw node-llama-cpp, configured the way Atelier's engine is (one context x N sequences, LlamaChat.generateResponse),
//   - llama.cpp's own llama-server built from the same llama.cpp source (bench/build-llama-server.sh),
//   - Atelier end to end: `next start` + the real tRPC stream (chat.send over httpBatchStreamLink).
// Reports single-stream tok/s + TTFT (Atelier vs raw) and aggregate tok/s at 1/4/8 concurrent conversations,
// prints a markdown table and rewrites the results block of BENCHMARKS.md.
//
// Usage: npm run bench -- [--model <gguf>] [--tokens 128] [--conc 1,4,8] [--reps 3] [--threads N] [--ctx 1024]
//                         [--gpu cpu|auto] [--sides raw,server,atelier] [--out BENCHMARKS.md] [--json file]
// Needs `next build` first for the Atelier side. The model defaults to bench/.cache/models/bench-124m-q8_0.gguf
// (created by bench/make-model.py when missing).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createTRPCClient, httpBatchStreamLink } from "@trpc/client";
import type { AppRouter } from "../server/api/root";
import { bestOf, machineInfo, now, cpuMsOf, f1, userPrompt, type GenRecord, type RunResult, type Summary } from "./lib/common.js";
import { rawRun, rawLlama, DEFAULT_ENGINE_SAMPLING, type EngineSampling, type RawConfig } from "./lib/raw.js";
import { freePort, llamaServerRun, startLlamaServer, type LlamaServer } from "./lib/llamaServer.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values: a } = parseArgs({
  options: {
    model: { type: "string" },
    tokens: { type: "string", default: "128" },
    conc: { type: "string", default: "1,4,8" },
    reps: { type: "string", default: "3" },
    threads: { type: "string" },
    sequences: { type: "string", default: "8" },
    ctx: { type: "string", default: "1024" },
    gpu: { type: "string", default: "cpu" },
    sides: { type: "string", default: "raw,server,atelier" },
    out: { type: "string", default: path.join(ROOT, "BENCHMARKS.md") },
    json: { type: "string" },
    "raw-tuning": { type: "string", default: "tuned" },
    // browsers always send Accept-Encoding: gzip (Next then gzips the token stream); --no-gzip asks for identity
    "no-gzip": { type: "boolean", default: false },
  },
});
const TOKENS = Number(a.tokens), REPS = Number(a.reps), SEQ = Number(a.sequences), CTX = Number(a.ctx);
const CONC = a.conc!.split(",").map(Number);
const SIDES = new Set(a.sides!.split(","));
const GPU = a.gpu === "auto" ? ("auto" as const) : (false as const);
const TARGETS = { streamRatio: 0.97, ttftOverheadMs: 15, aggVsServer: 1.0 };

function ensureModel(): string {
  if (a.model) return path.resolve(a.model);
  const p = path.join(ROOT, "bench/.cache/models/bench-124m-q8_0.gguf");
  if (!fs.existsSync(p)) {
    if (!fs.existsSync(path.join(ROOT, "bench/.cache/llama.cpp/gguf-py"))) {
      spawnSync("bash", [path.join(ROOT, "bench/build-llama-server.sh")], { stdio: "inherit" });
    }
    const r = spawnSync("/usr/bin/python3", [path.join(ROOT, "bench/make-model.py")], { stdio: "inherit" });
    if (r.status !== 0) throw new Error("could not create the benchmark model (needs python3-numpy)");
  }
  return p;
}

/** --threads, else ATELIER_THREADS, else the rule bench/ENGINE-TUNING.md recommends (cores - 1, min 1; the engine's
 *  old "all cores above 50M params" rule collapses on a 2-core box). Every side (raw, llama-server, Atelier) gets it. */
async function pickThreads(): Promise<number> {
  if (a.threads) return Number(a.threads);
  if (Number(process.env.ATELIER_THREADS) > 0) return Number(process.env.ATELIER_THREADS);
  const llama = await rawLlama(GPU);
  return Math.max(1, llama.cpuMathCores - 1);
}

// ---------- Atelier end to end ----------
type Atelier = { url: string; proc: ChildProcess; client: ReturnType<typeof createTRPCClient<AppRouter>>; stop: () => Promise<void>; log: () => string };

async function startAtelier(model: string, threads: number): Promise<Atelier> {
  if (!fs.existsSync(path.join(ROOT, ".next/BUILD_ID"))) throw new Error("Atelier is not built: run `npx next build` first (or --sides raw,server)");
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-bench-"));
  // BENCH_ATELIER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server (NODE_OPTIONS refuses --cpu-prof)
  const nodeArgs = process.env.BENCH_ATELIER_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const proc = spawn(process.execPath, [...nodeArgs, path.join(ROOT, "node_modules/next/dist/bin/next"), "start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      NODE_ENV: "production",
      ATELIER_DATA_DIR: dataDir,
      ATELIER_DEFAULT_MODEL: model,
      ATELIER_MAX_TOKENS: String(TOKENS),
      ATELIER_THREADS: String(threads),
      ATELIER_SEQUENCES: String(SEQ),
      ATELIER_CONTEXT_SIZE: String(CTX),
      ATELIER_GPU: GPU === false ? "cpu" : "auto",
      // The console needs a signed-in user: the bench signs in as this headless admin.
      ATELIER_ADMIN_EMAIL: BENCH_ADMIN.email,
      ATELIER_ADMIN_PASSWORD: BENCH_ADMIN.password,
    },
  });
  let log = "";
  proc.stdout!.on("data", (d) => { log += d; });
  proc.stderr!.on("data", (d) => { log += d; });
  const url = `http://127.0.0.1:${port}`;
  const auth: Record<string, string> = {};
  const client = createTRPCClient<AppRouter>({
    links: [httpBatchStreamLink({ url: `${url}/api/trpc`, maxItems: 1, headers: () => ({ ...auth, ...(a["no-gzip"] ? { "accept-encoding": "identity" } : {}) }) })],
  });
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode != null) throw new Error(`next start exited ${proc.exitCode}\n${log.slice(-3000)}`);
    try { Object.assign(auth, await signIn(url)); await client.assistants.list.query(); break; } catch (err) {
      if (Date.now() > deadline) throw new Error(`Atelier did not come up: ${(err as Error).message}\n${log.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    url, proc, client, log: () => log,
    stop: async () => {
      if (proc.exitCode == null) { const exited = new Promise((r) => proc.once("exit", r)); proc.kill("SIGTERM"); await exited; }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const BENCH_ADMIN = { email: "bench@example.test", password: "bench-password-1234" };

/** Signs in like the console does; returns the cookie and CSRF headers for every later request. */
async function signIn(url: string): Promise<Record<string, string>> {
  const res = await fetch(`${url}/api/trpc/auth.login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(BENCH_ADMIN) });
  if (!res.ok) throw new Error(`sign-in failed: HTTP ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
  const cookies = res.headers.getSetCookie().map((c) => c.split(";")[0]!);
  const csrf = cookies.find((c) => c.startsWith("atelier_csrf="))?.slice("atelier_csrf=".length);
  if (!csrf) throw new Error("sign-in set no CSRF cookie");
  return { cookie: cookies.join("; "), "x-atelier-csrf": decodeURIComponent(csrf) };
}

async function atelierOne(at: Atelier, conversationId: string, i: number): Promise<GenRecord> {
  const startMs = now();
  let firstMs = 0, lastMs = 0, tokens = 0, chunks = 0;
  const events = await at.client.chat.send.mutate({ kind: "send", conversationId, content: userPrompt(i) });
  for await (const ev of events as AsyncIterable<any>) {
    if (ev.type === "token") { if (chunks++ === 0) firstMs = now(); lastMs = now(); }
    else if (ev.type === "done") tokens = ev.message.completionTokens ?? chunks;
    else if (ev.type === "error") throw new Error(`Atelier stream error: ${ev.error}`);
  }
  return { startMs, firstMs, endMs: lastMs || now(), tokens };
}

async function atelierRun(at: Atelier, assistantId: string, concurrency: number): Promise<RunResult> {
  const convs = await Promise.all(Array.from({ length: concurrency }, () => at.client.conversations.create.mutate({ assistantId })));
  const t0 = now(), c0 = cpuMsOf(at.proc.pid);
  const gens = await Promise.all(convs.map((c, i) => atelierOne(at, c.id, i)));
  return { gens, wallMs: now() - t0, cpuMs: serverCpu(at.proc.pid) - c0 };
}
/** `next start` runs the app in a child `next-server` process: sum the CPU time of the whole process tree. */
function serverCpu(pid?: number): number {
  if (!pid) return 0;
  let total = 0;
  const walk = (p: number) => {
    try { total += cpuMsOf(p); } catch { return; }
    const kids = fs.existsSync(`/proc/${p}/task/${p}/children`) ? fs.readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number) : [];
    kids.forEach(walk);
  };
  walk(pid);
  return total;
}

// ---------- main ----------
const model = ensureModel();
const threads = await pickThreads();
const machine = machineInfo();
console.error(`model ${model}\nthreads ${threads}, sequences ${SEQ}, ctx/seq ${CTX}, ${TOKENS} tokens, conc ${CONC}, best of ${REPS}; machine ${JSON.stringify(machine)}`);

let at: Atelier | undefined, srv: LlamaServer | undefined;
let sampling: EngineSampling = DEFAULT_ENGINE_SAMPLING;
let systemPrompt: string | undefined;
let assistantId = "";
let backend = GPU === false ? "cpu" : "?";
let atelierBackend = "-";
const cleanup = async () => { await Promise.allSettled([at?.stop(), srv?.stop()]); };
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => void cleanup().then(() => process.exit(130)));

type Side = "raw" | "server" | "atelier";
const results: Record<Side, Record<number, Summary & { runs: number[] }>> = { raw: {}, server: {}, atelier: {} };
try {
  if (SIDES.has("atelier")) {
    at = await startAtelier(model, threads);
    const asst = (await at.client.assistants.list.query())[0] as any;
    if (!asst) throw new Error("Atelier has no assistant");
    assistantId = asst.id;
    sampling = { temperature: asst.sampling.temperature, topP: asst.sampling.topP, topK: asst.sampling.topK, repeatPenalty: asst.sampling.repeatPenalty };
    systemPrompt = asst.systemPrompt;
    if (asst.sampling.maxTokens < TOKENS) console.error(`warning: the assistant's maxTokens ${asst.sampling.maxTokens} < ${TOKENS}`);
    await atelierRun(at, assistantId, 1); // warm-up: loads the model, creates the serving context
    const st = await at.client.system.status.query();
    atelierBackend = `${st.backend}${st.gpuName ? ` (${st.gpuName})` : ""}, threads ${st.threads}`;
    console.error(`Atelier serves on: ${atelierBackend}`);
  }
  // "tuned" = what bench/ENGINE-TUNING.md recommends for the engine; "naive" = node-llama-cpp defaults
  // (FA auto, maximumParallelism + nextCycle, chat wrapper re-resolved per LlamaChat).
  const rawCfg: RawConfig = a["raw-tuning"] === "naive"
    ? { threads, seqPerContext: SEQ, ctxPerSeq: CTX, method: "engine", sampling, systemPrompt, gpu: GPU, flashAttention: "auto", cacheChatWrapper: false }
    : { threads, seqPerContext: SEQ, ctxPerSeq: CTX, method: "engine", sampling, systemPrompt, gpu: GPU, flashAttention: "auto", strategy: "seqOrder", dispatch: "all-active" };
  if (SIDES.has("raw")) {
    await rawRun(model, rawCfg, 1, 8); // warm-up
    const llama = await rawLlama(GPU);
    backend = llama.gpu === false ? "cpu" : llama.gpu;
  }
  if (SIDES.has("server")) {
    srv = await startLlamaServer({ model, threads, parallel: SEQ, ctxPerSeq: CTX, gpu: GPU !== false });
    await llamaServerRun(srv, 1, 8);
  }
  const serverSampling = { temperature: sampling.temperature, top_k: sampling.topK, top_p: sampling.topP, min_p: 0, repeat_penalty: sampling.repeatPenalty, repeat_last_n: 64 };
  const run: Record<Side, (c: number) => Promise<RunResult>> = {
    raw: (c) => rawRun(model, rawCfg, c, TOKENS),
    server: (c) => llamaServerRun(srv!, c, TOKENS, serverSampling, systemPrompt),
    atelier: (c) => atelierRun(at!, assistantId, c),
  };
  // Interleave sides and concurrency levels in every repetition so background load hits all of them alike; keep the best.
  const all: Record<string, (Summary & { runs: number[] })[]> = {};
  for (let r = 0; r < REPS; r++)
    for (const c of CONC)
      for (const side of ["raw", "server", "atelier"] as Side[]) {
        if (!SIDES.has(side)) continue;
        const s = await bestOf(1, () => run[side](c));
        (all[`${side}:${c}`] ??= []).push(s);
        console.error(`rep ${r + 1} ${side.padEnd(7)} c=${c}: ${f1(s.aggTps)} tok/s agg, ${f1(s.streamTps)} tok/s/stream, TTFT ${f1(s.ttftMs)} ms`);
      }
  for (const [k, list] of Object.entries(all)) {
    const [side, c] = k.split(":") as [Side, string];
    const best = list.reduce((x, y) => (y.aggTps > x.aggTps ? y : x));
    results[side][Number(c)] = {
      ...best,
      ttftMs: Math.min(...list.map((s) => s.ttftMs)),
      streamTps: Math.max(...list.map((s) => s.streamTps)),
      runs: list.map((s) => +s.aggTps.toFixed(1)),
    };
  }
} finally {
  await cleanup();
}

// ---------- report ----------
const pf = (ok: boolean | undefined) => (ok == null ? "n/a" : ok ? "PASS" : "FAIL");
const r1 = results.raw[1], a1 = results.atelier[1];
const streamRatio = r1 && a1 ? a1.streamTps / r1.streamTps : undefined;
const ttftOver = r1 && a1 ? a1.ttftMs - r1.ttftMs : undefined;
const date = new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC";
const lines: string[] = [];
lines.push(`### chat-throughput: ${path.basename(model)}${GPU === false ? "" : " (GPU auto)"} — ${date}`, "");
lines.push(`- Machine: ${machine.nproc} CPUs (\`nproc\`), ${machine.cpu}, ${machine.memGiB} GiB; load average at start ${machine.load}` +
  (Number(machine.load.split(" ")[0]) > machine.nproc * 0.5 ? " — **shared/noisy machine, absolute numbers depressed**" : ""));
lines.push(`- Backend: raw node-llama-cpp ${backend}; Atelier ${atelierBackend}; model \`${path.relative(ROOT, model)}\`; ${TOKENS} generated tokens per conversation; best of ${REPS} interleaved runs`);
lines.push(`- Raw node-llama-cpp config: ${a["raw-tuning"]} (see bench/ENGINE-TUNING.md)`);
lines.push(`- Settings (all sides): threads ${threads}, ${SEQ} sequences/slots, ${CTX} ctx per sequence, batch 512; sampling temp ${sampling.temperature}, top-k ${sampling.topK}, top-p ${sampling.topP}, repeat penalty ${sampling.repeatPenalty} (last 64)`);
lines.push("");
lines.push("| metric | raw node-llama-cpp | Atelier (HTTP tRPC) | ratio / delta | target | result |");
lines.push("|---|---|---|---|---|---|");
lines.push(`| single-stream generation tok/s | ${f1(r1?.streamTps)} | ${f1(a1?.streamTps)} | ${streamRatio?.toFixed(3) ?? "-"}x | >= ${TARGETS.streamRatio}x | ${pf(streamRatio == null ? undefined : streamRatio >= TARGETS.streamRatio)} |`);
lines.push(`| time to first token, ms | ${f1(r1?.ttftMs)} | ${f1(a1?.ttftMs)} | ${ttftOver == null ? "-" : (ttftOver >= 0 ? "+" : "") + ttftOver.toFixed(1)} ms | <= +${TARGETS.ttftOverheadMs} ms | ${pf(ttftOver == null ? undefined : ttftOver <= TARGETS.ttftOverheadMs)} |`);
lines.push("");
lines.push("| concurrent | llama-server tok/s | raw node-llama-cpp tok/s | Atelier tok/s | raw / server | Atelier / server | Atelier >= 1.0x server | CPU ms/token server / raw / Atelier |");
lines.push("|---|---|---|---|---|---|---|---|");
for (const c of CONC) {
  const s = results.server[c], r = results.raw[c], x = results.atelier[c];
  const rs = s && r ? r.aggTps / s.aggTps : undefined, xs = s && x ? x.aggTps / s.aggTps : undefined;
  lines.push(`| ${c} | ${f1(s?.aggTps)} | ${f1(r?.aggTps)} | ${f1(x?.aggTps)} | ${rs?.toFixed(2) ?? "-"} | ${xs?.toFixed(2) ?? "-"} | ${pf(xs == null ? undefined : xs >= TARGETS.aggVsServer)} | ${[s, r, x].map((v) => (v?.cpuMsPerTok == null ? "-" : v.cpuMsPerTok.toFixed(2))).join(" / ")} |`);
}
const short = (["raw", "server", "atelier"] as Side[]).flatMap((sd) => CONC.filter((c) => results[sd][c] && results[sd][c]!.tokens < c * TOKENS).map((c) => `${sd} c=${c}: ${(results[sd][c]!.tokens / c).toFixed(0)}`));
if (short.length) lines.push("", `Note: the model stopped at EOS before ${TOKENS} tokens on some sides (tokens per conversation: ${short.join(", ")}); llama-server ignores EOS. Compare rates, not totals.`);
lines.push("", `Raw runs per side (agg tok/s): ${(["server", "raw", "atelier"] as Side[]).map((s) => `${s} ${CONC.map((c) => `c${c}=[${results[s][c]?.runs.join(", ") ?? ""}]`).join(" ")}`).join("; ")}`, "");
const block = lines.join("\n");
console.log(block);

// one block per model (and backend), replaced on every run with that model
const tag = `${path.basename(model)}${GPU === false ? "" : ":gpu"}`;
const START = `<!-- chat-throughput:${tag}:start -->`, END = `<!-- chat-throughput:${tag}:end -->`;
let md = fs.existsSync(a.out!) ? fs.readFileSync(a.out!, "utf8") : "# Benchmarks\n\n";
const wrapped = `${START}\n${block}\n${END}`;
md = md.includes(START) && md.includes(END)
  ? md.slice(0, md.indexOf(START)) + wrapped + md.slice(md.indexOf(END) + END.length)
  : md.trimEnd() + "\n\n" + wrapped + "\n";
fs.writeFileSync(a.out!, md);
if (a.json) fs.writeFileSync(a.json, JSON.stringify({ date, machine, model, threads, backend, atelierBackend, results, streamRatio, ttftOver }, null, 1));
process.exit(0);
