import { DocumentParseError, type ParsedDocument } from "./types";

export const DEFAULT_MAX_DOCUMENT_BYTES = 20 * 1024 * 1024;

const SIGNATURES: Array<{ magic: number[]; what: string }> = [
  { magic: [0x25, 0x50, 0x44, 0x46, 0x2d], what: "a PDF, not text; name it .pdf to import it" },
  { magic: [0x50, 0x4b, 0x03, 0x04], what: "a ZIP archive (DOCX/XLSX/ODT are ZIPs); a Word document must be named .docx" },
  { magic: [0xd0, 0xcf, 0x11, 0xe0], what: "a legacy Office document (DOC/XLS), which is not supported" },
  { magic: [0x89, 0x50, 0x4e, 0x47], what: "a PNG image, not text" },
  { magic: [0xff, 0xd8, 0xff], what: "a JPEG image, not text" },
  { magic: [0x47, 0x49, 0x46, 0x38], what: "a GIF image, not text" },
  { magic: [0x1f, 0x8b], what: "gzip-compressed; decompress it first" },
  { magic: [0x47, 0x47, 0x55, 0x46], what: "a GGUF model file, not a document" },
  { magic: [0x7f, 0x45, 0x4c, 0x46], what: "an executable, not text" },
];

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/** 1-based line number of a byte offset (counting \n). */
function lineOfByte(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/** Counts malformed UTF-8 sequences and returns the byte offset of the first one. */
function utf8Problems(bytes: Uint8Array): { invalid: number; firstAt: number; highBytes: number } {
  let invalid = 0;
  let firstAt = -1;
  let highBytes = 0;
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    highBytes++;
    let need = 0;
    let min = 0;
    if (b >= 0xc2 && b <= 0xdf) (need = 1), (min = 0x80);
    else if (b >= 0xe0 && b <= 0xef) (need = 2), (min = 0x800);
    else if (b >= 0xf0 && b <= 0xf4) (need = 3), (min = 0x10000);
    else {
      if (firstAt < 0) firstAt = i;
      invalid++;
      i++;
      continue;
    }
    let cp = b & (0xff >> (need + 2));
    let ok = i + need < n;
    for (let k = 1; ok && k <= need; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
    if (!ok) {
      if (firstAt < 0) firstAt = i;
      invalid++;
      i++;
      continue;
    }
    highBytes += need;
    i += need + 1;
  }
  return { invalid, firstAt, highBytes };
}

/** Refuses empty files and files over `maxBytes` (every format, text or binary). */
export function checkSize(fileName: string, bytes: Uint8Array, maxBytes: number): void {
  if (bytes.length === 0) throw new DocumentParseError(fileName, "empty", "the file is empty (0 bytes).");
  if (bytes.length > maxBytes) {
    throw new DocumentParseError(
      fileName,
      "too-large",
      `the file is ${formatBytes(bytes.length)}, over the ${formatBytes(maxBytes)} limit for one document.`,
    );
  }
}

/**
 * Turns uploaded bytes into text, refusing empty, oversized and binary files with a message
 * that names the file. UTF-8 (with or without BOM) and UTF-16 with a BOM are read as such; a
 * file that is almost UTF-8 but for a few stray high bytes (typical of old Windows exports)
 * is read as Windows-1252, and the document says so.
 */
export function decodeText(
  fileName: string,
  bytes: Uint8Array,
  maxBytes: number = DEFAULT_MAX_DOCUMENT_BYTES,
): { text: string; encoding: ParsedDocument["encoding"] } {
  checkSize(fileName, bytes, maxBytes);
  for (const sig of SIGNATURES) {
    if (startsWith(bytes, sig.magic)) throw new DocumentParseError(fileName, "unsupported", `the file is ${sig.what}.`);
  }

  let text: string;
  let encoding: ParsedDocument["encoding"] = "utf-8";
  if (startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff])) {
    encoding = bytes[0] === 0xff ? "utf-16le" : "utf-16be";
    text = new TextDecoder(encoding).decode(bytes);
    if (text.includes("\0")) {
      throw new DocumentParseError(fileName, "binary", "the file looks binary (NUL characters in UTF-16 text).");
    }
  } else {
    const nul = bytes.indexOf(0);
    if (nul >= 0) {
      throw new DocumentParseError(
        fileName,
        "binary",
        `the file looks binary, not text (NUL byte at offset ${nul}, line ${lineOfByte(bytes, nul)}).`,
      );
    }
    let controls = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) controls++;
    }
    if (controls > Math.max(2, bytes.length * 0.001)) {
      throw new DocumentParseError(
        fileName,
        "binary",
        `the file looks binary, not text (${controls} control bytes).`,
      );
    }
    const { invalid, firstAt, highBytes } = utf8Problems(bytes);
    if (invalid === 0) {
      text = new TextDecoder("utf-8").decode(bytes); // strips a UTF-8 BOM
    } else {
      // Legacy 8-bit text has a few isolated high bytes; anything denser is binary or another
      // multi-byte encoding we would silently garble.
      const ratio = invalid / bytes.length;
      if (ratio > 0.05 || highBytes > bytes.length * 0.3) {
        throw new DocumentParseError(
          fileName,
          "binary",
          `the file is not valid UTF-8 text (${invalid} invalid byte sequences, ${(ratio * 100).toFixed(1)}% of the file; ` +
            `first at line ${lineOfByte(bytes, firstAt)}). Save it as UTF-8.`,
        );
      }
      encoding = "windows-1252";
      text = new TextDecoder("windows-1252").decode(bytes);
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  text = text.replace(/\r\n?/g, "\n");
  if (text.trim() === "") throw new DocumentParseError(fileName, "empty", "the file contains only whitespace.");
  return { text, encoding };
}
