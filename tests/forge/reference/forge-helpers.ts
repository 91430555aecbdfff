// Test helpers for the native trainer: byte-level tokenizer, ATDS writer, running the binary.
// Deliberately independent of server/forge/*.ts so the native engine is tested on its own.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
// ATELIER_FORGE_BIN runs the suite against another build, e.g. the sanitized one (npm run test:forge-asan).
export const FORGE = process.env.ATELIER_FORGE_BIN ? path.resolve(process.env.ATELIER_FORGE_BIN) : path.join(ROOT, "server/forge/native/build/atelier-forge");
export const SANITIZED = FORGE.endsWith("-asan");

export function ensureBuilt(): void {
  const args = [path.join(ROOT, "server/forge/native/build.mjs"), ...(SANITIZED ? ["--sanitize"] : [])];
  const r = spawnSync(process.execPath, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`native build failed:\n${r.stdout}\n${r.stderr}`);
}

export function tmpDir(prefix = "forge-test-"): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** GPT-2 bytes_to_unicode: the printable stand-in for each byte used by byte-level BPE vocabularies. */
export function gpt2ByteChars(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const out: string[] = new Array(256);
  bs.forEach((b, i) => (out[b] = String.fromCodePoint(cs[i]!)));
  return out;
}

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Byte-level vocabulary: 256 byte tokens then control tokens. */
export function byteTokenizer(extraSpecial: string[] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]) {
  const tokens = [...gpt2ByteChars(), ...extraSpecial];
  const token_type = tokens.map((_, i) => (i < 256 ? 1 : 3));
  const eos = 256 + Math.max(0, extraSpecial.indexOf("<|endoftext|>"));
  const imEnd = extraSpecial.indexOf("<|im_end|>");
  return {
    model: "gpt2",
    pre: "gpt-2",
    tokens,
    token_type,
    merges: [] as string[],
    bos_id: eos,
    eos_id: eos,
    eot_id: imEnd >= 0 ? 256 + imEnd : eos,
    pad_id: eos,
    chat_template: CHATML_TEMPLATE,
    add_bos: false,
  };
}

export function encodeBytes(text: string): number[] {
  return [...Buffer.from(text, "utf8")];
}

/** Write an ATDS file. rows: token arrays of exactly rowLen; masks: same shape, 1 = target. */
export function writeAtds(file: string, rows: number[][], masks: number[][]): void {
  const rowLen = rows[0]!.length;
  const n = rows.length;
  const buf = Buffer.alloc(16 + n * rowLen * 5);
  buf.write("ATDS", 0, "ascii");
  buf.writeUInt32LE(1, 4);
  buf.writeUInt32LE(rowLen, 8);
  buf.writeUInt32LE(n, 12);
  let o = 16;
  for (const r of rows) {
    if (r.length !== rowLen) throw new Error("ragged rows");
    for (const t of r) {
      buf.writeInt32LE(t, o);
      o += 4;
    }
  }
  for (const m of masks) for (const v of m) buf.writeUInt8(v, o++);
  writeFileSync(file, buf);
}

/** Deterministic PRNG (mulberry32) for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Rows cut from a token stream, every position after the first a target. */
export function streamRows(stream: number[], rowLen: number, nRows: number, offset = 0): { rows: number[][]; masks: number[][] } {
  const rows: number[][] = [];
  const masks: number[][] = [];
  for (let r = 0; r < nRows; r++) {
    const start = (offset + r * (rowLen - 1)) % Math.max(1, stream.length - rowLen);
    const row = stream.slice(start, start + rowLen);
    rows.push(row);
    masks.push(row.map((_, i) => (i === 0 ? 0 : 1)));
  }
  return { rows, masks };
}

export interface ForgeLine {
  type: string;
  [k: string]: unknown;
}

export function parseLines(stdout: string): ForgeLine[] {
  return stdout
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as ForgeLine);
}

export function runForge(args: string[], opts: { timeoutMs?: number } = {}): { code: number | null; lines: ForgeLine[]; stderr: string } {
  const r = spawnSync(FORGE, args, { encoding: "utf8", timeout: opts.timeoutMs ?? 120_000, maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, lines: parseLines(r.stdout ?? ""), stderr: r.stderr ?? "" };
}

export function train(config: object, dir: string): { code: number | null; lines: ForgeLine[]; stderr: string } {
  const cfgPath = path.join(dir, `run-${Date.now()}-${Math.floor(Math.random() * 1e6)}.json`);
  writeFileSync(cfgPath, JSON.stringify(config));
  return runForge(["train", "--config", cfgPath]);
}

/** Start training asynchronously (for kill/resume tests). */
export function trainAsync(config: object, dir: string) {
  const cfgPath = path.join(dir, `run-${Date.now()}.json`);
  writeFileSync(cfgPath, JSON.stringify(config));
  return spawn(FORGE, ["train", "--config", cfgPath], { stdio: ["ignore", "pipe", "pipe"] });
}

/** Small public-domain-ish training text, repeated with variations. */
export function sampleCorpus(): string {
  const lines = [
    "The quick brown fox jumps over the lazy dog.",
    "A journey of a thousand miles begins with a single step.",
    "To be or not to be, that is the question.",
    "All that glitters is not gold.",
    "The early bird catches the worm.",
    "Knowledge is power, and power is knowledge.",
    "Time flies like an arrow; fruit flies like a banana.",
    "Where there is a will, there is a way.",
  ];
  const r = rng(7);
  let s = "";
  for (let i = 0; i < 400; i++) s += lines[Math.floor(r() * lines.length)]! + " ";
  return s;
}
