/*
 * Builds small, valid PDFs in code (no binary fixtures): one Helvetica font, one content
 * stream per page with the given lines, a correct xref table. Options make the broken
 * variants the parser must refuse (encrypted, image-only).
 */

export type PdfPage = {
  /** Text lines, top to bottom; an empty string leaves a blank line (a paragraph gap). */
  lines: string[];
  /** Font size of the first line (e.g. a bigger title); the rest use 12 pt. */
  firstLineSize?: number;
};

export type PdfOptions = {
  /** Adds a standard-security /Encrypt dictionary whose user password is not empty. */
  encrypted?: boolean;
};

/** Escapes a string for a PDF literal string: ( ) \ must be escaped. */
function pdfString(s: string): string {
  return `(${s.replace(/[\\()]/g, (c) => `\\${c}`)})`;
}

function contentStream(page: PdfPage): string {
  if (page.lines.length === 0) return "0.5 g 72 600 200 100 re f"; // a grey box: drawing, no text
  const ops: string[] = ["BT", "72 740 Td"];
  page.lines.forEach((line, i) => {
    const size = i === 0 && page.firstLineSize ? page.firstLineSize : 12;
    if (i > 0) ops.push(`0 -${i === 1 && page.firstLineSize ? page.firstLineSize + 8 : 16} Td`);
    ops.push(`/F1 ${size} Tf`);
    if (line !== "") ops.push(`${pdfString(line)} Tj`);
  });
  ops.push("ET");
  return ops.join("\n");
}

/** A PDF (bytes) with one page per entry in `pages`. ASCII text only. */
export function buildPdf(pages: PdfPage[], options: PdfOptions = {}): Uint8Array {
  const objects: string[] = [];
  const add = (body: string): number => objects.push(body);
  const catalog = add("");
  const pagesObj = add("");
  const font = add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
  const pageIds: number[] = [];
  for (const page of pages) {
    const stream = contentStream(page);
    const content = add(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
    pageIds.push(
      add(`<< /Type /Page /Parent ${pagesObj} 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${content} 0 R >>`),
    );
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${pagesObj} 0 R >>`;
  objects[pagesObj - 1] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(" ")}] /Count ${pageIds.length} >>`;
  let encrypt = "";
  if (options.encrypted) {
    const hex = (n: number) => "<" + "ab".repeat(n) + ">";
    const id = add(`<< /Filter /Standard /V 1 /R 2 /Length 40 /P -4 /O ${hex(32)} /U ${hex(32)} >>`);
    encrypt = ` /Encrypt ${id} 0 R /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]`;
  }

  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R${encrypt} >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(out);
}
