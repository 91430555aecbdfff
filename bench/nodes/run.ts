// Inference nodes: what routing through Atelier costs, and what a second node buys.
//   npx tsx --conditions=react-server bench/nodes/run.ts [--rounds 3] [--max-tokens 128] [--skip-llama-server]
//                                                        [--model <gguf>] [--out BENCHMARKS.md]
// --model: the model the nodes serve (default the starter, the worst case: its tokens are so cheap that
// the central's per-request work weighs most). With another model the llama-server part is skipped and
// the block is `nodes:<file name>`.
// This process is the central Atelier (real SQLite, the /v1 route handler behind a real HTTP server)
// and the load generator; `atelier node` processes (one inference thread each) serve the starter.
// 1. Routing overhead: streaming /v1/chat/completions through Atelier (assistant → node) vs the same
//    request straight to the node's /v1, 1/4/8 concurrent, rounds interleaved, medians.
// 2. Scale: 8 concurrent through Atelier with one node vs two nodes.
// 3. llama-server (built by bench/build-llama-server.sh from node-llama-cpp's llama.cpp): routing vs
//    direct, and forge's LoRA served by llama-server (--lora) vs Atelier's local engine, greedy.
// Writes its own section of BENCHMARKS.md (between the nodes:start and nodes:end markers).
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { eq } from "drizzle-orm";
import { writeBenchmarkSection } from "../lib/benchmarks-md";

const ROOT = path.resolve(import.meta.dirname, "../..");
const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    "max-tokens": { type: "string", default: "128" },
    "skip-llama-server": { type: "boolean", default: false },
    model: { type: "string" },
    out: { type: "string", default: path.join(ROOT, "BENCHMARKS.md") },
  },
});
const ROUNDS = Number(args.rounds);
const MAX_TOKENS = Number(args["max-tokens"]);
const STARTER = path.join(ROOT, "models/starter/atelier-starter.gguf");
const MODEL = args.model ? path.resolve(args.model) : STARTER;
const IS_STARTER = MODEL === STARTER;
if (!fs.existsSync(MODEL)) throw new Error(`${MODEL} does not exist (bench models: python3 bench/make-model.py, see bench/chat-throughput.ts)`);
const TOKEN = "bench-node-token-0123456789";
const PROMPT = (i: number) => `Conversation ${i}: tell me everything about Atelier, the studio, training and the widget.`;

process.env.ATELIER_DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-bench-nodes-"));
process.env.ATELIER_DEFAULT_MODEL = MODEL;
process.env.ATELIER_NODE_HEALTH_S = "3600";
(process.env as Record<string, string>).NODE_ENV = "production";

const { startNodeProcess, centralServer } = await import("../../tests/scaleout/helpers");
const { ready } = await import("@/server/bootstrap");
const { assistants } = await import("@/server/db/schema");
const { createApiKey, ensureDeployment, updateDeployment } = await import("@/server/edge");
const { registerNode, assignModel, setLocalServing, updateNode, removeNode, checkAllNodes, stopNodeHealth } = await import("@/server/nodes");

type Stream = { startMs: number; firstMs: number; endMs: number; tokens: number };

/** One streaming chat completion; tokens from the usage the server reports. */
async function stream(url: string, headers: Record<string, string>, body: Record<string, unknown>): Promise<Stream> {
  const startMs = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }) });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let firstMs = 0;
  let tokens = 0;
  let buf = "";
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const line = buf.slice(0, i).replace(/^data: /, "");
      buf = buf.slice(i + 2);
      if (line === "[DONE]") continue;
      const j = JSON.parse(line) as { choices?: Array<{ delta?: { content?: string } }>; usage?: { completion_tokens: number } };
      if (!firstMs && j.choices?.[0]?.delta?.content) firstMs = performance.now();
      if (j.usage) tokens = j.usage.completion_tokens;
    }
  }
  return { startMs, firstMs, endMs: performance.now(), tokens };
}

/** llama-server's native /completion stream (what Atelier's route sends it: the prompt as tokens). */
async function streamNative(url: string, body: Record<string, unknown>): Promise<Stream> {
  const startMs = performance.now();
  const res = await fetch(`${url}/completion`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, stream: true }) });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let firstMs = 0;
  let tokens = 0;
  let buf = "";
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const line = buf.slice(0, i).replace(/^data: /, "");
      buf = buf.slice(i + 2);
      const j = JSON.parse(line) as { content?: string; stop?: boolean; tokens_predicted?: number };
      if (!firstMs && j.content) firstMs = performance.now();
      if (j.stop) tokens = j.tokens_predicted ?? 0;
    }
  }
  return { startMs, firstMs, endMs: performance.now(), tokens };
}

async function burst(n: number, one: (i: number) => Promise<Stream>) {
  const t0 = performance.now();
  const all = await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
  const wall = performance.now() - t0;
  const tokens = all.reduce((s, r) => s + r.tokens, 0);
  const ttft = median(all.map((r) => r.firstMs - r.startMs));
  return { tps: tokens / (wall / 1000), ttft, tokens };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(", ");
const lines: string[] = [];
const say = (s = "") => {
  console.log(s);
  lines.push(s);
};

const db = await ready();
const a = db.select().from(assistants).get()!;
// No persona text: the routed request then carries exactly the direct request's messages.
db.update(assistants).set({ systemPrompt: "", outOfScopeReply: null, sampling: { ...a.sampling, temperature: 0, maxTokens: MAX_TOKENS } }).where(eq(assistants.id, a.id)).run();
ensureDeployment(db, a.id);
// the bench sends hundreds of requests a minute from one address
const { after: deployment } = updateDeployment(db, a.id, { ipPerMinuteLimit: 1_000_000, dailyLimit: 1_000_000 });
const { key } = createApiKey(db, a.id, "bench", null);
const central = await centralServer();
const sampling = { temperature: 0, top_p: a.sampling.topP, top_k: a.sampling.topK, repeat_penalty: a.sampling.repeatPenalty, max_tokens: MAX_TOKENS };
const viaAtelier = (i: number) => stream(central.url, { authorization: `Bearer ${key}` }, { model: deployment.publicId, messages: [{ role: "user", content: PROMPT(i) }] });

async function compareRouting(label: string, direct: (i: number) => Promise<Stream>) {
  say(`| ${label} concurrency | direct tok/s | through Atelier tok/s | ratio | direct TTFT ms | Atelier TTFT ms | TTFT overhead ms |`);
  say("| --- | --- | --- | --- | --- | --- | --- |");
  const verdicts: boolean[] = [];
  for (const n of [1, 4, 8]) {
    // warm both paths (model load, prompt cache, and the central's code paths: the first requests compile)
    for (let w = 0; w < 3; w++) {
      await burst(n, direct);
      await burst(n, viaAtelier);
    }
    const ratios: number[] = [];
    const overheads: number[] = [];
    const d: Array<{ tps: number; ttft: number }> = [];
    const r: Array<{ tps: number; ttft: number }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      const x = await burst(n, direct);
      const y = await burst(n, viaAtelier);
      d.push(x);
      r.push(y);
      ratios.push(y.tps / x.tps);
      overheads.push(y.ttft - x.ttft);
    }
    const ratio = median(ratios);
    const overhead = median(overheads);
    verdicts.push(ratio >= 0.97 && overhead <= 10);
    say(`| ${n} | ${median(d.map((x) => x.tps)).toFixed(1)} | ${median(r.map((x) => x.tps)).toFixed(1)} | ${ratio.toFixed(3)} | ${median(d.map((x) => x.ttft)).toFixed(1)} | ${median(r.map((x) => x.ttft)).toFixed(1)} | ${overhead.toFixed(1)} |`);
  }
  return verdicts.every(Boolean);
}

const started = new Date();
say(`### nodes: routing overhead and scale-out, ${path.basename(MODEL)} — ${started.toISOString().slice(0, 16).replace("T", " ")} UTC`);
say();
say(`Command: \`npx tsx --conditions=react-server bench/nodes/run.ts --rounds ${ROUNDS} --max-tokens ${MAX_TOKENS}${args["skip-llama-server"] ? " --skip-llama-server" : ""}${IS_STARTER ? "" : ` --model ${path.relative(ROOT, MODEL)}`}\`. Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "CPU"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; load average at start ${load()}.`);
say(`Model: ${path.relative(ROOT, MODEL)}, greedy, at most ${MAX_TOKENS} tokens; each number is the median of ${ROUNDS} interleaved rounds (direct, then through Atelier). This process is both the central Atelier (route handler behind a real HTTP server, real SQLite) and the client; each node is an \`atelier node\` process with ATELIER_THREADS=1.`);
say();

const nodeA = await startNodeProcess({ token: TOKEN, args: ["--model", `starter=${MODEL}`], env: { ATELIER_SEQUENCES: "8" } });
const nodeB = await startNodeProcess({ token: TOKEN, args: ["--model", `starter=${MODEL}`], env: { ATELIER_SEQUENCES: "8" } });
try {
  const A = await registerNode(db, { name: "node A", url: nodeA.url, kind: "atelier", apiKey: TOKEN });
  await assignModel(db, { nodeId: A.id, modelId: a.modelId!, remoteName: "starter" }, null);
  setLocalServing(db, a.modelId!, false);
  const directA = (i: number) => stream(nodeA.url, { authorization: `Bearer ${TOKEN}` }, { model: "starter", messages: [{ role: "user", content: PROMPT(i) }], ...sampling });
  say("Routing overhead, one Atelier node:");
  say();
  const routingOk = await compareRouting("Atelier node:", directA);
  say();
  say(`Floors (ratio ≥ 0.97, TTFT overhead ≤ 10 ms at every concurrency): ${routingOk ? "met" : "NOT met"} in this run.`);
  say();

  // Scale: the same 8-concurrent load on one node, then on two.
  const B = await registerNode(db, { name: "node B", url: nodeB.url, kind: "atelier", apiKey: TOKEN });
  await assignModel(db, { nodeId: B.id, modelId: a.modelId!, remoteName: "starter" }, null);
  await checkAllNodes(db);
  const one: number[] = [];
  const two: number[] = [];
  await burst(8, viaAtelier);
  for (let round = 0; round < ROUNDS; round++) {
    updateNode(db, B.id, { enabled: false });
    one.push((await burst(8, viaAtelier)).tps);
    updateNode(db, B.id, { enabled: true });
    two.push((await burst(8, viaAtelier)).tps);
  }
  const scale = median(two.map((t, i) => t / one[i]!));
  say("Scale-out, 8 concurrent conversations through Atelier:");
  say();
  say("| nodes (1 thread each) | aggregate tok/s |");
  say("| --- | --- |");
  say(`| 1 | ${median(one).toFixed(1)} |`);
  say(`| 2 | ${median(two).toFixed(1)} |`);
  say();
  say(`Two nodes vs one: ${scale.toFixed(2)}× (floor 1.7×: ${scale >= 1.7 ? "met" : "NOT met"} in this run). Load average after: ${load()}.`);
  say();
  removeNode(db, A.id);
  removeNode(db, B.id);
} finally {
  await Promise.all([nodeA.kill("SIGTERM"), nodeB.kill("SIGTERM")]);
}

if (!args["skip-llama-server"] && IS_STARTER) {
  const { startLlamaServer } = await import("../lib/llamaServer");
  const { tinyLora } = await import("../../tests/scaleout/helpers");
  const lora = await tinyLora();
  const server = await startLlamaServer({ model: STARTER, threads: 1, parallel: 8, ctxPerSeq: 512, extra: ["--lora", lora, "--alias", "starter"] });
  try {
    const L = await registerNode(db, { name: "llama-server", url: server.url, kind: "llama-server" });
    await assignModel(db, { nodeId: L.id, modelId: a.modelId!, remoteName: "starter" }, null);
    // the adapter loaded at start applies to every request unless the request turns it off, as Atelier's route does
    // the same request Atelier's route sends: the prompt rendered by the model's chat wrapper, as tokens, to /completion
    const { renderPromptTokens } = await import("@/server/llm/prompt");
    const prompts = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => renderPromptTokens(STARTER, "", [{ role: "user", content: PROMPT(i) }])));
    const directL = (i: number) =>
      streamNative(server.url, { prompt: prompts[i], n_predict: MAX_TOKENS, temperature: 0, top_p: a.sampling.topP, top_k: a.sampling.topK, min_p: 0, repeat_penalty: a.sampling.repeatPenalty, cache_prompt: true, lora: [{ id: 0, scale: 0 }] });
    say("Routing overhead, llama-server (bench/build-llama-server.sh, `-t 1 -np 8`; both arms send the chat-wrapper-rendered prompt as tokens to its /completion, as Atelier's route does):");
    say();
    const ok = await compareRouting("llama-server:", directL);
    say();
    say(`Floors: ${ok ? "met" : "NOT met"} in this run.`);
    say();

    // forge's LoRA: llama-server (started with --lora) vs this process's own engine, greedy
    const { addLocalModel } = await import("@/server/models");
    const { answer } = await import("@/server/chat");
    const version = await addLocalModel(db, { path: lora, name: "bench lora", baseModelId: a.modelId! });
    await assignModel(db, { nodeId: L.id, modelId: version.id, remoteName: "starter" }, null);
    const config = { modelId: version.id, name: "bench", persona: { systemPrompt: "", outOfScopeReply: null, historyWindow: 0, sampling: { ...a.sampling, temperature: 0, repeatPenalty: 1, maxTokens: 48 } }, collectionIds: [] as string[] };
    const question = "What is the favourite fruit of the guide?";
    const textOf = async () => {
      let text = "";
      for await (const ev of answer(db, { config, turns: [{ role: "user", content: question }] })) if (ev.type === "done") text = ev.text;
      return text;
    };
    const viaServer = await textOf();
    const { unassignModel } = await import("@/server/nodes");
    unassignModel(db, L.id, version.id);
    const local = await textOf();
    // the same comparison without the adapter: tells kernel-level differences from LoRA handling
    config.modelId = a.modelId!;
    const baseViaServer = await textOf();
    setLocalServing(db, a.modelId!, true);
    unassignModel(db, L.id, a.modelId!);
    const baseLocal = await textOf();
    say(`forge's LoRA (tests' tiny "bananas" adapter) served by llama-server with \`--lora\` vs Atelier's local engine, greedy (no repeat penalty), 48 tokens, "${question}": ${viaServer === local ? "the same answer" : "DIFFERENT answers"}.`);
    say();
    say(`- llama-server: ${JSON.stringify(viaServer)}`);
    say(`- local engine: ${JSON.stringify(local)}`);
    say();
    say(`The base model alone, same question: ${baseViaServer === baseLocal ? "the same answer" : "DIFFERENT answers"} (llama-server ${JSON.stringify(baseViaServer)}; local ${JSON.stringify(baseLocal)}).`);
    say();
  } finally {
    await server.stop();
  }
}
stopNodeHealth(db);
await central.close();
say(`Load average at the end: ${load()}. Numbers taken while other work ran on this machine are noisy; re-run in a quiet window with the command above.`);

const block = IS_STARTER ? "nodes" : `nodes:${path.basename(MODEL)}`;
writeBenchmarkSection(args.out!, block, `${IS_STARTER ? "## Inference nodes (bench/nodes/run.ts)\n\n" : ""}${lines.join("\n")}`);
console.log(`wrote ${args.out}`);
process.exit(0);
