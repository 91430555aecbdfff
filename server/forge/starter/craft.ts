/**
 * `npm run starter` — builds models/starter/atelier-starter.gguf (+ .json) from the corpus in
 * server/forge/starter/corpus, deterministically (fixed seed, fixed thread count):
 *   1. train the byte-level BPE tokenizer on the corpus
 *   2. render the chat records with ChatML (the template embedded in the GGUF) and pack them
 *   3. train from scratch with the native trainer (atelier-forge)
 *   4. verify the GGUF in node-llama-cpp (tokenizer parity, chat wrapper) and record sample answers
 *
 * Flags: --threads N (default 1, recorded in the meta; changes float rounding), --epochs N,
 *        --out FILE (default models/starter/atelier-starter.gguf), --no-samples
 */
import { copyFileSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { getLlama, LlamaChat, LlamaLogLevel, type ChatHistoryItem } from "node-llama-cpp";
import { buildDataset } from "../data/build";
import { forgeTokenizerFromBpe } from "../data/tokenizer";
import { ForgeError } from "../errors";
import { ProgressPrinter, fmtDuration } from "../progress";
import { trainBpe } from "../tokenizer/train";
import { startTraining, type ProgressEvent } from "../trainer";
import {
  RECIPE_VERSION,
  STARTER_MODEL,
  STARTER_PATHS,
  STARTER_SEED,
  STARTER_SYSTEM_PROMPT,
  STARTER_TOKENIZER,
  STARTER_TRAINING,
  loadStarterCorpus,
  sha256File,
  starterRecords,
  starterTokenizerCorpus,
  type StarterMeta,
} from "./recipe";

export const STARTER_DEFAULT_THREADS = 1;

export const SAMPLE_QUESTIONS = [
  "What is Atelier?",
  "How do I add a model?",
  "How do I embed the widget on my website?",
  "What is held-out perplexity?",
  "Hello!",
  "What is the capital of France?",
];

export interface CraftOptions {
  threads?: number;
  epochs?: number;
  out?: string;
  samples?: boolean;
  onEvent?: (ev: ProgressEvent) => void;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export async function craftStarter(opts: CraftOptions = {}): Promise<StarterMeta> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const threads = opts.threads ?? STARTER_DEFAULT_THREADS;
  const training = { ...STARTER_TRAINING, ...(opts.epochs ? { epochs: opts.epochs } : {}) };
  const outFile = path.resolve(opts.out ?? STARTER_PATHS.gguf());
  const metaFile = outFile.replace(/\.gguf$/, "") + ".json";
  const work = STARTER_PATHS.work();
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });

  // 1. corpus + tokenizer
  const corpus = loadStarterCorpus();
  const records = starterRecords(corpus);
  const tokenizer = trainBpe(starterTokenizerCorpus(corpus), STARTER_TOKENIZER);
  log(`starter: corpus ${corpus.files.join(", ")} (${corpus.topics.length} topics, ${records.train.length} training + ${records.eval.length} held-out chat records); tokenizer ${tokenizer.vocabSize} tokens`);

  // 2. dataset
  const trainPath = path.join(work, "train.atds");
  const evalPath = path.join(work, "eval.atds");
  const forgeTok = forgeTokenizerFromBpe(tokenizer);
  const trainDs = buildDataset({
    tokenizer: forgeTok,
    seqLen: training.seq_len,
    chats: records.train,
    documents: corpus.documents,
    evalFraction: 0,
    batch: training.batch,
    // one packing per epoch: every record meets different neighbours and opens a row sometimes,
    // i.e. is also trained at position 0, the way serving starts a chat
    repackings: training.epochs,
    trainPath,
  });
  const evalDs = buildDataset({ tokenizer: forgeTok, seqLen: training.seq_len, chats: records.eval, evalFraction: 0, trainPath: evalPath });
  const ds = { train: trainDs.train, eval: evalDs.train, stats: { train: trainDs.stats.train, eval: evalDs.stats.train } };
  log(
    `starter: train ${ds.train.nRows} rows = ${training.epochs} packings (${ds.stats.train.targets} target tokens), ` +
      `held out ${ds.eval?.nRows ?? 0} rows (${ds.stats.eval?.targets ?? 0} target tokens)`,
  );

  // 3. train
  const { seq_len: _seq, eval_fraction: _frac, epochs: _epochs, ...hyper } = training;
  void _seq;
  void _frac;
  void _epochs;
  const tmpOut = path.join(work, "atelier-starter.gguf");
  const run = startTraining(
    {
      mode: "scratch",
      name: "Atelier starter",
      out: tmpOut,
      checkpointDir: path.join(work, "checkpoint"),
      train: trainPath,
      ...(ds.eval ? { eval: evalPath } : {}),
      model: { ...STARTER_MODEL, n_vocab: tokenizer.vocabSize },
      tokenizer: tokenizer.data,
      seed: STARTER_SEED,
      threads,
      ...hyper,
      epochs: 1, // over the repacked file (training.epochs passes)
    },
    { ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  let params: number | null = null;
  let steps = 0;
  for await (const ev of run.progress) {
    if (ev.type === "start") {
      params = ev.params ?? null;
      steps = ev.steps;
    }
    opts.onEvent?.(ev);
  }
  const result = await run.done;
  if (result.status !== "done") throw new ForgeError("ABORTED", "starter training was stopped before it finished");

  mkdirSync(path.dirname(outFile), { recursive: true });
  try {
    renameSync(tmpOut, outFile);
  } catch {
    copyFileSync(tmpOut, outFile); // across file systems
  }

  // 4. verify in node-llama-cpp + samples
  const samples = await verifyStarter(outFile, tokenizer, { samples: opts.samples ?? true, corpusTexts: starterTokenizerCorpus(corpus) });

  const meta: StarterMeta = {
    recipeVersion: RECIPE_VERSION,
    seed: STARTER_SEED,
    corpusHash: corpus.hash,
    corpusFiles: corpus.files,
    createdAt: new Date().toISOString(),
    gguf: { file: path.basename(outFile), bytes: statSync(outFile).size, sha256: sha256File(outFile) },
    tokenizer: { vocabSize: tokenizer.vocabSize, merges: tokenizer.data.merges.length, pre: tokenizer.data.pre },
    model: { ...STARTER_MODEL, n_vocab: tokenizer.vocabSize, params },
    training: {
      ...training,
      threads,
      steps,
      trainRows: ds.train.nRows,
      evalRows: ds.eval?.nRows ?? 0,
      trainTargets: ds.stats.train.targets,
      evalTargets: ds.stats.eval?.targets ?? 0,
    },
    results: { trainLoss: result.trainLoss, evalLoss: result.evalLoss, evalPpl: result.evalPpl, seconds: Math.round(result.seconds * 10) / 10 },
    systemPrompt: STARTER_SYSTEM_PROMPT,
    ...(samples.length ? { samples } : {}),
    tools: { node: process.version, nodeLlamaCpp: await nodeLlamaCppVersion() },
  };
  writeFileSync(metaFile, JSON.stringify(meta, null, 2) + "\n");
  rmSync(work, { recursive: true, force: true });
  return meta;
}

async function nodeLlamaCppVersion(): Promise<string> {
  try {
    const { createRequire } = await import("node:module");
    const require = createRequire(import.meta.url);
    return (require("node-llama-cpp/package.json") as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** Loads the GGUF in node-llama-cpp: checks tokenizer parity and ChatML resolution, then answers sample questions greedily. */
export async function verifyStarter(
  file: string,
  tokenizer: ReturnType<typeof trainBpe>,
  opts: { samples: boolean; corpusTexts: string[] },
): Promise<{ question: string; answer: string }[]> {
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  try {
    for (const text of opts.corpusTexts) {
      const a = tokenizer.encode(text);
      const b = model.tokenize(text);
      if (a.length !== b.length || a.some((t, i) => t !== b[i]))
        throw new Error(`tokenizer mismatch between our BPE and llama.cpp on ${JSON.stringify(text.slice(0, 60))}`);
    }
    if (!opts.samples) return [];
    const context = await model.createContext({ contextSize: STARTER_MODEL.n_ctx, sequences: 1, threads: 1 });
    const out: { question: string; answer: string }[] = [];
    try {
      const chat = new LlamaChat({ contextSequence: context.getSequence() });
      if (chat.chatWrapper.wrapperName !== "ChatML") throw new Error(`expected the ChatML chat wrapper, got ${chat.chatWrapper.wrapperName}`);
      for (const question of SAMPLE_QUESTIONS) {
        const history: ChatHistoryItem[] = [
          { type: "system", text: STARTER_SYSTEM_PROMPT },
          { type: "user", text: question },
          { type: "model", response: [] },
        ];
        const r = await chat.generateResponse(history, { maxTokens: 160, temperature: 0 });
        out.push({ question, answer: r.response });
      }
      chat.dispose();
    } finally {
      await context.dispose();
    }
    return out;
  } finally {
    await model.dispose();
  }
}

function parseArgs(argv: string[]) {
  const o: { threads?: number; epochs?: number; out?: string; samples?: boolean } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--threads") o.threads = Number(next());
    else if (a === "--epochs") o.epochs = Number(next());
    else if (a === "--out") o.out = next();
    else if (a === "--no-samples") o.samples = false;
    else throw new Error(`unknown flag ${a}`);
  }
  return o;
}

export async function craftStarterCli(argv: string[], label = "starter") {
  const printer = new ProgressPrinter({ label });
  const ac = new AbortController();
  const onSig = () => ac.abort();
  process.once("SIGINT", onSig);
  process.once("SIGTERM", onSig);
  const t0 = Date.now();
  try {
    const meta = await craftStarter({
      ...parseArgs(argv),
      signal: ac.signal,
      onEvent: (ev) => printer.event(ev),
      log: (l) => printer.line(l),
    });
    printer.finish();
    console.log(
      `${label}: wrote ${meta.gguf.file} (${(meta.gguf.bytes / 2 ** 20).toFixed(1)} MiB, sha256 ${meta.gguf.sha256.slice(0, 12)}…) in ${fmtDuration((Date.now() - t0) / 1000)}; ` +
        `eval ppl ${meta.results.evalPpl?.toFixed(2) ?? "—"}`,
    );
    for (const s of meta.samples ?? []) console.log(`  Q: ${s.question}\n  A: ${s.answer}`);
    return meta;
  } finally {
    process.off("SIGINT", onSig);
    process.off("SIGTERM", onSig);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  craftStarterCli(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof ForgeError ? `starter: ${err.code}: ${err.message}` : err);
    process.exit(1);
  });
}
