import { decodeEntities, TextBuilder } from "./builder";
import type { OutlineEntry } from "./types";

/**
 * A small, linear-time HTML text extractor (no HTML parser is installed and none is worth a
 * dependency for this). It never evaluates anything: it scans tags, drops the content of
 * script/style/template-like elements, turns block elements into line or paragraph breaks,
 * keeps headings (h1-h6) as outline entries and decodes character references.
 */

/** Elements whose content is not document text. */
const SKIP_CONTENT = new Set([
  "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed", "canvas",
  "select", "noembed", "noframes",
]);
/** Elements whose content is raw text (no tags inside), per the HTML spec. */
const RAW_TEXT = new Set(["script", "style", "textarea", "title", "xmp", "noembed", "noframes", "iframe", "plaintext"]);
const PARAGRAPH_BLOCKS = new Set([
  "p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "blockquote", "ul", "ol",
  "dl", "table", "form", "fieldset", "figure", "figcaption", "hr", "address", "details", "summary",
  "body", "html", "center", "legend", "hgroup", "menu",
]);
const LINE_BLOCKS = new Set(["br", "li", "dt", "dd", "tr", "caption", "option", "thead", "tbody", "tfoot"]);

type Tag = { name: string; end: boolean; selfClosing: boolean; attrs: Record<string, string>; next: number };

const isNameStart = (c: string | undefined) => c !== undefined && /[A-Za-z]/.test(c);

/** Reads the tag starting at `s[i] === "<"`; null when it is not a tag (a literal "<"). */
function readTag(s: string, i: number): Tag | null {
  let j = i + 1;
  let end = false;
  if (s[j] === "/") {
    end = true;
    j++;
  }
  if (!isNameStart(s[j])) return null;
  const nameStart = j;
  while (j < s.length && /[A-Za-z0-9:_-]/.test(s[j]!)) j++;
  const name = s.slice(nameStart, j).toLowerCase();
  const attrs: Record<string, string> = {};
  let selfClosing = false;
  while (j < s.length) {
    const c = s[j]!;
    if (c === ">") return { name, end, selfClosing, attrs, next: j + 1 };
    if (c === "/" && s[j + 1] === ">") return { name, end, selfClosing: true, attrs, next: j + 2 };
    if (/\s|\//.test(c)) {
      j++;
      continue;
    }
    const attrStart = j;
    while (j < s.length && !/[\s=/>]/.test(s[j]!)) j++;
    const attr = s.slice(attrStart, j).toLowerCase();
    while (j < s.length && /\s/.test(s[j]!)) j++;
    let value = "";
    if (s[j] === "=") {
      j++;
      while (j < s.length && /\s/.test(s[j]!)) j++;
      const q = s[j];
      if (q === '"' || q === "'") {
        const close = s.indexOf(q, j + 1);
        value = s.slice(j + 1, close < 0 ? s.length : close);
        j = close < 0 ? s.length : close + 1;
      } else {
        const vStart = j;
        while (j < s.length && !/[\s>]/.test(s[j]!)) j++;
        value = s.slice(vStart, j);
      }
    }
    if (attr !== "" && !(attr in attrs)) attrs[attr] = value;
  }
  selfClosing = true; // unterminated tag at end of input
  return { name, end, selfClosing, attrs, next: s.length };
}

/** Index of the closing tag `</name` (case-insensitive) at or after `from`, or -1. */
function findClosing(s: string, lower: string, name: string, from: number): number {
  const needle = `</${name}`;
  let at = lower.indexOf(needle, from);
  while (at >= 0) {
    const after = lower[at + needle.length];
    if (after === undefined || after === ">" || after === "/" || /\s/.test(after)) return at;
    at = lower.indexOf(needle, at + 1);
  }
  return -1;
}

export function parseHtml(source: string): { title: string | null; text: string; outline: OutlineEntry[] } {
  const s = source;
  const lower = s.toLowerCase();
  const b = new TextBuilder();
  let title: string | null = null;
  let firstH1: string | null = null;
  let pre = 0;
  let preBuf: string[] = [];
  let heading: { level: number; parts: string[] } | null = null;
  let cellInRow = 0;
  let i = 0;

  const emitText = (raw: string) => {
    if (raw === "") return;
    const text = decodeEntities(raw);
    if (heading) heading.parts.push(text);
    else if (pre > 0) preBuf.push(text);
    else b.inline(text);
  };

  while (i < s.length) {
    const lt = s.indexOf("<", i);
    if (lt < 0) {
      emitText(s.slice(i));
      break;
    }
    if (lt > i) emitText(s.slice(i, lt));
    i = lt;
    if (s.startsWith("<!--", i)) {
      const close = s.indexOf("-->", i + 4);
      i = close < 0 ? s.length : close + 3;
      continue;
    }
    if (s.startsWith("<![CDATA[", i)) {
      const close = s.indexOf("]]>", i + 9);
      emitText(s.slice(i + 9, close < 0 ? s.length : close).replace(/&/g, "&amp;"));
      i = close < 0 ? s.length : close + 3;
      continue;
    }
    if (s[i + 1] === "!" || s[i + 1] === "?") {
      const close = s.indexOf(">", i + 2);
      i = close < 0 ? s.length : close + 1;
      continue;
    }
    const tag = readTag(s, i);
    if (!tag) {
      emitText("<");
      i++;
      continue;
    }
    i = tag.next;
    const { name } = tag;

    if (!tag.end && !tag.selfClosing && (RAW_TEXT.has(name) || SKIP_CONTENT.has(name))) {
      // Skip to the matching close tag (raw text elements cannot nest; others rarely do).
      const close = findClosing(s, lower, name, i);
      const inner = s.slice(i, close < 0 ? s.length : close);
      if (name === "title" && title === null) title = decodeEntities(inner).replace(/\s+/g, " ").trim() || null;
      else if (name === "textarea") emitText(inner);
      if (close < 0) break;
      const gt = s.indexOf(">", close);
      i = gt < 0 ? s.length : gt + 1;
      continue;
    }

    const h = /^h([1-6])$/.exec(name);
    if (h) {
      const level = Number(h[1]);
      if (!tag.end) {
        if (heading) b.heading(heading.level, heading.parts.join(" "));
        heading = { level, parts: [] };
      } else if (heading) {
        const text = heading.parts.join(" ").replace(/\s+/g, " ").trim();
        if (heading.level === 1 && firstH1 === null && text !== "") firstH1 = text;
        b.heading(heading.level, text);
        heading = null;
      }
      continue;
    }
    if (name === "pre") {
      if (tag.end && pre > 0) {
        pre--;
        if (pre === 0) {
          b.preformatted(preBuf.join(""));
          preBuf = [];
        }
      } else if (!tag.end && !tag.selfClosing) {
        if (pre === 0) b.paragraph();
        pre++;
      }
      continue;
    }
    if (pre > 0) {
      if (name === "br" || ((name === "p" || name === "div" || name === "li" || name === "tr") && tag.end)) preBuf.push("\n");
      continue;
    }
    if (name === "img" && !tag.end) {
      const alt = tag.attrs.alt?.trim();
      if (alt) emitText(` ${alt} `);
      continue;
    }
    if (name === "td" || name === "th") {
      if (!tag.end) {
        if (cellInRow > 0 && !heading) b.inline(" | ");
        cellInRow++;
      }
      continue;
    }
    if (name === "tr") cellInRow = 0;
    if (heading) {
      // Breaks inside a heading become spaces.
      if (PARAGRAPH_BLOCKS.has(name) || LINE_BLOCKS.has(name)) heading.parts.push(" ");
      continue;
    }
    if (PARAGRAPH_BLOCKS.has(name)) b.paragraph();
    else if (LINE_BLOCKS.has(name)) {
      b.lineBreak();
      if (name === "li" && !tag.end) b.inline("- ");
    }
    // Anything else is inline (span, a, em...): no break; inline() keeps the spacing.
  }
  if (heading) b.heading(heading.level, heading.parts.join(" "));
  if (preBuf.length > 0) b.preformatted(preBuf.join(""));
  const built = b.build();
  return { title: title ?? firstH1, ...built };
}
