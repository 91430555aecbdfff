// Minimal GGUF reader (metadata + F32/F16 tensors), independent of ggml, for reference tests.
import { readFileSync, writeFileSync } from "node:fs";

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensor {
  name: string;
  ne: number[];
  type: number; // 0 = F32, 1 = F16
  data: Float64Array; // dequantised, ggml order (ne[0] fastest)
}

export interface GgufFile {
  kv: Map<string, GgufValue>;
  /** GGUF value type per key (and element type for arrays), so a file can be re-written faithfully */
  kvType: Map<string, { type: number; arrType?: number }>;
  tensors: Map<string, GgufTensor>;
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export function readGguf(path: string): GgufFile {
  const buf = readFileSync(path);
  let o = 0;
  const u32 = () => { const v = buf.readUInt32LE(o); o += 4; return v; };
  const u64 = () => { const v = buf.readBigUInt64LE(o); o += 8; return Number(v); };
  const str = () => { const n = u64(); const s = buf.toString("utf8", o, o + n); o += n; return s; };
  const value = (t: number): GgufValue => {
    switch (t) {
      case 0: return buf.readUInt8(o++);
      case 1: return buf.readInt8(o++);
      case 2: { const v = buf.readUInt16LE(o); o += 2; return v; }
      case 3: { const v = buf.readInt16LE(o); o += 2; return v; }
      case 4: return u32();
      case 5: { const v = buf.readInt32LE(o); o += 4; return v; }
      case 6: { const v = buf.readFloatLE(o); o += 4; return v; }
      case 7: return buf.readUInt8(o++) !== 0;
      case 8: return str();
      case 9: { const at = u32(); const n = u64(); const a: GgufValue[] = []; for (let i = 0; i < n; i++) a.push(value(at)); return a; }
      case 10: { const v = buf.readBigUInt64LE(o); o += 8; return v; }
      case 11: { const v = buf.readBigInt64LE(o); o += 8; return v; }
      case 12: { const v = buf.readDoubleLE(o); o += 8; return v; }
      default: throw new Error(`unknown gguf type ${t}`);
    }
  };
  if (buf.toString("ascii", 0, 4) !== "GGUF") throw new Error("not a GGUF file");
  o = 4;
  const version = u32();
  if (version < 2) throw new Error("old GGUF version");
  const nTensors = u64();
  const nKv = u64();
  const kv = new Map<string, GgufValue>();
  const kvType = new Map<string, { type: number; arrType?: number }>();
  for (let i = 0; i < nKv; i++) {
    const k = str();
    const t = u32();
    kvType.set(k, t === 9 ? { type: t, arrType: buf.readUInt32LE(o) } : { type: t });
    kv.set(k, value(t));
  }
  const infos: { name: string; ne: number[]; type: number; offset: number }[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = str();
    const nd = u32();
    const ne: number[] = [];
    for (let d = 0; d < nd; d++) ne.push(u64());
    const type = u32();
    const offset = u64();
    infos.push({ name, ne, type, offset });
  }
  const align = Number(kv.get("general.alignment") ?? 32);
  const base = Math.ceil(o / align) * align;
  const tensors = new Map<string, GgufTensor>();
  for (const t of infos) {
    const n = t.ne.reduce((a, b) => a * b, 1);
    const data = new Float64Array(n);
    const at = base + t.offset;
    if (t.type === 0) for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(at + 4 * i);
    else if (t.type === 1) for (let i = 0; i < n; i++) data[i] = f16ToF32(buf.readUInt16LE(at + 2 * i));
    else throw new Error(`tensor ${t.name}: only F32/F16 supported by the reference reader`);
    tensors.set(t.name, { name: t.name, ne: t.ne, type: t.type, data });
  }
  return { kv, kvType, tensors };
}

/** Write a GGUF (v3) with F32 tensors. kvType gives each key's GGUF type (default: string / f32 / array of string). */
export function writeGguf(path: string, f: GgufFile): void {
  const parts: Buffer[] = [];
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
  const u64 = (v: number | bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
  const str = (s: string) => { const b = Buffer.from(s, "utf8"); u64(b.length); parts.push(b); };
  const val = (t: number, v: GgufValue, arrType?: number) => {
    const b = Buffer.alloc(8);
    switch (t) {
      case 0: b.writeUInt8(Number(v)); parts.push(b.subarray(0, 1)); break;
      case 1: b.writeInt8(Number(v)); parts.push(b.subarray(0, 1)); break;
      case 2: b.writeUInt16LE(Number(v)); parts.push(b.subarray(0, 2)); break;
      case 3: b.writeInt16LE(Number(v)); parts.push(b.subarray(0, 2)); break;
      case 4: u32(Number(v)); break;
      case 5: b.writeInt32LE(Number(v)); parts.push(b.subarray(0, 4)); break;
      case 6: b.writeFloatLE(Number(v)); parts.push(b.subarray(0, 4)); break;
      case 7: b.writeUInt8(v ? 1 : 0); parts.push(b.subarray(0, 1)); break;
      case 8: str(String(v)); break;
      case 9: { const a = v as GgufValue[]; u32(arrType!); u64(a.length); for (const x of a) val(arrType!, x); break; }
      case 10: u64(BigInt(v as bigint)); break;
      case 11: b.writeBigInt64LE(BigInt(v as bigint)); parts.push(b); break;
      case 12: b.writeDoubleLE(Number(v)); parts.push(b); break;
      default: throw new Error(`type ${t}`);
    }
  };
  parts.push(Buffer.from("GGUF", "ascii"));
  u32(3);
  u64(f.tensors.size);
  u64(f.kv.size);
  for (const [k, v] of f.kv) {
    const t = f.kvType.get(k) ?? (typeof v === "string" ? { type: 8 } : Array.isArray(v) ? { type: 9, arrType: 8 } : typeof v === "boolean" ? { type: 7 } : { type: 6 });
    str(k);
    u32(t.type);
    val(t.type, v, t.arrType);
  }
  const align = 32;
  let offset = 0;
  const datas: Buffer[] = [];
  for (const t of f.tensors.values()) {
    str(t.name);
    u32(t.ne.length);
    for (const n of t.ne) u64(n);
    u32(0);
    u64(offset);
    const d = Buffer.alloc(t.data.length * 4);
    t.data.forEach((x, i) => d.writeFloatLE(x, 4 * i));
    const padded = Math.ceil(d.length / align) * align;
    datas.push(Buffer.concat([d, Buffer.alloc(padded - d.length)]));
    offset += padded;
  }
  let head = Buffer.concat(parts);
  head = Buffer.concat([head, Buffer.alloc(Math.ceil(head.length / align) * align - head.length)]);
  writeFileSync(path, Buffer.concat([head, ...datas]));
}
