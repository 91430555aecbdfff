// Chat throughput benchmark (`npm run bench`): in ONE run per model, on the same prompt, sampler settings,
// threads, slots and exactly the same number of generated tokens on every side (EOS ignored everywhere),
//   - native:   Atelier's native generation loop called directly (server/llm/native-loop.ts, no HTTP),
//   - server:   llama.cpp's own llama-server built from the same llama.cpp source (bench/build-llama-server.sh),
//   - atelier:  Atelier end to end: `next start` + the real tRPC stream (chat.send over httpBatchStreamLink),
//   - raw:      (optional, --sides ...,raw) node-llama-cpp's own loop, tuned as bench/ENGINE-TUNING.md says.
// Reports aggregate tok/s and CPU ms/token at 1/4/8 concurrent conversations, single-stream tok/s and TTFT of Atelier
// vs the native loop, and a new request joining 7 running streams; medians of interleaved runs. Rewrites this model's
// block of BENCHMARKS.md (every number and sentence from this run).
//
// Usage: npm run bench -- [--models all | --model <gguf>[,<gguf>...]] [--tokens 128] [--conc 1,4,8] [--reps 3]
//                         [--threads N] [--ctx 1024] [--gpu cpu|auto] [--sides native,server,atelier] [--no-join]
//                         [--out BENCHMARKS.md] [--json file]
// Needs `next build` first for the Atelier side. `--models all` = the starter, bench-124m-q8_0 and bench-124m-f32
// (the bench models are created by bench/make-model.py when missing).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createTRPCClient, httpBatchStreamLink } from "@trpc/client";
import type { AppRouter } from "../server/api/root";
import { machineInfo, median, now, cpuMsOf, f1, summarize, userPrompt, type GenRecord, type RunResult, type Summary } from "./lib/common.js";
import { rawRun, rawLlama, DEFAULT_ENGINE_SAMPLING, type EngineSampling, type RawConfig } from "./lib/raw.js";
import { freePort, llamaServerRun, startLlamaServer, streamCompletion, type LlamaServer } from "./lib/llamaServer.js";
import { writeBenchmarkSection } from "./lib/benchmarks-md.js";
import { nativeJoinStream, nativeRun, openNative, type NativeSide } from "./lib/native.js";
import { checkNativeLoop } from "../server/llm/native-loop.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values: a } = parseArgs({
  options: {
    model: { type: "string" },
    models: { type: "string" },
    tokens: { type: "string", default: "128" },
    conc: { type: "string", default: "1,4,8" },
    reps: { type: "string", default: "3" },
    threads: { type: "string" },
    sequences: { type: "string", default: "8" },
    ctx: { type: "string", default: "1024" },
    gpu: { type: "string", default: "cpu" },
    sides: { type: "string", default: "native,server,atelier" },
    "no-join": { type: "boolean", default: false },
    out: { type: "string", default: path.join(ROOT, "BENCHMARKS.md") },
    json: { type: "string" },
    // browsers always send Accept-Encoding: gzip; --no-gzip asks for identity
    "no-gzip": { type: "boolean", default: false },
  },
});
const TOKENS = Number(a.tokens), REPS = Number(a.reps), SEQ = Number(a.sequences), CTX = Number(a.ctx);
const CONC = a.conc!.split(",").map(Number);
const SIDES = new Set(a.sides!.split(","));
const GPU = a.gpu === "auto" ? ("auto" as const) : (false as const);
const TARGETS = { streamRatio: 0.97, ttftOverheadMs: 15, aggVsServer: 1.0 };
const BENCH_MODELS = {
  starter: path.join(ROOT, "models/starter/atelier-starter.gguf"),
  q8: path.join(ROOT, "bench/.cache/models/bench-124m-q8_0.gguf"),
  f32: path.join(ROOT, "bench/.cache/models/bench-124m-f32.gguf"),
};

function modelList(): string[] {
  if (a.models === "all") return [BENCH_MODELS.starter, BENCH_MODELS.q8, BENCH_MODELS.f32];
  const list = (a.models ?? a.model)?.split(",").map((m) => path.resolve(m)) ?? [BENCH_MODELS.q8];
  for (const m of list) {
    if (fs.existsSync(m) || !m.startsWith(path.join(ROOT, "bench/.cache/models"))) continue;
    if (!fs.existsSync(path.join(ROOT, "bench/.cache/llama.cpp/gguf-py"))) spawnSync("bash", [path.join(ROOT, "bench/build-llama-server.sh")], { stdio: "inherit" });
    const r = spawnSync("/usr/bin/python3", [path.join(ROOT, "bench/make-model.py")], { stdio: "inherit" });
    if (r.status !== 0) throw new Error("could not create the benchmark models (needs python3-numpy)");
  }
  return list;
}

/** --threads, else ATELIER_THREADS, else Atelier's rule (cores - 1, min 1; bench/ENGINE-TUNING.md). Every side gets it. */
async function pickThreads(): Promise<number> {
  if (a.threads) return Number(a.threads);
  if (Number(process.env.ATELIER_THREADS) > 0) return Number(process.env.ATELIER_THREADS);
  const llama = await rawLlama(GPU);
  return Math.max(1, llama.cpuMathCores - 1);
}

// ---------- Atelier end to end ----------
type Atelier = { url: string; proc: ChildProcess; client: ReturnType<typeof createTRPCClient<AppRouter>>; stop: () => Promise<void>; log: () => string };
const BENCH_ADMIN = { email: "bench@example.test", password: "bench-password-1234" };

async function startAtelier(model: string, threads: number): Promise<Atelier> {
  if (!fs.existsSync(path.join(ROOT, ".next/BUILD_ID"))) throw new Error("Atelier is not built: run `npx next build` first (or --sides native,server)");
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
      ATELIER_ENGINE: "native",
      ATELIER_IGNORE_EOS: "1", // every side generates exactly --tokens tokens
      ATELIER_MAX_TOKENS: String(TOKENS),
      ATELIER_THREADS: String(threads),
      ATELIER_SEQUENCES: String(SEQ),
      ATELIER_CONTEXT_SIZE: String(CTX),
      ATELIER_GPU: GPU === false ? "cpu" : "auto",
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
      if (process.env.BENCH_ATELIER_LOG) process.stderr.write(log); // BENCH_ATELIER_LOG=1: the server's output, for debugging
      if (proc.exitCode == null) { const exited = new Promise((r) => proc.once("exit", r)); proc.kill("SIGTERM"); await exited; }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

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

async function atelierOne(at: Atelier, conversationId: string, i: number, signal?: AbortSignal): Promise<GenRecord> {
  const startMs = now();
  let firstMs = 0, lastMs = 0, tokens = 0, chunks = 0;
  try {
    const events = await at.client.chat.send.mutate({ kind: "send", conversationId, content: userPrompt(i) }, { signal });
    for await (const ev of events as AsyncIterable<any>) {
      if (ev.type === "token") { if (chunks++ === 0) firstMs = now(); lastMs = now(); }
      else if (ev.type === "done") tokens = ev.message.completionTokens ?? chunks;
      else if (ev.type === "error") throw new Error(`Atelier stream error: ${ev.error}`);
    }
  } catch (err) {
    if (!signal?.aborted) throw err;
  }
  return { startMs, firstMs, endMs: lastMs || now(), tokens };
}

async function atelierRun(at: Atelier, assistantId: string, concurrency: number): Promise<RunResult> {
  const convs = await Promise.all(Array.from({ length: concurrency }, () => at.client.conversations.create.mutate({ assistantId })));
  const t0 = now(), c0 = serverCpu(at.proc.pid);
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

// ---------- a new request joining 7 running streams ----------
type Join = { ttftMs: number; beforeTps: number; duringTps: number; slowdown: number };

/**
 * Seven long streams run; once each has 16 tokens, their aggregate rate is measured over 16 more each (≥ 0.5 s), then an 8th
 * request starts. Reported: its TTFT, and the seven streams' aggregate tok/s before it joined vs while it ran.
 * `start(i, tokens, tokenAt, signal)` starts stream i, pushing a timestamp per token into tokenAt (Atelier streams
 * text in chunks, so its running rate is not measured: only the joiner's TTFT).
 */
async function joinScenario(start: (i: number, n: number, tokenAt: number[] | undefined, signal: AbortSignal) => Promise<GenRecord>, perToken: boolean): Promise<Join> {
  const stop = new AbortController();
  const times = Array.from({ length: 7 }, () => [] as number[]);
  const running = times.map((t, i) => start(i, TOKENS * 4, perToken ? t : undefined, stop.signal).catch(() => null));
  const t0 = now();
  const until = async (n: number) => { while (times.some((t) => t.length < n) && now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 5)); };
  if (perToken) await until(16);
  else await new Promise((r) => setTimeout(r, 1500));
  const ready = now();
  // the "before" window: 16 more tokens per stream (at least 0.5 s), so slow models get a real sample
  if (perToken) await until(32);
  await new Promise((r) => setTimeout(r, Math.max(0, 500 - (now() - ready))));
  const joinAt = now();
  const joiner = await start(7, TOKENS, undefined, new AbortController().signal);
  const count = (from: number, to: number) => times.reduce((s, t) => s + t.filter((x) => x > from && x <= to).length, 0);
  const beforeTps = (count(ready, joinAt) * 1000) / (joinAt - ready);
  const duringTps = (count(joinAt, joiner.endMs) * 1000) / (joiner.endMs - joinAt);
  stop.abort();
  await Promise.all(running);
  return { ttftMs: joiner.firstMs - joiner.startMs, beforeTps, duringTps, slowdown: perToken ? beforeTps / duringTps : NaN };
}

// ---------- one model ----------
/** Stops this model's child processes (Atelier, llama-server) on Ctrl-C. */
let cleanup = async () => {};
type Side = "native" | "server" | "atelier" | "raw";
type Agg = Summary & { runs: number[] };
const SIDE_NAMES: Record<Side, string> = { native: "native loop (direct)", server: "llama-server", atelier: "Atelier (HTTP tRPC)", raw: "raw node-llama-cpp" };

/** Medians over the repetitions, per metric. */
function aggregate(list: Summary[]): Agg {
  const m = (f: (s: Summary) => number | undefined) => {
    const xs = list.map(f).filter((x): x is number => x != null && isFinite(x));
    return xs.length ? median(xs) : undefined;
  };
  return { ...list[0]!, errors: [...new Set(list.flatMap((s) => s.errors))], tokens: median(list.map((s) => s.tokens)), aggTps: m((s) => s.aggTps)!, ttftMs: m((s) => s.ttftMs)!, streamTps: m((s) => s.streamTps)!, cpuMsPerTok: m((s) => s.cpuMsPerTok), runs: list.map((s) => +s.aggTps.toFixed(1)) };
}

async function benchModel(model: string, threads: number) {
  const machine = machineInfo();
  console.error(`\n== ${path.basename(model)}: threads ${threads}, sequences ${SEQ}, ctx/seq ${CTX}, ${TOKENS} tokens, conc ${CONC}, ${REPS} interleaved runs; load ${machine.load}`);
  let at: Atelier | undefined, srv: LlamaServer | undefined, nat: NativeSide | undefined;
  let sampling: EngineSampling = DEFAULT_ENGINE_SAMPLING;
  let systemPrompt: string | undefined;
  let assistantId = "";
  let atelierBackend = "-";
  const llama = await rawLlama(GPU);
  const check = checkNativeLoop(llama);
  const backend = `${llama.gpu === false ? "cpu" : llama.gpu} (native loop: ${path.relative(ROOT, check.addon)} over ${path.relative(ROOT, check.llamaLibrary)}; devices ${check.devices.join(", ")})`;
  const results: Record<Side, Record<number, Agg>> = { native: {}, server: {}, atelier: {}, raw: {} };
  const joins: Partial<Record<Side, Join[]>> = {};
  const loads: string[] = [machine.load];
  cleanup = async () => { await Promise.allSettled([at?.stop(), srv?.stop()]); };
  try {
    if (SIDES.has("atelier")) {
      at = await startAtelier(model, threads);
      const asst = (await at.client.assistants.list.query())[0] as any;
      if (!asst) throw new Error("Atelier has no assistant");
      assistantId = asst.id;
      sampling = { temperature: asst.sampling.temperature, topP: asst.sampling.topP, topK: asst.sampling.topK, repeatPenalty: asst.sampling.repeatPenalty };
      systemPrompt = asst.systemPrompt;
      if (asst.sampling.maxTokens < TOKENS) console.error(`warning: the assistant's maxTokens ${asst.sampling.maxTokens} < ${TOKENS}`);
      await atelierRun(at, assistantId, 1); // warm-up: loads the model, starts the loop
      const st = await at.client.system.status.query();
      atelierBackend = `${st.backend}${st.gpuName ? ` (${st.gpuName})` : ""}, threads ${st.threads}, ATELIER_ENGINE=native`;
    }
    if (SIDES.has("native")) {
      nat = await openNative(llama, model, { threads, sequences: SEQ, ctxPerSeq: CTX });
      await nativeRun(nat, 1, 8, sampling, systemPrompt);
    }
    const rawCfg: RawConfig = { threads, seqPerContext: SEQ, ctxPerSeq: CTX, method: "atelier", sampling, systemPrompt, gpu: GPU, flashAttention: "auto", strategy: "atelier", dispatch: "atelier" };
    if (SIDES.has("raw")) await rawRun(model, rawCfg, 1, 8);
    if (SIDES.has("server")) {
      srv = await startLlamaServer({ model, threads, parallel: SEQ, ctxPerSeq: CTX, gpu: GPU !== false });
      await llamaServerRun(srv, 1, 8);
    }
    const serverSampling = { temperature: sampling.temperature, top_k: sampling.topK, top_p: sampling.topP, min_p: 0, repeat_penalty: sampling.repeatPenalty, repeat_last_n: 64 };
    const run: Record<Side, (c: number) => Promise<RunResult>> = {
      native: (c) => nativeRun(nat!, c, TOKENS, sampling, systemPrompt),
      server: (c) => llamaServerRun(srv!, c, TOKENS, serverSampling, systemPrompt),
      atelier: (c) => atelierRun(at!, assistantId, c),
      raw: (c) => rawRun(model, rawCfg, c, TOKENS),
    };
    const order: Side[] = ["native", "server", "atelier", "raw"];
    const all: Record<string, Summary[]> = {};
    // Sides and concurrency levels interleave in every repetition, so background load hits all of them alike.
    for (let r = 0; r < REPS; r++) {
      for (const c of CONC)
        for (const side of order) {
          if (!SIDES.has(side)) continue;
          const s = summarize(await run[side](c));
          (all[`${side}:${c}`] ??= []).push(s);
          console.error(`rep ${r + 1} ${side.padEnd(7)} c=${c}: ${f1(s.aggTps)} tok/s agg, ${f1(s.streamTps)} tok/s/stream, TTFT ${f1(s.ttftMs)} ms, CPU ${s.cpuMsPerTok?.toFixed(2)} ms/tok, ${s.tokens} tokens`);
        }
      if (!a["no-join"]) {
        const starters: Partial<Record<Side, [(i: number, n: number, t: number[] | undefined, sig: AbortSignal) => Promise<GenRecord>, boolean]>> = {
          native: [(i, n, t, sig) => { const s = nativeJoinStream(nat!, i, n, sampling, systemPrompt, t ?? []); sig.addEventListener("abort", s.cancel); return s.gen; }, true],
          server: [(i, n, t, sig) => streamCompletion(srv!.url, i, n, serverSampling, systemPrompt, t, sig), true],
          atelier: [async (i, _n, _t, sig) => { const c = await at!.client.conversations.create.mutate({ assistantId }); return atelierOne(at!, c.id, i, sig); }, false],
        };
        for (const side of ["native", "server", "atelier"] as Side[]) {
          const st = starters[side];
          if (!SIDES.has(side) || !st) continue;
          const j = await joinScenario(st[0], st[1]);
          (joins[side] ??= []).push(j);
          console.error(`rep ${r + 1} join ${side}: TTFT ${f1(j.ttftMs)} ms, running ${f1(j.beforeTps)} -> ${f1(j.duringTps)} tok/s`);
        }
      }
      loads.push(machineInfo().load);
    }
    for (const [k, list] of Object.entries(all)) {
      const [side, c] = k.split(":") as [Side, string];
      results[side][Number(c)] = aggregate(list);
    }
  } finally {
    await Promise.allSettled([at?.stop(), srv?.stop(), nat?.close()]);
    cleanup = async () => {};
  }
  return { model, machine, backend, atelierBackend, sampling, results, joins, loads };
}

// ---------- report ----------
function report(r: Awaited<ReturnType<typeof benchModel>>, threads: number): string {
  const { model, machine, results, joins, sampling } = r;
  const pf = (ok: boolean | undefined) => (ok == null ? "n/a" : ok ? "PASS" : "FAIL");
  const n1 = results.native[1], a1 = results.atelier[1];
  const streamRatio = n1 && a1 ? a1.streamTps / n1.streamTps : undefined;
  const ttftOver = n1 && a1 ? a1.ttftMs - n1.ttftMs : undefined;
  const date = new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC";
  const maxLoad = Math.max(...r.loads.map((l) => Number(l.split(" ")[0])));
  const noisy = maxLoad > machine.nproc * 0.5;
  const L: string[] = [];
  L.push(`### chat-throughput: ${path.basename(model)}${GPU === false ? "" : " (GPU auto)"} — ${date}`, "");
  L.push(`- Machine: ${machine.nproc} CPUs (\`nproc\`), ${machine.cpu}, ${machine.memGiB} GiB; 1-minute load average during the run ${r.loads.map((l) => l.split(" ")[0]).join(" → ")}` +
    (noisy ? " — **shared, busy machine: wall-clock numbers are depressed and noisy; CPU ms/token is the steadier measure**" : ""));
  L.push(`- Backend: ${r.backend}; Atelier ${r.atelierBackend}; model \`${path.relative(ROOT, model)}\`; exactly ${TOKENS} generated tokens per conversation on every side (EOS ignored everywhere); median of ${REPS} interleaved runs`);
  L.push(`- Settings (all sides): threads ${threads}, ${SEQ} sequences/slots, ${CTX} ctx per sequence, batch 512; sampling temp ${sampling.temperature}, top-k ${sampling.topK}, top-p ${sampling.topP}, repeat penalty ${sampling.repeatPenalty} (last 64)`);
  L.push(`- Command: \`npm run bench -- --model ${path.relative(ROOT, model)} --tokens ${TOKENS} --reps ${REPS} --threads ${threads}${GPU === false ? "" : " --gpu auto"}\``);
  L.push("");
  L.push("| metric | native loop (direct) | Atelier (HTTP tRPC) | ratio / delta | target | result |");
  L.push("|---|---|---|---|---|---|");
  L.push(`| single-stream generation tok/s | ${f1(n1?.streamTps)} | ${f1(a1?.streamTps)} | ${streamRatio?.toFixed(3) ?? "-"}x | >= ${TARGETS.streamRatio}x | ${pf(streamRatio == null ? undefined : streamRatio >= TARGETS.streamRatio)} |`);
  const e2e = n1 && a1 ? a1.aggTps / n1.aggTps : undefined;
  L.push(`| one conversation end to end tok/s (tokens / request → last token) | ${f1(n1?.aggTps)} | ${f1(a1?.aggTps)} | ${e2e?.toFixed(3) ?? "-"}x | – | – |`);
  L.push(`| time to first token, ms | ${f1(n1?.ttftMs)} | ${f1(a1?.ttftMs)} | ${ttftOver == null ? "-" : (ttftOver >= 0 ? "+" : "") + ttftOver.toFixed(1)} ms | <= +${TARGETS.ttftOverheadMs} ms | ${pf(ttftOver == null ? undefined : ttftOver <= TARGETS.ttftOverheadMs)} |`);
  L.push("", "Stream tok/s counts from the first streamed text to the last: a late first chunk (TTFT) makes a stream look faster, so the end-to-end row includes it.", "");
  const sides = (["server", "native", "atelier", "raw"] as Side[]).filter((s) => SIDES.has(s));
  L.push(`| concurrent | ${sides.map((s) => `${SIDE_NAMES[s]} tok/s`).join(" | ")} | Atelier / server | target >= ${TARGETS.aggVsServer}x | CPU ms/token ${sides.map((s) => s.replace("atelier", "Atelier")).join(" / ")} | Atelier CPU < server |`);
  L.push(`|---|${sides.map(() => "---").join("|")}|---|---|---|---|`);
  for (const c of CONC) {
    const s = results.server[c], x = results.atelier[c];
    const xs = s && x ? x.aggTps / s.aggTps : undefined;
    const cpuOk = s?.cpuMsPerTok != null && x?.cpuMsPerTok != null ? x.cpuMsPerTok < s.cpuMsPerTok : undefined;
    L.push(`| ${c} | ${sides.map((sd) => f1(results[sd][c]?.aggTps)).join(" | ")} | ${xs?.toFixed(2) ?? "-"} | ${pf(xs == null ? undefined : xs >= TARGETS.aggVsServer)} | ${sides.map((sd) => results[sd][c]?.cpuMsPerTok?.toFixed(2) ?? "-").join(" / ")} | ${c === 1 ? "–" : pf(cpuOk)} |`);
  }
  const short = sides.flatMap((sd) => CONC.filter((c) => results[sd][c] && results[sd][c]!.tokens !== c * TOKENS).map((c) => `${sd} c=${c}: ${results[sd][c]!.tokens}`));
  if (short.length) L.push("", `Token counts differ from ${TOKENS} per conversation on: ${short.join(", ")} (median total tokens); compare rates.`);
  for (const sd of sides) {
    const errs = [...new Set(CONC.flatMap((c) => results[sd][c]?.errors ?? []))];
    if (errs.length) L.push("", `${SIDE_NAMES[sd]} ended streams early with: ${errs.map((e) => `"${e}"`).join("; ")}.`);
  }
  L.push("", `Runs per side (aggregate tok/s, in run order): ${sides.map((s) => `${s} ${CONC.map((c) => `c${c}=[${results[s][c]?.runs.join(", ") ?? ""}]`).join(" ")}`).join("; ")}`);
  const js = (["native", "server", "atelier"] as Side[]).filter((s) => joins[s]?.length);
  if (js.length) {
    L.push("", `A new request joining 7 running streams (${TOKENS} tokens; medians of ${REPS}): its time to first token, and the 7 streams' aggregate rate before it joined (while each made 16 tokens, at least 0.5 s) vs while it generated.`, "");
    L.push("| side | joiner TTFT, ms | running streams before, tok/s | while it runs, tok/s | slowdown |");
    L.push("|---|---|---|---|---|");
    for (const s of js) {
      const list = joins[s]!;
      const med = (f: (j: Join) => number) => median(list.map(f));
      const perToken = s !== "atelier";
      L.push(`| ${SIDE_NAMES[s]} | ${f1(med((j) => j.ttftMs))} | ${perToken ? f1(med((j) => j.beforeTps)) : "– (text arrives in 16 ms chunks)"} | ${perToken ? f1(med((j) => j.duringTps)) : "–"} | ${perToken ? med((j) => j.slowdown).toFixed(2) + "x" : "–"} |`);
    }
  }
  L.push("");
  return L.join("\n");
}

function writeBlock(model: string, block: string) {
  writeBenchmarkSection(a.out!, `chat-throughput:${path.basename(model)}${GPU === false ? "" : ":gpu"}`, block);
}

// ---------- main ----------
const models = modelList();
const threads = await pickThreads();
const cleanupSignals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
for (const sig of cleanupSignals) process.on(sig, () => void cleanup().then(() => process.exit(130)));
const json: unknown[] = [];
for (const model of models) {
  const r = await benchModel(model, threads);
  const block = report(r, threads);
  console.log(block);
  writeBlock(model, block);
  json.push(r);
}
if (a.json) fs.writeFileSync(a.json, JSON.stringify(json, null, 1));
process.exit(0);
