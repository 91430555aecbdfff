import { UNICODE_CLASS_RUNS } from "./unicode-data";

/** Code point classes as seen by llama.cpp's GPT-2 pre-tokenizer. */
export const CP_OTHER = 0;
export const CP_LETTER = 1;
export const CP_NUMBER = 2;
export const CP_SPACE = 3;

let classTable: Uint8Array | null = null;

function table(): Uint8Array {
  if (classTable) return classTable;
  const t = new Uint8Array(0x110000);
  const codes: Record<string, number> = { o: CP_OTHER, l: CP_LETTER, n: CP_NUMBER, w: CP_SPACE };
  let start = 0;
  let prevClass = CP_OTHER;
  for (const run of UNICODE_CLASS_RUNS.split(",")) {
    const delta = parseInt(run.slice(0, -1), 36);
    const c = codes[run.slice(-1)]!;
    if (delta > 0) t.fill(prevClass, start, start + delta);
    start += delta;
    prevClass = c;
  }
  t.fill(prevClass, start);
  classTable = t;
  return t;
}

export function codePointClass(cp: number): number {
  return cp < 0x110000 ? table()[cp]! : CP_OTHER;
}

/**
 * GPT-2 bytes_to_unicode(): every byte maps to a printable code point, so that
 * token strings never contain spaces or control characters.
 */
function buildByteMaps(): { byteToChar: string[]; charToByte: Map<string, number> } {
  const byteToChar: string[] = new Array(256);
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  for (let b = 0; b < 256; b++) byteToChar[b] = printable(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + n++);
  const charToByte = new Map<string, number>();
  byteToChar.forEach((c, b) => charToByte.set(c, b));
  return { byteToChar, charToByte };
}

export const { byteToChar: BYTE_TO_CHAR, charToByte: CHAR_TO_BYTE } = buildByteMaps();

const encoder = new TextEncoder();
/** UTF-8 bytes of a string; lone surrogates become U+FFFD (as in llama.cpp / N-API). */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Maps raw bytes to GPT-2's printable byte-level alphabet. */
export function bytesToSymbols(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += BYTE_TO_CHAR[b];
  return s;
}
