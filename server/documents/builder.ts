import type { OutlineEntry } from "./types";

/**
 * Assembles a parser's output: normalised plain text with paragraphs separated by one blank
 * line, no trailing spaces, and the offsets of headings inside the final text.
 */
export class TextBuilder {
  private readonly parts: string[] = [];
  private length = 0;
  private atLineStart = true;
  private pendingNewlines = 0;
  private pendingSpace = false;
  readonly outline: OutlineEntry[] = [];

  get isEmpty(): boolean {
    return this.length === 0;
  }

  private write(s: string): void {
    if (s === "") return;
    this.parts.push(s);
    this.length += s.length;
    this.atLineStart = s.endsWith("\n");
  }

  private flushPending(): void {
    if (this.length === 0) {
      this.pendingNewlines = 0;
      this.pendingSpace = false;
      return;
    }
    if (this.pendingNewlines > 0) this.write("\n".repeat(this.pendingNewlines));
    else if (this.pendingSpace && !this.atLineStart) this.write(" ");
    this.pendingNewlines = 0;
    this.pendingSpace = false;
  }

  /** Flowing text: runs of whitespace collapse to one space (HTML-like). */
  inline(s: string): void {
    if (s === "") return;
    const collapsed = s.replace(/\s+/g, " ");
    const body = collapsed.trim();
    if (body === "") {
      this.pendingSpace = true;
      return;
    }
    if (collapsed.startsWith(" ")) this.pendingSpace = true;
    this.flushPending();
    this.write(body);
    if (collapsed.endsWith(" ")) this.pendingSpace = true;
  }

  /** A line of text kept as written (inner spacing preserved, trailing spaces dropped). */
  line(s: string): void {
    const body = s.replace(/[ \t\f\v]+$/g, "");
    if (body.trim() === "") return;
    this.flushPending();
    if (!this.atLineStart) this.write("\n");
    this.write(body);
    this.lineBreak();
  }

  /** Preformatted block (code): kept verbatim apart from trailing spaces. */
  preformatted(s: string): void {
    const body = s
      .split("\n")
      .map((l) => l.replace(/[ \t\f\v]+$/g, ""))
      .join("\n")
      .replace(/^\n+|\n+$/g, "");
    if (body.trim() === "") return;
    this.paragraph();
    this.flushPending();
    this.write(body);
    this.paragraph();
  }

  lineBreak(): void {
    if (this.length === 0) return;
    this.pendingNewlines = Math.max(this.pendingNewlines, 1);
    this.pendingSpace = false;
  }

  paragraph(): void {
    if (this.length === 0) return;
    this.pendingNewlines = 2;
    this.pendingSpace = false;
  }

  heading(level: number, text: string): void {
    const body = text.replace(/\s+/g, " ").trim();
    if (body === "") return;
    this.paragraph();
    this.flushPending();
    this.outline.push({ offset: this.length, level: Math.min(6, Math.max(1, level)), text: body });
    this.write(body);
    this.paragraph();
  }

  build(): { text: string; outline: OutlineEntry[] } {
    return { text: this.parts.join(""), outline: this.outline };
  }
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0", shy: "", ensp: "\u2002", emsp: "\u2003",
  thinsp: "\u2009", zwnj: "\u200c", zwj: "\u200d", lrm: "", rlm: "", ndash: "\u2013", mdash: "\u2014",
  lsquo: "\u2018", rsquo: "\u2019", sbquo: "\u201a", ldquo: "\u201c", rdquo: "\u201d", bdquo: "\u201e",
  laquo: "\u00ab", raquo: "\u00bb", lsaquo: "\u2039", rsaquo: "\u203a", hellip: "\u2026", bull: "\u2022",
  middot: "\u00b7", prime: "\u2032", Prime: "\u2033", dagger: "\u2020", Dagger: "\u2021", permil: "\u2030",
  copy: "\u00a9", reg: "\u00ae", trade: "\u2122", deg: "\u00b0", plusmn: "\u00b1", times: "\u00d7",
  divide: "\u00f7", frac12: "\u00bd", frac14: "\u00bc", frac34: "\u00be", sup1: "\u00b9", sup2: "\u00b2",
  sup3: "\u00b3", micro: "\u00b5", para: "\u00b6", sect: "\u00a7", cent: "\u00a2", pound: "\u00a3",
  yen: "\u00a5", euro: "\u20ac", curren: "\u00a4", iexcl: "\u00a1", iquest: "\u00bf", ordf: "\u00aa",
  ordm: "\u00ba", not: "\u00ac", macr: "\u00af", acute: "\u00b4", cedil: "\u00b8", uml: "\u00a8",
  larr: "\u2190", rarr: "\u2192", uarr: "\u2191", darr: "\u2193", harr: "\u2194", lArr: "\u21d0",
  rArr: "\u21d2", hArr: "\u21d4", le: "\u2264", ge: "\u2265", ne: "\u2260", asymp: "\u2248", equiv: "\u2261",
  infin: "\u221e", minus: "\u2212", sum: "\u2211", prod: "\u220f", radic: "\u221a", part: "\u2202",
  isin: "\u2208", notin: "\u2209", cap: "\u2229", cup: "\u222a", and: "\u2227", or: "\u2228", forall: "\u2200",
  exist: "\u2203", empty: "\u2205", nabla: "\u2207", alpha: "\u03b1", beta: "\u03b2", gamma: "\u03b3",
  delta: "\u03b4", epsilon: "\u03b5", zeta: "\u03b6", eta: "\u03b7", theta: "\u03b8", iota: "\u03b9",
  kappa: "\u03ba", lambda: "\u03bb", mu: "\u03bc", nu: "\u03bd", xi: "\u03be", omicron: "\u03bf", pi: "\u03c0",
  rho: "\u03c1", sigma: "\u03c3", tau: "\u03c4", upsilon: "\u03c5", phi: "\u03c6", chi: "\u03c7", psi: "\u03c8",
  omega: "\u03c9", Alpha: "\u0391", Beta: "\u0392", Gamma: "\u0393", Delta: "\u0394", Theta: "\u0398",
  Lambda: "\u039b", Pi: "\u03a0", Sigma: "\u03a3", Phi: "\u03a6", Psi: "\u03a8", Omega: "\u03a9",
  Agrave: "\u00c0", Aacute: "\u00c1", Acirc: "\u00c2", Atilde: "\u00c3", Auml: "\u00c4", Aring: "\u00c5",
  AElig: "\u00c6", Ccedil: "\u00c7", Egrave: "\u00c8", Eacute: "\u00c9", Ecirc: "\u00ca", Euml: "\u00cb",
  Igrave: "\u00cc", Iacute: "\u00cd", Icirc: "\u00ce", Iuml: "\u00cf", Ntilde: "\u00d1", Ograve: "\u00d2",
  Oacute: "\u00d3", Ocirc: "\u00d4", Otilde: "\u00d5", Ouml: "\u00d6", Oslash: "\u00d8", Ugrave: "\u00d9",
  Uacute: "\u00da", Ucirc: "\u00db", Uuml: "\u00dc", Yacute: "\u00dd", szlig: "\u00df", agrave: "\u00e0",
  aacute: "\u00e1", acirc: "\u00e2", atilde: "\u00e3", auml: "\u00e4", aring: "\u00e5", aelig: "\u00e6",
  ccedil: "\u00e7", egrave: "\u00e8", eacute: "\u00e9", ecirc: "\u00ea", euml: "\u00eb", igrave: "\u00ec",
  iacute: "\u00ed", icirc: "\u00ee", iuml: "\u00ef", ntilde: "\u00f1", ograve: "\u00f2", oacute: "\u00f3",
  ocirc: "\u00f4", otilde: "\u00f5", ouml: "\u00f6", oslash: "\u00f8", ugrave: "\u00f9", uacute: "\u00fa",
  ucirc: "\u00fb", uuml: "\u00fc", yacute: "\u00fd", yuml: "\u00ff", OElig: "\u0152", oelig: "\u0153",
  Scaron: "\u0160", scaron: "\u0161", Yuml: "\u0178", fnof: "\u0192", circ: "\u02c6", tilde: "\u02dc",
};

/** Decodes HTML character references (numeric and the common named ones). */
export function decodeEntities(s: string): string {
  if (!s.includes("&")) return s;
  return s.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?/g, (whole, ref: string) => {
    if (ref.startsWith("#")) {
      const cp = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!Number.isFinite(cp) || cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return "\ufffd";
      return String.fromCodePoint(cp);
    }
    const named = NAMED_ENTITIES[ref];
    return named ?? whole;
  });
}
