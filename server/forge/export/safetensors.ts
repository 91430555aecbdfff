import fs from "node:fs/promises";

/*
 * A safetensors writer (https://github.com/huggingface/safetensors: an 8-byte little-endian
 * header length, a JSON header of { name: { dtype, shape, data_offsets } } padded with spaces
 * to a multiple of 8, then the tensors' bytes back to back). Tensors are produced one at a
 * time by a callback, so only one is in memory; the file is written beside and renamed.
 */

export type SafeDtype = "F32" | "F16" | "BF16";
export type SafeTensorSpec = { name: string; shape: number[]; dtype: SafeDtype; data: () => Promise<Float32Array> };

const BYTES: Record<SafeDtype, number> = { F32: 4, F16: 2, BF16: 2 };

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float → IEEE half, round to nearest even (overflow → ±Inf). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** float → bfloat16, round to nearest even. */
export function floatToBf16(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return (bits >>> 16) | 0x40;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

function encode(values: Float32Array, dtype: SafeDtype): Buffer {
  const out = Buffer.alloc(values.length * BYTES[dtype]);
  if (dtype === "F32") for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i]!, i * 4);
  else if (dtype === "F16") for (let i = 0; i < values.length; i++) out.writeUInt16LE(floatToHalf(values[i]!), i * 2);
  else for (let i = 0; i < values.length; i++) out.writeUInt16LE(floatToBf16(values[i]!), i * 2);
  return out;
}

export async function writeSafetensors(filePath: string, tensors: SafeTensorSpec[], metadata: Record<string, string> = {}): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: { format: "pt", ...metadata } };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const tmp = `${filePath}.tmp-${process.pid}`;
  const fh = await fs.open(tmp, "w");
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    await fh.write(len);
    await fh.write(json);
    for (const t of tensors) {
      const values = await t.data();
      const expected = t.shape.reduce((a, b) => a * b, 1);
      if (values.length !== expected) throw new Error(`${t.name}: ${values.length} values for shape [${t.shape.join(", ")}]`);
      await fh.write(encode(values, t.dtype));
    }
  } catch (err) {
    await fh.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await fs.rename(tmp, filePath);
}
