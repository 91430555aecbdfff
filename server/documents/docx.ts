import mammoth from "mammoth";
import { formatBytes } from "./decode";
import { parseHtml } from "./html";
import { DocumentParseError, type OutlineEntry } from "./types";
import { inflateZipBounded, ZipError } from "./zip";

/*
 * DOCX → HTML with mammoth (Word heading styles become <h1>…<h6>, lists and tables survive),
 * then the HTML parser: headings, paragraphs and the outline come out exactly like an HTML
 * upload. Images are dropped (no data: URIs in the text), external files are never read.
 */

/** A DOCX expands to at most this much; more is a zip bomb, not a document. */
export const MAX_DOCX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024;

const noImages = mammoth.images.imgElement(async () => ({ src: "" }));

export async function parseDocx(
  fileName: string,
  bytes: Uint8Array,
  maxExpandedBytes = MAX_DOCX_UNCOMPRESSED_BYTES,
): Promise<{ title: string | null; text: string; outline: OutlineEntry[]; warnings: string[] }> {
  // Inflated here under the limit, whatever the archive declares (zip.ts); mammoth then reads
  // the stored copy and inflates nothing.
  let stored: Buffer;
  try {
    stored = inflateZipBounded(bytes, maxExpandedBytes).zip;
  } catch (err) {
    if (!(err instanceof ZipError)) throw err;
    if (err.problem.kind === "too-large") {
      throw new DocumentParseError(fileName, "too-large", `the DOCX expands to more than ${formatBytes(maxExpandedBytes)} (the limit); it was refused while inflating.`);
    }
    if (err.problem.kind === "unsupported") throw new DocumentParseError(fileName, "corrupt", `this DOCX cannot be read: ${err.problem.detail}.`);
    throw new DocumentParseError(fileName, "corrupt", `the file is not a valid DOCX (${err.problem.detail}; a legacy .doc must be saved as .docx).`);
  }
  let html: string;
  let messages: Array<{ type: string; message: string }>;
  try {
    const result = await mammoth.convertToHtml({ buffer: stored }, { convertImage: noImages, externalFileAccess: false });
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
