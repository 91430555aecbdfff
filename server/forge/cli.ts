/**
 * atelier forge — training from the terminal.
 *   npx atelier forge train --mode lora --base m.gguf --data notes.md --data qa.jsonl --out adapter.gguf
 *   npx atelier forge train --mode scratch --data corpus.md --out tiny.gguf
 *   npx atelier forge resume --checkpoint-dir DIR
 *   npx atelier forge eval --model m.gguf [--lora a.gguf] --data held-out.atds|text.md|qa.jsonl
 *   npx atelier forge export --base m.gguf --lora a.gguf --out merged.gguf [--quant q8_0|q4_k_m]
 *   npx atelier forge quantize --in m.gguf --out q.gguf --type q8_0|q4_k_m|f16|bf16
 *   npx atelier forge starter [--threads N]
 * (equivalently: npm run forge -- <command> ...)
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { buildDataset } from "./data/build";
import { loadCorpusFile } from "./data/corpus";
import type { ChatRecord, TextDocument } from "./data/render";
import { forgeTokenizerFromBpe, forgeTokenizerFromModel, type ForgeTokenizer } from "./data/tokenizer";
import { ForgeError } from "./errors";
import { exportHfMerged, exportHfModel, exportPeftAdapter, type HfDtype } from "./export";
import { ProgressPrinter, fmtDuration } from "./progress";
import { trainBpe } from "./tokenizer/train";
import {
  evaluate,
  mergeLora,
  quantize,
  resumeTraining,
  startTraining,
  type QuantType,
  type TrainConfigInput,
  type TrainingRun,
} from "./trainer";

const HELP = `usage: atelier forge <command> [options]

train     --data FILE (repeatable: .txt/.md raw text, .jsonl chat records) --out FILE.gguf
          --mode lora|full|scratch (default lora) [--base MODEL.gguf (lora/full)]
          [--seq 512] [--batch 4] [--grad-accum 1] [--epochs 1 | --steps N] [--lr X] [--warmup N]
          [--eval-fraction 0.1] [--eval-every N] [--save-every N] [--seed 42] [--threads N]
          [--rank 8] [--alpha 16] [--targets attn_q,attn_k,attn_v,attn_output]   (lora)
          [--vocab 2000] [--embd 256] [--layers 4] [--heads 4] [--ff 768] [--ctx 512]   (scratch)
          [--out-type f32|f16] [--precision auto|f32|bf16] [--checkpointing auto|on|off]
          [--checkpoint-dir DIR] [--name NAME]
resume    --checkpoint-dir DIR          continue a stopped or crashed run
eval      --model M.gguf --data FILE [--lora A.gguf] [--seq 512]   held-out loss and perplexity
export    --base M.gguf --lora A.gguf --out OUT.gguf [--quant q8_0|q4_k_m] [--type f16|f32]
          --model M.gguf --out OUT.gguf --quant q8_0|q4_k_m            (quantize only)
          --format hf --model M.gguf --out DIR [--dtype f32|f16|bf16]   Hugging Face model (safetensors,
                                                                     config.json, tokenizer files)
          --format hf --base M.gguf --lora A.gguf --out DIR          the LoRA merged into its base, as above
          --format hf --peft --base M.gguf --lora A.gguf --out DIR   the LoRA as a PEFT adapter
quantize  --in M.gguf --out OUT.gguf --type q8_0|q4_k_m|f16|bf16
starter   [--threads N] [--epochs N]    rebuild models/starter/atelier-starter.gguf
`;

type Args = { _: string[]; flags: Map<string, string[]> };

export function parseCliArgs(argv: string[]): Args {
  const flags = new Map<string, string[]>();
  const _: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) {
      _.push(a);
      continue;
    }
    let key = a.slice(2);
    let value: string;
    const eq = key.indexOf("=");
    if (eq >= 0) {
      value = key.slice(eq + 1);
      key = key.slice(0, eq);
    } else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) value = argv[++i]!;
    else value = "true";
    flags.set(key, [...(flags.get(key) ?? []), value]);
  }
  return { _, flags };
}

class Flags {
  private used = new Set<string>();
  constructor(private readonly args: Args) {}
  str(k: string): string | undefined {
    this.used.add(k);
    const v = this.args.flags.get(k);
    return v?.[v.length - 1];
  }
  req(k: string): string {
    const v = this.str(k);
    if (v === undefined || v === "true") throw new ForgeError("BAD_CONFIG", `--${k} is required (see \`atelier forge help\`)`);
    return v;
  }
  all(k: string): string[] {
    this.used.add(k);
    return this.args.flags.get(k) ?? [];
  }
  num(k: string): number | undefined {
    const v = this.str(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new ForgeError("BAD_CONFIG", `--${k} must be a number (got ${v})`);
    return n;
  }
  bool(k: string): boolean {
    const v = this.str(k);
    return v !== undefined && v !== "false";
  }
  /** rejects options the command does not know (call first, with every option it reads) */
  allow(...known: string[]) {
    for (const k of known) this.used.add(k);
    this.checkUnknown();
  }
  checkUnknown() {
    const unknown = [...this.args.flags.keys()].filter((k) => !this.used.has(k));
    if (unknown.length) throw new ForgeError("BAD_CONFIG", `unknown option${unknown.length > 1 ? "s" : ""}: ${unknown.map((k) => `--${k}`).join(", ")}`);
  }
}

function loadData(files: string[]): { documents: TextDocument[]; chats: ChatRecord[] } {
  if (files.length === 0) throw new ForgeError("BAD_CONFIG", "give at least one --data file");
  const documents: TextDocument[] = [];
  const chats: ChatRecord[] = [];
  for (const f of files) {
    if (!existsSync(f)) throw new ForgeError("IO", `data file ${f} does not exist`);
    const d = loadCorpusFile(f);
    documents.push(...d.documents);
    chats.push(...d.chats);
  }
  return { documents, chats };
}

const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

async function follow(run: TrainingRun, label: string) {
  const printer = new ProgressPrinter({ label });
  let interrupted = 0;
  const onSig = () => {
    interrupted++;
    if (interrupted === 1) {
      printer.line(`${label}: stopping after the current step (Ctrl+C again to kill)…`);
      run.stop();
    } else run.kill();
  };
  process.on("SIGINT", onSig);
  process.on("SIGTERM", onSig);
  try {
    for await (const ev of run.progress) printer.event(ev);
    return await run.done;
  } finally {
    printer.finish();
    process.off("SIGINT", onSig);
    process.off("SIGTERM", onSig);
  }
}

function precision(v: string): "f32" | "bf16" | "auto" {
  if (v !== "f32" && v !== "bf16" && v !== "auto") throw new ForgeError("BAD_CONFIG", `--precision must be auto, f32 or bf16 (got ${v})`);
  return v;
}

async function cmdTrain(f: Flags) {
  f.allow(
    "mode", "out", "data", "seq", "batch", "seed", "checkpoint-dir", "base", "vocab", "embd", "layers", "heads", "ff", "ctx",
    "eval-fraction", "threads", "rank", "alpha", "dropout", "targets", "resume", "name", "grad-accum", "epochs", "steps", "lr",
    "min-lr-ratio", "warmup", "weight-decay", "grad-clip", "eval-every", "save-every", "out-type", "precision", "checkpointing",
  );
  const mode = (f.str("mode") ?? "lora") as "lora" | "full" | "scratch";
  if (!["lora", "full", "scratch"].includes(mode)) throw new ForgeError("BAD_CONFIG", "--mode must be lora, full or scratch");
  const out = path.resolve(f.req("out"));
  const data = loadData(f.all("data"));
  const seqLen = f.num("seq") ?? 512;
  const batch = f.num("batch") ?? 4;
  const seed = f.num("seed") ?? 42;
  const checkpointDir = path.resolve(f.str("checkpoint-dir") ?? out.replace(/\.gguf$/, "") + ".forge");
  const base = mode === "scratch" ? undefined : path.resolve(f.req("base"));

  let tok: ForgeTokenizer;
  let scratch: Pick<TrainConfigInput, "model" | "tokenizer"> = {};
  let dispose = async () => {};
  if (mode === "scratch") {
    const texts = [...data.documents.map((d) => d.text), ...data.chats.flatMap((c) => [c.system ?? "", ...c.messages.map((m) => m.content)])];
    const bpe = trainBpe(texts, { vocabSize: f.num("vocab") ?? 2000 });
    tok = forgeTokenizerFromBpe(bpe);
    const embd = f.num("embd") ?? 256;
    scratch = {
      tokenizer: bpe.data,
      model: {
        n_vocab: bpe.vocabSize,
        n_embd: embd,
        n_layer: f.num("layers") ?? 4,
        n_head: f.num("heads") ?? Math.max(1, Math.round(embd / 64)),
        n_ff: f.num("ff") ?? embd * 3,
        n_ctx: f.num("ctx") ?? Math.max(seqLen, 512),
      },
    };
    console.log(`tokenizer: ${bpe.vocabSize} tokens (${bpe.data.merges.length} merges)`);
  } else {
    if (!existsSync(base!)) throw new ForgeError("IO", `base model ${base} does not exist`);
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath: base!, vocabOnly: true });
    tok = forgeTokenizerFromModel(model);
    dispose = () => model.dispose();
    console.log(`tokenizer: ${path.basename(base!)} (${tok.chatWrapper.wrapperName} chat format)`);
  }
  mkdirSync(checkpointDir, { recursive: true });
  const trainPath = path.join(checkpointDir, "train.atds");
  const evalPath = path.join(checkpointDir, "eval.atds");
  const ds = buildDataset({
    tokenizer: tok,
    seqLen,
    ...data,
    evalFraction: f.num("eval-fraction") ?? 0.1,
    seed,
    batch,
    trainPath,
    evalPath,
  });
  await dispose();
  console.log(
    `dataset: ${ds.train.nRows} train rows × ${seqLen + 1} tokens (${ds.stats.train.targets} targets), ` +
      `${ds.eval?.nRows ?? 0} held-out rows` + (ds.stats.train.truncated ? `, ${ds.stats.train.truncated} long samples truncated` : ""),
  );

  let before: number | null = null;
  if (base && ds.eval) {
    const r = await evaluate({ model: base, data: evalPath, ...defined({ threads: f.num("threads") }) });
    before = r.ppl;
    console.log(`held-out before training: loss ${r.loss.toFixed(4)}, ppl ${r.ppl.toFixed(2)}`);
  }

  const rank = f.num("rank") ?? 8;
  const config: TrainConfigInput = {
    mode,
    out,
    checkpointDir,
    train: trainPath,
    ...(ds.eval ? { eval: evalPath } : {}),
    ...(base ? { base } : {}),
    ...scratch,
    ...(mode === "lora"
      ? { lora: { rank, alpha: f.num("alpha") ?? rank * 2, dropout: f.num("dropout") ?? 0, ...defined({ targets: f.str("targets")?.split(",") }) } }
      : {}),
    batch,
    seed,
    resume: f.bool("resume"),
    ...defined({
      name: f.str("name"),
      grad_accum: f.num("grad-accum"),
      epochs: f.num("epochs"),
      steps: f.num("steps"),
      lr: f.num("lr"),
      min_lr_ratio: f.num("min-lr-ratio"),
      warmup_steps: f.num("warmup"),
      weight_decay: f.num("weight-decay"),
      grad_clip: f.num("grad-clip"),
      eval_every: f.num("eval-every"),
      save_every: f.num("save-every") ?? 100,
      threads: f.num("threads"),
      out_type: f.str("out-type") as "f32" | "f16" | undefined,
      checkpointing: f.str("checkpointing") as "auto" | "on" | "off" | undefined,
    }),
    // the CLI takes the fastest exact-enough path by default; run.json's default stays f32
    precision: precision(f.str("precision") ?? "auto"),
  };
  const result = await follow(startTraining(config), "train");
  reportResult(result, before);
}

function reportResult(result: Awaited<TrainingRun["done"]>, before: number | null) {
  if (result.evalPpl != null && before != null) {
    const change = ((before - result.evalPpl) / before) * 100;
    console.log(`held-out perplexity: ${before.toFixed(2)} → ${result.evalPpl.toFixed(2)} (${change >= 0 ? "−" : "+"}${Math.abs(change).toFixed(1)}%)`);
  }
  if (result.status === "stopped") console.log(`stopped; resume with: atelier forge resume --checkpoint-dir ${result.checkpointDir}`);
}

async function cmdResume(f: Flags) {
  const dir = path.resolve(f.req("checkpoint-dir"));
  f.checkUnknown();
  const result = await follow(resumeTraining(dir), "train");
  reportResult(result, null);
}

async function cmdEval(f: Flags) {
  const model = path.resolve(f.req("model"));
  const lora = f.str("lora");
  const files = f.all("data");
  const seqLen = f.num("seq") ?? 512;
  const threads = f.num("threads");
  f.checkUnknown();
  let data: string;
  let cleanup = () => {};
  if (files.length === 1 && files[0]!.endsWith(".atds")) data = path.resolve(files[0]!);
  else {
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
    const m = await llama.loadModel({ modelPath: model, vocabOnly: true });
    const tmp = path.join(os.tmpdir(), `atelier-eval-${process.pid}`);
    data = path.join(tmp, "eval.atds");
    // everything is evaluation data here: no split
    buildDataset({ tokenizer: forgeTokenizerFromModel(m), seqLen, ...loadData(files), evalFraction: 0, trainPath: data });
    await m.dispose();
    cleanup = () => rmSync(tmp, { recursive: true, force: true });
  }
  try {
    const r = await evaluate({ model, data, ...defined({ lora: lora && path.resolve(lora), threads }) });
    console.log(`loss ${r.loss.toFixed(4)}  ppl ${r.ppl.toFixed(3)}  (${r.tokens} tokens)`);
  } finally {
    cleanup();
  }
}

async function cmdExportHf(f: Flags) {
  const out = path.resolve(f.req("out"));
  const dtype = f.str("dtype") as HfDtype | undefined;
  if (dtype && !["f32", "f16", "bf16"].includes(dtype)) throw new ForgeError("BAD_CONFIG", "--dtype must be f32, f16 or bf16");
  const lora = f.str("lora");
  const peft = f.bool("peft");
  let r: { out: string; files: string[] };
  if (peft || lora) {
    if (!lora) throw new ForgeError("BAD_CONFIG", "--peft needs --lora (and --base)");
    const base = path.resolve(f.req("base"));
    f.checkUnknown();
    r = peft
      ? await exportPeftAdapter({ base, lora: path.resolve(lora), out, ...defined({ dtype }) })
      : await exportHfMerged({ base, lora: path.resolve(lora), out, ...defined({ dtype }) });
  } else {
    const model = path.resolve(f.req("model"));
    f.checkUnknown();
    r = await exportHfModel({ model, out, ...defined({ dtype }) });
  }
  console.log(`exported ${r.out}: ${r.files.join(", ")}`);
}

async function cmdExport(f: Flags) {
  const format = f.str("format") ?? "gguf";
  if (format === "hf") return cmdExportHf(f);
  if (format !== "gguf") throw new ForgeError("BAD_CONFIG", "--format must be gguf (default) or hf");
  const out = path.resolve(f.req("out"));
  const quant = f.str("quant") as QuantType | undefined;
  const lora = f.str("lora");
  const type = f.str("type") as "f16" | "f32" | undefined;
  if (quant && !["q8_0", "q4_k_m", "f16", "bf16"].includes(quant)) throw new ForgeError("BAD_CONFIG", "--quant must be q8_0, q4_k_m, f16 or bf16");
  if (lora) {
    const base = f.req("base");
    f.checkUnknown();
    const merged = quant ? out.replace(/\.gguf$/, "") + ".merged.tmp.gguf" : out;
    await mergeLora({ base, lora, out: merged, ...defined({ type }) });
    if (quant) {
      await quantize({ in: merged, out, type: quant });
      rmSync(merged, { force: true });
    }
  } else {
    const model = f.req("model");
    f.checkUnknown();
    if (!quant) throw new ForgeError("BAD_CONFIG", "give --lora (merge) and/or --quant");
    await quantize({ in: model, out, type: quant });
  }
  console.log(`exported ${out}`);
}

async function cmdQuantize(f: Flags) {
  f.allow("in", "out", "type", "threads");
  const type = f.req("type") as QuantType;
  const r = await quantize({ in: f.req("in"), out: f.req("out"), type, ...defined({ threads: f.num("threads") }) });
  console.log(`quantized → ${r.out} (${r.type})`);
}

export async function main(argv: string[]): Promise<number> {
  const args = parseCliArgs(argv);
  const [cmd] = args._;
  const f = new Flags(args);
  const t0 = Date.now();
  try {
    switch (cmd) {
      case "train": await cmdTrain(f); break;
      case "resume": await cmdResume(f); break;
      case "eval": await cmdEval(f); break;
      case "export": await cmdExport(f); break;
      case "quantize": await cmdQuantize(f); break;
      case "starter": {
        const { craftStarterCli } = await import("./starter/craft");
        await craftStarterCli(argv.slice(1));
        break;
      }
      case undefined:
      case "help":
        process.stdout.write(HELP);
        return 0;
      default:
        process.stderr.write(`unknown command "${cmd}"\n\n${HELP}`);
        return 2;
    }
    if (cmd !== "starter") console.log(`(${fmtDuration((Date.now() - t0) / 1000)})`);
    return 0;
  } catch (err) {
    if (err instanceof ForgeError) {
      process.stderr.write(`error ${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
