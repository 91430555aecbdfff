import zlib from "node:zlib";

/*
 * Reading a ZIP (DOCX) without trusting it. The sizes a ZIP declares can lie, so each entry is
 * inflated here under what is left of the limit (zlib stops at `maxOutputLength`): an archive that
 * expands past the limit is refused while it inflates, never after. The entries are then written
 * back as a stored (uncompressed) ZIP, so the library that reads the document only copies bytes.
 */

export type ZipProblem = { kind: "not-zip" | "unsupported" | "too-large"; detail: string };

export class ZipError extends Error {
  constructor(readonly problem: ZipProblem) {
    super(problem.detail);
    this.name = "ZipError";
  }
}

type Entry = { name: Buffer; method: number; compressedSize: number; localOffset: number };

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function centralDirectory(buf: Buffer): Entry[] {
  // End of central directory: within the last 64 KiB + 22 bytes.
  for (let eocd = buf.length - 22; eocd >= Math.max(0, buf.length - 65_557); eocd--) {
    if (buf.readUInt32LE(eocd) !== EOCD) continue;
    const count = buf.readUInt16LE(eocd + 10);
    let at = buf.readUInt32LE(eocd + 16);
    const entries: Entry[] = [];
    for (let i = 0; i < count; i++) {
      if (at + 46 > buf.length || buf.readUInt32LE(at) !== CENTRAL) throw new ZipError({ kind: "not-zip", detail: "its table of contents is damaged" });
      const method = buf.readUInt16LE(at + 10);
      const compressedSize = buf.readUInt32LE(at + 20);
      const nameLength = buf.readUInt16LE(at + 28);
      const localOffset = buf.readUInt32LE(at + 42);
      if (compressedSize === 0xffffffff || localOffset === 0xffffffff) throw new ZipError({ kind: "unsupported", detail: "it is a ZIP64 archive" });
      entries.push({ name: buf.subarray(at + 46, at + 46 + nameLength), method, compressedSize, localOffset });
      at += 46 + nameLength + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
    }
    return entries;
  }
  throw new ZipError({ kind: "not-zip", detail: "not a ZIP archive" });
}

function entryData(buf: Buffer, e: Entry): Buffer {
  const at = e.localOffset;
  if (at + 30 > buf.length || buf.readUInt32LE(at) !== LOCAL) throw new ZipError({ kind: "not-zip", detail: "an entry's header is damaged" });
  const start = at + 30 + buf.readUInt16LE(at + 26) + buf.readUInt16LE(at + 28);
  if (start + e.compressedSize > buf.length) throw new ZipError({ kind: "not-zip", detail: "an entry runs past the end of the file" });
  return buf.subarray(start, start + e.compressedSize);
}

/**
 * Every entry of the ZIP in `bytes`, inflated, refusing as soon as the total passes `maxBytes`.
 * Returns the same archive rewritten with stored entries.
 */
export function inflateZipBounded(bytes: Uint8Array, maxBytes: number): { zip: Buffer; expandedBytes: number } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let total = 0;
  const files: Array<{ name: Buffer; data: Buffer }> = [];
  for (const e of centralDirectory(buf)) {
    const raw = entryData(buf, e);
    let data: Buffer;
    if (e.method === 0) data = raw;
    else if (e.method === 8) {
      try {
        data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, maxBytes - total) });
      } catch (err) {
        if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError) {
          throw new ZipError({ kind: "too-large", detail: `it expands to more than ${maxBytes} bytes` });
        }
        throw new ZipError({ kind: "not-zip", detail: "an entry is not valid deflate data" });
      }
    } else throw new ZipError({ kind: "unsupported", detail: `an entry uses compression method ${e.method}` });
    total += data.length;
    if (total > maxBytes) throw new ZipError({ kind: "too-large", detail: `it expands to more than ${maxBytes} bytes` });
    files.push({ name: e.name, data });
  }
  return { zip: storedZip(files), expandedBytes: total };
}

/** A ZIP with every entry stored (method 0), with correct sizes and CRC-32s. */
function storedZip(files: Array<{ name: Buffer; data: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const crc = zlib.crc32(f.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(f.data.length, 18);
    local.writeUInt32LE(f.data.length, 22);
    local.writeUInt16LE(f.name.length, 26);
    parts.push(local, f.name, f.data);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(CENTRAL, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(f.data.length, 20);
    c.writeUInt32LE(f.data.length, 24);
    c.writeUInt16LE(f.name.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(c, f.name);
    offset += 30 + f.name.length + f.data.length;
  }
  const size = central.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(EOCD, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(size, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, end]);
}
