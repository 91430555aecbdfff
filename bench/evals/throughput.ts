// Eval throughput (issue 13): an eval run of 100 questions × 2 configurations (knowledge on/off) against raw batched
// generation of the same prompts through node-llama-cpp, in ONE process and run, interleaved, on the starter model and
// on the 124M bench model. Harness overhead target: eval answers/min ≥ 0.90 × raw answers/min (median of the reps).
//
// Usage: npx tsx --conditions=react-server bench/evals/throughput.ts [--models starter,124m] [--reps 3] [--tokens 48]
//                                                                   [--concurrency 7] [--out BENCHMARKS.md] [--json file]
// The 124M model is bench/.cache/models/bench-124m-q8_0.gguf (made by bench/make-model.py when missing; needs
// python3-numpy and llama.cpp's gguf-py, cloned from node-llama-cpp's bundled llama.cpp source).
//
// Eval side: the real eval runner (server/evals: snapshot rows → retrieval for "knowledge on" → the serving engine's
// parallel sequences → scoring → SQLite rows → bootstrap summary), timed from start to the stored summary.
// Raw side: node-llama-cpp directly (one context × N sequences, the same sequence-order batching and lockstep
// dispatch Atelier's engine configures, a plain `sequence.evaluate()` loop, cached prompt prefixes kept with
// `adaptStateToTokens`), the same prompts (persona + retrieved sources + question, rendered with the model's chat template
// and tokenized inside the timed loop), the same sampler (greedy with the assistant's repeat penalty over the last 64
// tokens, as the engine's token loop applies it), the same number of tokens per answer as the eval produced, the same
// number of streams at once. Retrieval, scoring, SQLite writes and the summary count against the eval side only.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { ChatHistoryItem, LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import { machineInfo } from "../lib/common.js";
import { cachedChatWrapper, makeContexts } from "../lib/raw.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const { values: a } = parseArgs({
  options: {
    models: { type: "string", default: "starter,124m" },
    reps: { type: "string", default: "3" },
    tokens: { type: "string", default: "48" },
    questions: { type: "string", default: "100" },
    // per-sequence context (as ATELIER_CONTEXT_SIZE; the model's own when smaller): it sets how many tokens of sources
    // "knowledge on" packs into each prompt (a fifth of it), so it is the prompt length of half the answers
    ctx: { type: "string", default: "1024" },
    concurrency: { type: "string" },
    out: { type: "string", default: path.join(ROOT, "BENCHMARKS.md") },
    json: { type: "string" },
  },
});
const REPS = Number(a.reps);
const TOKENS = Number(a.tokens);
const QUESTIONS = Number(a.questions);
const TARGET = 0.9;
const MODELS: Record<string, () => string> = {
  starter: () => path.join(ROOT, "models/starter/atelier-starter.gguf"),
  "124m": () => {
    const p = path.join(ROOT, "bench/.cache/models/bench-124m-q8_0.gguf");
    if (!fs.existsSync(p)) {
      const src = path.join(ROOT, "bench/.cache/llama.cpp");
      if (!fs.existsSync(path.join(src, "gguf-py"))) spawnSync("git", ["clone", "-q", path.join(ROOT, "node_modules/node-llama-cpp/llama/gitRelease.bundle"), src], { stdio: "inherit" });
      const r = spawnSync("/usr/bin/python3", [path.join(ROOT, "bench/make-model.py")], { stdio: "inherit" });
      if (r.status !== 0) throw new Error("could not create the 124M benchmark model (needs python3-numpy)");
    }
    return p;
  },
};

const now = () => performance.now();
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** 100 distinct questions with reference answers: the starter's own Q/A corpus (paraphrases included). */
function benchQuestions(n: number): { question: string; reference: string }[] {
  const qa = fs
    .readFileSync(path.join(ROOT, "server/forge/starter/corpus/qa.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { q: string[]; a: string });
  const out: { question: string; reference: string }[] = [];
  for (let variant = 0; out.length < n && variant < 10; variant++) for (const e of qa) if (e.q[variant] && out.length < n) out.push({ question: e.q[variant]!, reference: e.a });
  return out;
}

type SideResult = { wallMs: number; cpuMs: number; answers: number; tokens: number; decodes: number; batchTokens: number };

/** Counts llama_decode calls and the tokens in them on a context (node-llama-cpp 3.21.1's native handle, as bench/lib/raw.ts does). */
function decodeCounter(ctx: unknown) {
  const native = (ctx as { _ctx: Record<string, (...args: unknown[]) => unknown> })._ctx;
  const stats = { decodes: 0, tokens: 0 };
  const init = native.initBatch!.bind(native);
  Object.defineProperty(native, "initBatch", {
    configurable: true,
    writable: true,
    value: (size: number) => {
      stats.decodes++;
      stats.tokens += size;
      return init(size);
    },
  });
  return stats;
}

async function benchModel(label: string, modelPath: string) {
  // A fresh Atelier (temporary data dir, real SQLite) inside this process, answering on this model.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-bench-evals-"));
  process.env.ATELIER_DATA_DIR = dataDir;
  // the raw side is node-llama-cpp's own loop, so the eval side serves on the same engine (the default, auto, would pick the native loop)
  process.env.ATELIER_ENGINE ??= "node-llama-cpp";
  process.env.ATELIER_DEFAULT_MODEL = modelPath;
  process.env.ATELIER_MAX_TOKENS = String(TOKENS);
  const { inspectGguf } = await import("../../server/llm/inspect");
  const trained = (await inspectGguf(modelPath)).contextLength ?? Number(a.ctx);
  process.env.ATELIER_CONTEXT_SIZE = String(Math.min(Number(a.ctx), trained));
  delete process.env.ATELIER_DB_PATH;
  const { resetEnvForTests, env } = await import("../../server/env");
  const { closeDbForTests } = await import("../../server/db/client");
  const { resetReadyForTests, ready } = await import("../../server/bootstrap");
  resetEnvForTests();
  closeDbForTests();
  resetReadyForTests();
  const db = await ready();
  const { eq } = await import("drizzle-orm");
  const { assistants, assistantCollections } = await import("../../server/db/schema");
  const { addDocument, createCollection } = await import("../../server/knowledge");
  const { createRun, createSet, evalRunnerFor, getRun, insertRows } = await import("../../server/evals");
  const { evalResults, evalRunRows } = await import("../../server/evals/schema");
  const { ModelPool } = await import("../../server/llm/pool");
  const { llamaInstance } = await import("../../server/llm/llama");
  const { inferenceThreads, sequenceContextSize } = await import("../../server/llm/tuning");
  const { composeSystemPrompt } = await import("../../server/chat");
  const { knowledgeBudget, retrieveFromCollections, withKnowledge } = await import("../../server/knowledge");
  const { toChatHistory } = await import("../../server/llm/chat-history");
  const { getModelRow, servingSpecFor } = await import("../../server/models");

  const assistant = db.select().from(assistants).get()!;
  db.update(assistants).set({ sampling: { ...assistant.sampling, maxTokens: TOKENS } }).where(eq(assistants.id, assistant.id)).run();
  const col = createCollection(db, { name: "Atelier FAQ" });
  await addDocument(db, { collectionId: col.id, fileName: "atelier-faq.md", bytes: fs.readFileSync(path.join(ROOT, "tests/evals/fixtures/atelier-faq.md")) });
  db.insert(assistantCollections).values({ assistantId: assistant.id, collectionId: col.id }).run();
  const set = createSet(db, { name: "bench", description: "", assistantId: assistant.id, isDefault: true }, null);
  insertRows(db, set.id, benchQuestions(QUESTIONS).map((q) => ({ ...q, facts: [], expectedSource: null, shouldRefuse: false })));
  const warm = createSet(db, { name: "warm-up", description: "", assistantId: assistant.id, isDefault: false }, null);
  insertRows(db, warm.id, benchQuestions(4).map((q) => ({ ...q, facts: [], expectedSource: null, shouldRefuse: false })));

  const sequences = env().ATELIER_SEQUENCES;
  const concurrency = a.concurrency ? Number(a.concurrency) : Math.max(1, sequences - 1);
  const runner = evalRunnerFor(db);
  const evalDecodes = { decodes: 0, tokens: 0 };
  let evalCounter: { decodes: number; tokens: number } | null = null;
  const runEval = async (setId: string): Promise<{ id: string; side: SideResult }> => {
    const { runId } = createRun(db, { assistantId: assistant.id, setId, versions: [assistant.modelId!], knowledge: ["on", "off"], maxTokens: TOKENS, concurrency }, null, { kick: false });
    const d0 = { ...(evalCounter ?? evalDecodes) };
    const t0 = now();
    const c0 = cpuMs();
    await runner.runNow(runId);
    const side = { wallMs: now() - t0, cpuMs: cpuMs() - c0, answers: 0, tokens: 0, decodes: (evalCounter ?? evalDecodes).decodes - d0.decodes, batchTokens: (evalCounter ?? evalDecodes).tokens - d0.tokens };
    const run = getRun(db, runId);
    if (run.status !== "succeeded") throw new Error(`eval run ${run.status}: ${run.error}`);
    const results = db.select().from(evalResults).where(eq(evalResults.runId, runId)).all();
    side.answers = results.length;
    side.tokens = results.reduce((n, r) => n + (r.answerTokens ?? 0), 0);
    return { id: runId, side };
  };

  // The prompts exactly as the eval renders them (same retrieval, same persona, same chat template).
  const spec = servingSpecFor(db, getModelRow(db, assistant.modelId!));
  const serving = await ModelPool.instance().serving(spec);
  if (!("context" in serving)) throw new Error("this benchmark measures node-llama-cpp's engine: run it with ATELIER_ENGINE=node-llama-cpp");
  evalCounter = decodeCounter(serving.context);
  const persona = { systemPrompt: assistant.systemPrompt, outOfScopeReply: assistant.outOfScopeReply };
  const llama = await llamaInstance();
  const threads = inferenceThreads(llama.cpuMathCores);
  const rawModel: LlamaModel = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const ctxPerSeq = sequenceContextSize(getModelRow(db, assistant.modelId!).contextLength);
  const raw = await makeContexts(rawModel, { threads, seqPerContext: sequences, contextsPerRun: 1, ctxPerSeq, batchSize: env().ATELIER_BATCH_SIZE, dispatch: "atelier", strategy: "atelier", method: "atelier" }, sequences);
  const ctx = raw.contexts[0]!;
  const barrier = raw.refs[0]!.barrier;
  const free: LlamaContextSequence[] = Array.from({ length: sequences }, () => ctx.getSequence());
  const seqId = (s: LlamaContextSequence) => (s as unknown as { _sequenceId: number })._sequenceId;
  // the same sampler as the eval: greedy, with the assistant's repeat penalty over the last 64 generated tokens (sequence-run.ts)
  const penalty = db.select().from(assistants).where(eq(assistants.id, assistant.id)).get()!.sampling.repeatPenalty;

  type RawItem = { history: ChatHistoryItem[]; n: number };
  /** The chat history each eval answer was generated from (rendered and tokenized by the raw side, timed). */
  async function promptsFor(runId: string): Promise<RawItem[]> {
    const runRows = db.select().from(evalRunRows).where(eq(evalRunRows.runId, runId)).all();
    const results = db.select().from(evalResults).where(eq(evalResults.runId, runId)).all();
    const out: RawItem[] = [];
    for (const r of results) {
      const q = runRows.find((x) => x.idx === r.rowIdx)!.question;
      const knowledge = r.configIdx === 0;
      const sys = knowledge ? withKnowledge(persona.systemPrompt, await retrieveFromCollections(db, [col.id], q, knowledgeBudget(getModelRow(db, assistant.modelId!).contextLength))) : persona.systemPrompt;
      const history = toChatHistory(composeSystemPrompt({ systemPrompt: sys, outOfScopeReply: persona.outOfScopeReply }), [{ role: "user", content: q }]);
      out.push({ history, n: r.answerTokens ?? 0 });
    }
    return out;
  }

  /** node-llama-cpp: `concurrency` streams at once, each the same prompt and token count as the eval's answer. */
  const wrapper = cachedChatWrapper(rawModel);
  async function runRaw(items: RawItem[]): Promise<SideResult> {
    let next = 0;
    let tokens = 0;
    const r0 = { ...raw.stats };
    const t0 = now();
    const c0 = cpuMs();
    const worker = async () => {
      while (next < items.length) {
        const item = items[next++]!;
        if (item.n === 0) continue;
        free.sort((x, y) => seqId(x) - seqId(y)); // lowest free id first, as the engine does
        const seq = free.shift()!;
        try {
          const prompt = wrapper.generateContextState({ chatHistory: item.history }).contextText.tokenize(rawModel.tokenizer);
          await seq.adaptStateToTokens(prompt, false);
          if (seq.nextTokenIndex >= prompt.length) await seq.eraseContextTokenRanges([{ start: prompt.length - 1, end: seq.nextTokenIndex }]);
          let count = 0;
          const generated: number[] = [];
          const punishTokens = () => generated.slice(-64);
          try {
            for await (const t of seq.evaluate(prompt.slice(seq.nextTokenIndex), { temperature: 0, ...(penalty === 1 ? {} : { repeatPenalty: { penalty, punishTokens: punishTokens as never, maxPunishTokens: 64 } }) })) {
              generated.push(t);
              if (++count >= item.n) break;
              await barrier.arrive(seqId(seq));
            }
          } finally {
            barrier.leave(seqId(seq));
          }
          tokens += count;
        } finally {
          free.push(seq);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { wallMs: now() - t0, cpuMs: cpuMs() - c0, answers: items.filter((i) => i.n > 0).length, tokens, decodes: raw.stats.decodes - r0.decodes, batchTokens: raw.stats.tokens - r0.tokens };
  }

  console.error(`[${label}] warming up (${modelPath}; ${sequences} sequences, ${concurrency} at a time, ${threads} threads, ${TOKENS} tokens max)`);
  const warmRun = await runEval(warm.id);
  await runRaw(await promptsFor(warmRun.id));

  const evalSides: SideResult[] = [];
  const rawSides: SideResult[] = [];
  let items: RawItem[] | null = null;
  for (let rep = 0; rep < REPS; rep++) {
    const e = await runEval(set.id);
    evalSides.push(e.side);
    items ??= await promptsFor(e.id); // greedy: every rep produces the same answers
    const r = await runRaw(items);
    rawSides.push(r);
    console.error(
      `[${label}] rep ${rep + 1}: eval ${e.side.answers} answers, ${e.side.tokens} tokens in ${(e.side.wallMs / 1000).toFixed(1)} s (${e.side.decodes} decodes, ${(e.side.batchTokens / Math.max(1, e.side.decodes)).toFixed(1)} tokens each); ` +
        `raw ${r.answers} answers, ${r.tokens} tokens in ${(r.wallMs / 1000).toFixed(1)} s (${r.decodes} decodes, ${(r.batchTokens / Math.max(1, r.decodes)).toFixed(1)} tokens each); ratio ${(r.wallMs / e.side.wallMs).toFixed(3)}`,
    );
  }
  await raw.dispose();
  await rawModel.dispose();
  await ModelPool.instance()[Symbol.asyncDispose]();
  closeDbForTests();
  fs.rmSync(dataDir, { recursive: true, force: true });
  const perMin = (s: SideResult) => (s.answers / s.wallMs) * 60_000;
  const ratios = evalSides.map((e, i) => perMin(e) / perMin(rawSides[i]!));
  return {
    label,
    model: path.basename(modelPath),
    ctx: Number(process.env.ATELIER_CONTEXT_SIZE),
    sequences,
    concurrency,
    threads,
    answers: evalSides[0]!.answers,
    tokens: evalSides[0]!.tokens,
    evalPerMin: median(evalSides.map(perMin)),
    rawPerMin: median(rawSides.map(perMin)),
    ratio: median(ratios),
    ratios,
    evalCpuPerAnswer: median(evalSides.map((s) => s.cpuMs / s.answers)),
    rawCpuPerAnswer: median(rawSides.map((s) => s.cpuMs / s.answers)),
    evalPerDecode: median(evalSides.map((s) => s.batchTokens / Math.max(1, s.decodes))),
    rawPerDecode: median(rawSides.map((s) => s.batchTokens / Math.max(1, s.decodes))),
  };
}

const started = new Date();
const loadStart = os.loadavg();
const results = [];
for (const key of a.models!.split(",")) {
  const resolve = MODELS[key.trim()];
  if (!resolve) throw new Error(`unknown model "${key}" (starter, 124m)`);
  results.push(await benchModel(key.trim(), resolve()));
}
const loadEnd = os.loadavg();
const machine = machineInfo();
const busy = Math.max(loadStart[0]!, loadEnd[0]!) > 1.0;

const lines: string[] = [];
lines.push(`## Eval throughput: the eval runner vs raw node-llama-cpp (${started.toISOString().slice(0, 16).replace("T", " ")} UTC)`);
lines.push("");
lines.push(`Command: \`npx tsx --conditions=react-server bench/evals/throughput.ts --models ${a.models} --reps ${REPS}${QUESTIONS !== 100 ? ` --questions ${QUESTIONS}` : ""} --tokens ${TOKENS} --ctx ${a.ctx}\``);
lines.push(`(written by that script; it serves the eval with \`ATELIER_ENGINE=node-llama-cpp\`, the engine the raw side measures). ${QUESTIONS} questions × 2 configurations (the assistant's model with and without its knowledge base) = ${QUESTIONS * 2} answers per run, up to ${TOKENS} tokens each, greedy;`);
lines.push("the raw side generates the same prompts (persona + retrieved sources + question through the model's chat template) with the same");
lines.push("sampler (greedy, the assistant's repeat penalty), token count per answer and number of streams at once, straight on node-llama-cpp");
lines.push("(`sequence.evaluate()`, one context × N sequences, the engine's batching). Eval and raw runs alternate; each figure is the median of");
lines.push("the runs; the ratio is eval ÷ raw answers per minute. Tokens per decode shows both sides batch alike.");
lines.push(`Machine: ${machine.nproc} CPUs, ${machine.cpu}, ${machine.memGiB} GiB; load average ${loadStart.map((l) => l.toFixed(2)).join(" ")} at the start, ${loadEnd.map((l) => l.toFixed(2)).join(" ")} at the end.`);
if (busy) lines.push(`**The machine was shared with other jobs during this run (load average above 1 on 2 cores): wall-clock numbers are depressed and noisy; CPU ms per token is the steadier measure. Re-run in a quiet window before quoting.**`);
lines.push("");
lines.push("| model | answers (tokens) per run | context per sequence | streams at once / sequences / threads | eval answers/min | raw answers/min | eval ÷ raw (median) | each run | target ≥ 0.90 | CPU ms per answer eval / raw | CPU: raw ÷ eval | tokens per decode eval / raw |");
lines.push("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of results) {
  lines.push(
    `| ${r.model} | ${r.answers} (${r.tokens}) | ${r.ctx} | ${r.concurrency} / ${r.sequences} / ${r.threads} | ${r.evalPerMin.toFixed(0)} (${(r.evalPerMin / 2).toFixed(0)} questions/min) | ${r.rawPerMin.toFixed(0)} | ${r.ratio.toFixed(3)} | ${r.ratios.map((x) => x.toFixed(3)).join(", ")} | ${r.ratio >= TARGET ? "PASS" : "FAIL"} | ${r.evalCpuPerAnswer.toFixed(1)} / ${r.rawCpuPerAnswer.toFixed(1)} | ${(r.rawCpuPerAnswer / r.evalCpuPerAnswer).toFixed(3)} | ${r.evalPerDecode.toFixed(1)} / ${r.rawPerDecode.toFixed(1)} |`,
  );
}
lines.push("");
lines.push("Answers per minute count every answer of both configurations (questions/min = answers/min ÷ 2). CPU ms per answer is the");
lines.push("process's CPU time (all threads) divided by the answers: it holds up better than wall time when other jobs share the machine.");
lines.push("");
const block = lines.join("\n");
console.log(block);

const START = "<!-- evals-throughput:start -->";
const END = "<!-- evals-throughput:end -->";
let md = fs.existsSync(a.out!) ? fs.readFileSync(a.out!, "utf8") : "# Benchmarks\n\n";
const wrapped = `${START}\n${block}\n${END}`;
md = md.includes(START) && md.includes(END) ? md.slice(0, md.indexOf(START)) + wrapped + md.slice(md.indexOf(END) + END.length) : md.trimEnd() + "\n\n" + wrapped + "\n";
fs.writeFileSync(a.out!, md);
if (a.json) fs.writeFileSync(a.json, JSON.stringify({ started, loadStart, loadEnd, machine, results }, null, 1));
process.exit(0);
