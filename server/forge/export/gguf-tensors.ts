import fs from "node:fs/promises";
import { readGgufFileInfo } from "node-llama-cpp";
import { ForgeError } from "../errors";

/*
 * A GGUF's metadata and its tensors as float32, read tensor by tensor (a big model is never in
 * memory at once). Dense types (F32, F16, BF16) and Q8_0 are read; K-quants are refused with the
 * way out (export from an F16/F32 GGUF; `atelier forge export --lora` merges to F32 first).
 * Shapes are ggml's `ne` (fastest dimension first); the row-major data of a tensor with ne
 * [cols, rows] is exactly a torch tensor of shape [rows, cols].
 */

export type GgufTensorRef = { name: string; ne: number[]; type: number; fileOffset: number };
export type GgufModel = { path: string; metadata: Record<string, unknown>; tensors: Map<string, GgufTensorRef> };

const F32 = 0;
const F16 = 1;
const Q8_0 = 8;
const BF16 = 30;
const TYPE_NAMES: Record<number, string> = { 0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 30: "BF16" };

export async function openGguf(filePath: string): Promise<GgufModel> {
  let info;
  try {
    info = await readGgufFileInfo(filePath, { sourceType: "filesystem", logWarnings: false });
  } catch (err) {
    throw new ForgeError("IO", `${filePath} is not a readable GGUF file: ${(err as Error).message}`);
  }
  const tensors = new Map<string, GgufTensorRef>();
  for (const t of info.fullTensorInfo ?? []) {
    tensors.set(t.name, { name: t.name, ne: t.dimensions.map(Number), type: t.ggmlType, fileOffset: Number(t.fileOffset) });
  }
  return { path: filePath, metadata: info.metadata as unknown as Record<string, unknown>, tensors };
}

/** A metadata value by dotted key (`llama.attention.head_count`), or undefined. */
export function meta(model: GgufModel, key: string): unknown {
  let v: unknown = model.metadata;
  for (const part of key.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const elements = (ne: number[]) => ne.reduce((a, b) => a * b, 1);

function byteSize(t: GgufTensorRef): number {
  const n = elements(t.ne);
  if (t.type === F32) return n * 4;
  if (t.type === F16 || t.type === BF16) return n * 2;
  if (t.type === Q8_0) return (n / 32) * 34;
  throw new ForgeError(
    "BAD_CONFIG",
    `tensor ${t.name} is ${TYPE_NAMES[t.type] ?? `type ${t.type}`}; Hugging Face export reads F32, F16, BF16 and Q8_0. Export from the F16/F32 GGUF the model was quantized from.`,
  );
}

/** IEEE half → float. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

const HALF_TABLE = (() => {
  const t = new Float32Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = halfToFloat(i);
  return t;
})();

/** The tensor's values as float32, in ggml's row-major order. */
export async function readTensor(model: GgufModel, name: string): Promise<Float32Array> {
  const t = model.tensors.get(name);
  if (!t) throw new ForgeError("BAD_CONFIG", `${model.path} has no tensor ${name}`);
  const bytes = byteSize(t);
  const buf = Buffer.alloc(bytes);
  const fh = await fs.open(model.path, "r");
  try {
    const { bytesRead } = await fh.read(buf, 0, bytes, t.fileOffset);
    if (bytesRead !== bytes) throw new ForgeError("IO", `${model.path} is truncated inside tensor ${name}`);
  } finally {
    await fh.close();
  }
  const n = elements(t.ne);
  const out = new Float32Array(n);
  if (t.type === F32) {
    for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(i * 4);
  } else if (t.type === F16) {
    for (let i = 0; i < n; i++) out[i] = HALF_TABLE[buf.readUInt16LE(i * 2)]!;
  } else if (t.type === BF16) {
    const u = new Uint32Array(1);
    const f = new Float32Array(u.buffer);
    for (let i = 0; i < n; i++) {
      u[0] = buf.readUInt16LE(i * 2) << 16;
      out[i] = f[0]!;
    }
  } else {
    // Q8_0: blocks of 32 int8 with one f16 scale in front
    for (let b = 0; b < n / 32; b++) {
      const d = HALF_TABLE[buf.readUInt16LE(b * 34)]!;
      for (let j = 0; j < 32; j++) out[b * 32 + j] = d * buf.readInt8(b * 34 + 2 + j);
    }
  }
  return out;
}

/** The dense type the weights are mostly stored in (for the export's default dtype). */
export function dominantDenseType(model: GgufModel): "f32" | "f16" | "bf16" {
  const counts = new Map<number, number>();
  for (const t of model.tensors.values()) counts.set(t.type, (counts.get(t.type) ?? 0) + elements(t.ne));
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  return top === F32 ? "f32" : top === BF16 ? "bf16" : "f16";
}
