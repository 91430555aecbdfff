// Engine tuning study: raw node-llama-cpp settings vs llama-server, aggregate tok/s at 1/4/8 concurrent generations.
// Usage: npx tsx --conditions=react-server bench/engine-study.ts --model <gguf> [--tokens 128] [--reps 2] [--only threads,layout,dispatch,method,batch,fa,server]
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { rawRun, type RawConfig } from "./lib/raw.js";
import { startLlamaServer, llamaServerRun } from "./lib/llamaServer.js";
import { bestOf, machineInfo, f1 } from "./lib/common.js";
const f2 = (x?: number) => (x == null ? "-" : x.toFixed(2));

const { values } = parseArgs({ options: {
  model: { type: "string" }, tokens: { type: "string", default: "128" }, reps: { type: "string", default: "2" },
  only: { type: "string", default: "threads,layout,dispatch,method,atelier,batch,fa,server" },
  threads: { type: "string", default: "1,2" },
} });
const model = values.model ?? "bench/.cache/models/bench-124m-q8_0.gguf";
const N = Number(values.tokens), REPS = Number(values.reps);
const THREADS = values.threads!.split(",").map(Number);
const only = new Set(values.only!.split(","));
const rows: string[] = [];
const out: any[] = [];
const head = "| group | setting | conc | agg tok/s | stream tok/s | TTFT ms | tokens/decode | decode % of wall | CPU ms/token | runs (agg tok/s) |";
console.log(`# ${path.basename(model)}  ${JSON.stringify(machineInfo())}\n\n${head}\n|---|---|---|---|---|---|---|---|---|---|`);

async function raw(group: string, label: string, cfg: RawConfig, conc: number) {
  await rawRun(model, cfg, Math.min(conc, 2), 8); // warm-up (page cache, thread pools)
  const s = await bestOf(REPS, () => rawRun(model, cfg, conc, N));
  emit(group, label, conc, s);
}
function emit(group: string, label: string, conc: number, s: any) {
  const row = `| ${group} | ${label} | ${conc} | ${f1(s.aggTps)} | ${f1(s.streamTps)} | ${f1(s.ttftMs)} | ${f1(s.meanBatch)} | ${s.decodeShare == null ? "-" : (s.decodeShare * 100).toFixed(0)} | ${f2(s.cpuMsPerTok)} | ${s.runs.join(", ")} |`;
  console.log(row); rows.push(row); out.push({ group, label, conc, ...s });
}

const base: RawConfig = { threads: 1, seqPerContext: 8, method: "evaluate" };
if (only.has("threads"))
  for (const t of THREADS) for (const c of [1, 4, 8]) await raw("threads", `threads=${t}, 1 ctx x 8 seq`, { ...base, threads: t }, c);
if (only.has("layout"))
  for (const c of [4, 8]) {
    await raw("layout", `${c} ctx x 1 seq`, { ...base, seqPerContext: 1 }, c);
    await raw("layout", `2 ctx x ${c / 2} seq`, { ...base, seqPerContext: c / 2 }, c);
    await raw("layout", `1 ctx x ${c} seq (= conc)`, { ...base, seqPerContext: c }, c);
  }
if (only.has("dispatch"))
  for (const c of [4, 8]) {
    await raw("dispatch", "nextCycle + FIFO", { ...base, strategy: "firstInFirstOut" }, c);
    await raw("dispatch", "all-active + maxParallelism", { ...base, dispatch: "all-active" }, c);
  }
if (only.has("method"))
  for (const c of [1, 8]) {
    await raw("method", "LlamaChatSession.prompt", { ...base, method: "chat" }, c);
    await raw("method", "LlamaChat.generateResponse (engine, repeatPenalty 1.1)", { ...base, method: "engine" }, c);
    await raw("method", "LlamaChat.generateResponse (engine, no repeatPenalty)", { ...base, method: "engine", sampling: { temperature: 0.3, topP: 0.9, topK: 40, repeatPenalty: 1 } }, c);
  }
if (only.has("atelier")) {
  // LlamaChat.generateResponse vs Atelier's token loop (server/llm/sequence-run.ts) without / with lockstep, interleaved
  const tuned: RawConfig = { ...base, flashAttention: "auto", strategy: "seqOrder", sampling: { temperature: 0.3, topP: 0.9, topK: 40, repeatPenalty: 1.1 } };
  for (let r = 0; r < REPS; r++)
    for (const c of [1, 4, 8])
      for (const [label, cfg] of [
        ["LlamaChat.generateResponse, seqOrder", { ...tuned, method: "engine" }],
        ["sequence-run, seqOrder", { ...tuned, method: "atelier" }],
        ["sequence-run in lockstep + lockstep dispatch (Atelier)", { ...tuned, method: "atelier", strategy: "atelier", dispatch: "atelier" }],
      ] as [string, RawConfig][]) {
        await rawRun(model, cfg, Math.min(c, 2), 8);
        emit("atelier", label, c, await bestOf(1, () => rawRun(model, cfg, c, N)));
      }
}
if (only.has("batch"))
  for (const b of [64, 2048]) await raw("batch", `batchSize=${b}`, { ...base, batchSize: b }, 8);
if (only.has("fa"))
  for (const c of [1, 8]) await raw("fa", "flashAttention=true", { ...base, flashAttention: true }, c);
if (only.has("server"))
  for (const t of THREADS) {
    const srv = await startLlamaServer({ model, threads: t, parallel: 8 });
    try {
      await llamaServerRun(srv, 2, 8);
      for (const c of [1, 4, 8]) emit("llama-server", `-t ${t} -np 8`, c, await bestOf(REPS, () => llamaServerRun(srv, c, N)));
    } finally { await srv.stop(); }
  }
fs.mkdirSync("bench/.cache/results", { recursive: true });
fs.writeFileSync(`bench/.cache/results/study-${path.basename(model)}-${Date.now()}.json`, JSON.stringify({ model, machine: machineInfo(), out }, null, 1));
process.exit(0);
