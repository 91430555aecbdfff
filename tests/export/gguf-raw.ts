import fs from "node:fs";

/*
 * A byte-level GGUF v3 reader/writer for test fixtures (keeps each key's value type, so a
 * rewritten file is what llama.cpp expects). Used to derive a tiny qwen2 model from the starter.
 */

type Kv = { key: string; type: number; value: unknown };
export type RawTensor = { name: string; ne: bigint[]; type: number; data: Buffer };
export type RawGguf = { kv: Kv[]; tensors: RawTensor[]; alignment: number };

const SCALAR: Record<number, [number, (b: Buffer, o: number) => unknown, (v: unknown) => Buffer]> = {
  0: [1, (b, o) => b.readUInt8(o), (v) => Buffer.from([v as number])],
  1: [1, (b, o) => b.readInt8(o), (v) => { const x = Buffer.alloc(1); x.writeInt8(v as number); return x; }],
  2: [2, (b, o) => b.readUInt16LE(o), (v) => { const x = Buffer.alloc(2); x.writeUInt16LE(v as number); return x; }],
  3: [2, (b, o) => b.readInt16LE(o), (v) => { const x = Buffer.alloc(2); x.writeInt16LE(v as number); return x; }],
  4: [4, (b, o) => b.readUInt32LE(o), (v) => { const x = Buffer.alloc(4); x.writeUInt32LE(v as number); return x; }],
  5: [4, (b, o) => b.readInt32LE(o), (v) => { const x = Buffer.alloc(4); x.writeInt32LE(v as number); return x; }],
  6: [4, (b, o) => b.readFloatLE(o), (v) => { const x = Buffer.alloc(4); x.writeFloatLE(v as number); return x; }],
  7: [1, (b, o) => b.readUInt8(o) !== 0, (v) => Buffer.from([v ? 1 : 0])],
  10: [8, (b, o) => b.readBigUInt64LE(o), (v) => { const x = Buffer.alloc(8); x.writeBigUInt64LE(BigInt(v as bigint)); return x; }],
  11: [8, (b, o) => b.readBigInt64LE(o), (v) => { const x = Buffer.alloc(8); x.writeBigInt64LE(BigInt(v as bigint)); return x; }],
  12: [8, (b, o) => b.readDoubleLE(o), (v) => { const x = Buffer.alloc(8); x.writeDoubleLE(v as number); return x; }],
};

const TYPE_BYTES: Record<number, number> = { 0: 4, 1: 2, 30: 2 };

export function readRawGguf(path: string): RawGguf {
  const b = fs.readFileSync(path);
  let o = 0;
  const u32 = () => { const v = b.readUInt32LE(o); o += 4; return v; };
  const u64 = () => { const v = b.readBigUInt64LE(o); o += 8; return v; };
  const str = () => { const n = Number(u64()); const s = b.toString("utf8", o, o + n); o += n; return s; };
  const value = (type: number): unknown => {
    if (type === 8) return str();
    if (type === 9) {
      const et = u32();
      const n = Number(u64());
      const items = [];
      for (let i = 0; i < n; i++) items.push(value(et));
      return { et, items };
    }
    const [size, read] = SCALAR[type]!;
    const v = read(b, o);
    o += size;
    return v;
  };
  if (b.toString("ascii", 0, 4) !== "GGUF") throw new Error(`${path} is not GGUF`);
  o = 4;
  const version = u32();
  if (version !== 3) throw new Error(`GGUF v${version}`);
  const nTensors = Number(u64());
  const nKv = Number(u64());
  const kv: Kv[] = [];
  for (let i = 0; i < nKv; i++) {
    const key = str();
    const type = u32();
    kv.push({ key, type, value: value(type) });
  }
  const alignment = Number(kv.find((k) => k.key === "general.alignment")?.value ?? 32);
  const infos = [];
  for (let i = 0; i < nTensors; i++) {
    const name = str();
    const nd = u32();
    const ne = Array.from({ length: nd }, () => u64());
    infos.push({ name, ne, type: u32(), offset: Number(u64()) });
  }
  const dataStart = Math.ceil(o / alignment) * alignment;
  const tensors = infos.map((t) => {
    const n = t.ne.reduce((a, c) => a * Number(c), 1);
    const bytes = n * (TYPE_BYTES[t.type] ?? NaN);
    if (!Number.isFinite(bytes)) throw new Error(`fixture reader: tensor type ${t.type}`);
    return { name: t.name, ne: t.ne, type: t.type, data: b.subarray(dataStart + t.offset, dataStart + t.offset + bytes) };
  });
  return { kv, tensors, alignment };
}

export function writeRawGguf(path: string, g: RawGguf): void {
  const parts: Buffer[] = [];
  const u32 = (v: number) => { const x = Buffer.alloc(4); x.writeUInt32LE(v); parts.push(x); };
  const u64 = (v: number | bigint) => { const x = Buffer.alloc(8); x.writeBigUInt64LE(BigInt(v)); parts.push(x); };
  const str = (s: string) => { const x = Buffer.from(s, "utf8"); u64(x.length); parts.push(x); };
  const value = (type: number, v: unknown) => {
    if (type === 8) return str(v as string);
    if (type === 9) {
      const { et, items } = v as { et: number; items: unknown[] };
      u32(et);
      u64(items.length);
      for (const it of items) value(et, it);
      return;
    }
    parts.push(SCALAR[type]![2](v));
  };
  parts.push(Buffer.from("GGUF", "ascii"));
  u32(3);
  u64(g.tensors.length);
  u64(g.kv.length);
  for (const k of g.kv) {
    str(k.key);
    u32(k.type);
    value(k.type, k.value);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of g.tensors) {
    offsets.push(offset);
    offset = Math.ceil((offset + t.data.length) / g.alignment) * g.alignment;
  }
  g.tensors.forEach((t, i) => {
    str(t.name);
    u32(t.ne.length);
    for (const d of t.ne) u64(d);
    u32(t.type);
    u64(offsets[i]!);
  });
  let head = Buffer.concat(parts);
  head = Buffer.concat([head, Buffer.alloc(Math.ceil(head.length / g.alignment) * g.alignment - head.length)]);
  const body = Buffer.alloc(offset);
  g.tensors.forEach((t, i) => t.data.copy(body, offsets[i]!));
  fs.writeFileSync(path, Buffer.concat([head, body]));
}

/** The starter turned into a qwen2 model: same weights, q/k/v biases added (seeded), tied output head. */
export function deriveQwen2(starter: string, out: string, seed = 11): void {
  const g = readRawGguf(starter);
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  g.kv = g.kv.map((k) => ({
    ...k,
    key: k.key.startsWith("llama.") ? `qwen2.${k.key.slice(6)}` : k.key,
    value: k.key === "general.architecture" ? "qwen2" : k.value,
  }));
  const get = (key: string) => Number(g.kv.find((k) => k.key === key)!.value);
  const heads = get("qwen2.attention.head_count");
  const kvHeads = get("qwen2.attention.head_count_kv");
  const embd = get("qwen2.embedding_length");
  const hd = embd / heads;
  const bias = (name: string, n: number): RawTensor => {
    const data = Buffer.alloc(n * 4);
    for (let i = 0; i < n; i++) data.writeFloatLE(0.2 * rand(), i * 4);
    return { name, ne: [BigInt(n)], type: 0, data };
  };
  const layers = get("qwen2.block_count");
  g.tensors = g.tensors.filter((t) => t.name !== "output.weight");
  for (let l = 0; l < layers; l++) {
    g.tensors.push(bias(`blk.${l}.attn_q.bias`, heads * hd), bias(`blk.${l}.attn_k.bias`, kvHeads * hd), bias(`blk.${l}.attn_v.bias`, kvHeads * hd));
  }
  writeRawGguf(out, g);
}
