import mammoth from "mammoth";
import { formatBytes } from "./decode";
import { parseHtml } from "./html";
import { DocumentParseError, type OutlineEntry } from "./types";

/*
 * DOCX → HTML with mammoth (Word heading styles become <h1>…<h6>, lists and tables survive),
 * then the HTML parser: headings, paragraphs and the outline come out exactly like an HTML
 * upload. Images are dropped (no data: URIs in the text), external files are never read.
 */

/** A DOCX expands to at most this much; more is a zip bomb, not a document. */
export const MAX_DOCX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024;

/** Sum of the uncompressed sizes in a ZIP's central directory, or null if it is not a ZIP. */
function zipUncompressedSize(bytes: Uint8Array): number | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // End of central directory: signature 0x06054b50, within the last 64 KiB + 22 bytes.
  for (let eocd = bytes.length - 22; eocd >= Math.max(0, bytes.length - 65_557); eocd--) {
    if (view.getUint32(eocd, true) !== 0x06054b50) continue;
    const entries = view.getUint16(eocd + 10, true);
    let at = view.getUint32(eocd + 16, true);
    let total = 0;
    for (let i = 0; i < entries; i++) {
      if (at + 46 > bytes.length || view.getUint32(at, true) !== 0x02014b50) return null;
      total += view.getUint32(at + 24, true);
      at += 46 + view.getUint16(at + 28, true) + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    }
    return total;
  }
  return null;
}

const noImages = mammoth.images.imgElement(async () => ({ src: "" }));

export async function parseDocx(
  fileName: string,
  bytes: Uint8Array,
): Promise<{ title: string | null; text: string; outline: OutlineEntry[]; warnings: string[] }> {
  const expanded = zipUncompressedSize(bytes);
  if (expanded === null) {
    throw new DocumentParseError(fileName, "corrupt", "the file is not a valid DOCX (not a ZIP archive; a legacy .doc must be saved as .docx).");
  }
  if (expanded > MAX_DOCX_UNCOMPRESSED_BYTES) {
    throw new DocumentParseError(
      fileName,
      "too-large",
      `the DOCX expands to ${formatBytes(expanded)}, over the ${formatBytes(MAX_DOCX_UNCOMPRESSED_BYTES)} limit.`,
    );
  }
  let html: string;
  let messages: Array<{ type: string; message: string }>;
  try {
    const result = await mammoth.convertToHtml(
      { buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) },
      { convertImage: noImages, externalFileAccess: false },
    );
    html = result.value;
    messages = result.messages;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new DocumentParseError(fileName, "corrupt", `the file is not a valid DOCX (${message.split("\n")[0]!.replace(/\.$/, "")}).`);
  }
  const out = parseHtml(html);
  const errors = messages.filter((m) => m.type === "error").length;
  const warnings = errors > 0 ? [`${errors} part${errors === 1 ? "" : "s"} of the DOCX could not be read and were skipped.`] : [];
  return { ...out, warnings };
}
