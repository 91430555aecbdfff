import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ForgeError } from "../errors";
import type { PackedRows } from "./pack";

/** ATDS v1: "ATDS", u32 version, u32 row_len, u32 n_rows, i32 tokens[n*row_len], u8 mask[n*row_len] (LE). */
export function encodeAtds(rows: PackedRows): Buffer {
  const header = Buffer.alloc(16);
  header.write("ATDS", 0, "ascii");
  header.writeUInt32LE(1, 4);
  header.writeUInt32LE(rows.rowLen, 8);
  header.writeUInt32LE(rows.nRows, 12);
  const tok = Buffer.alloc(rows.tokens.length * 4);
  rows.tokens.forEach((t, i) => tok.writeInt32LE(t, i * 4));
  return Buffer.concat([header, tok, Buffer.from(rows.mask.buffer, rows.mask.byteOffset, rows.mask.byteLength)]);
}

export function writeAtds(file: string, rows: PackedRows) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, encodeAtds(rows));
}

export function readAtds(file: string): PackedRows {
  const b = readFileSync(file);
  if (b.length < 16 || b.toString("ascii", 0, 4) !== "ATDS") throw new ForgeError("IO", `${file} is not an ATDS file`);
  const version = b.readUInt32LE(4);
  if (version !== 1) throw new ForgeError("IO", `${file}: unsupported ATDS version ${version}`);
  const rowLen = b.readUInt32LE(8);
  const nRows = b.readUInt32LE(12);
  const n = rowLen * nRows;
  if (b.length !== 16 + n * 5) throw new ForgeError("IO", `${file}: expected ${16 + n * 5} bytes, found ${b.length}`);
  const tokens = new Int32Array(n);
  for (let i = 0; i < n; i++) tokens[i] = b.readInt32LE(16 + i * 4);
  const mask = Uint8Array.from(b.subarray(16 + n * 4));
  return { rowLen, nRows, tokens, mask };
}

