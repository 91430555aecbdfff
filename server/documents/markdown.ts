import { decodeEntities, TextBuilder } from "./builder";

/** Longest line we run inline clean-up regexes on (keeps hostile input linear). */
const MAX_INLINE_CLEAN = 10_000;

/** Removes link/emphasis/code syntax, keeping the words a reader sees. */
export function cleanInlineMarkdown(line: string): string {
  if (line.length > MAX_INLINE_CLEAN) return line;
  return decodeEntities(
    line
      .replace(/<!--.*?-->/g, "")
      .replace(/!\[([^\]\n]*)\]\([^)\n]*\)/g, "$1")
      .replace(/\[([^\]\n]+)\]\([^)\n]*\)/g, "$1")
      .replace(/\[([^\]\n]+)\]\[[^\]\n]*\]/g, "$1")
      .replace(/<((?:https?|mailto):[^>\s]+)>/g, "$1")
      .replace(/<\/?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?\/?>/g, "")
      .replace(/(`+)([^`]+?)\1/g, "$2")
      .replace(/(\*\*|__)(?=\S)([^*_\n]+?)\1/g, "$2")
      .replace(/(^|[\s(])\*(?=\S)([^*\n]+?)\*/g, "$1$2")
      .replace(/~~(?=\S)([^~\n]+?)~~/g, "$1"),
  );
}

/** ATX heading ("## Title ##") without regex backtracking on long lines. */
function atxHeading(line: string): { level: number; text: string } | null {
  let i = 0;
  while (i < 3 && line[i] === " ") i++;
  let level = 0;
  while (line[i + level] === "#") level++;
  if (level < 1 || level > 6) return null;
  const after = line[i + level];
  if (after !== undefined && after !== " " && after !== "\t") return null;
  let text = line.slice(i + level).trim();
  // Optional closing sequence: spaces then only #s.
  let end = text.length;
  while (end > 0 && text[end - 1] === "#") end--;
  if (end === 0) text = "";
  else if (end < text.length && (text[end - 1] === " " || text[end - 1] === "\t")) text = text.slice(0, end).trim();
  return { level, text };
}

const isBlank = (l: string) => l.trim() === "";
const isSetextUnderline = (l: string): 1 | 2 | 0 => {
  const t = l.trim();
  if (l.length - l.trimStart().length > 3 || t === "") return 0;
  if (/^=+$/.test(t)) return 1;
  if (/^-+$/.test(t)) return 2;
  return 0;
};
const isThematicBreak = (l: string) => /^ {0,3}([-*_])[ \t]*(?:\1[ \t]*){2,}$/.test(l);
const isListOrQuote = (l: string) => /^ {0,3}(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)|^ {0,3}>/.test(l);
const isTableDivider = (l: string) => l.includes("|") && l.includes("-") && /^[\s|:-]+$/.test(l);
const isRefDefinition = (l: string) => /^ {0,3}\[[^\]]+\]:[ \t]*\S+/.test(l);

export function parseMarkdown(source: string): { title: string | null; text: string; outline: { offset: number; level: number; text: string }[] } {
  const lines = source.split("\n");
  const b = new TextBuilder();
  let title: string | null = null;
  let i = 0;

  // YAML/TOML front matter: keep its title, drop the rest.
  const fm = lines[0]?.trim();
  if (fm === "---" || fm === "+++") {
    for (let j = 1; j < Math.min(lines.length, 200); j++) {
      const l = lines[j]!.trim();
      if (l === fm || (fm === "---" && l === "...")) {
        for (const m of lines.slice(1, j)) {
          const t = /^title\s*[:=]\s*(.+)$/i.exec(m.trim());
          if (t) title = t[1]!.trim().replace(/^["']|["']$/g, "") || null;
        }
        i = j + 1;
        break;
      }
    }
  }

  while (i < lines.length) {
    const line = lines[i]!;
    // Fenced code: verbatim until the matching fence.
    const fence = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      const marker = fence[1]!;
      const body: string[] = [];
      i++;
      while (i < lines.length) {
        const l = lines[i]!;
        const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(l);
        if (close && close[1]![0] === marker[0] && close[1]!.length >= marker.length) break;
        body.push(l);
        i++;
      }
      i++; // the closing fence (or past the end)
      b.preformatted(body.join("\n"));
      continue;
    }
    if (isBlank(line)) {
      b.paragraph();
      i++;
      continue;
    }
    const atx = atxHeading(line);
    if (atx) {
      const text = cleanInlineMarkdown(atx.text);
      if (atx.level === 1 && title === null && text.trim() !== "") title = text.trim();
      b.heading(atx.level, text);
      i++;
      continue;
    }
    const next = lines[i + 1];
    const prevBlank = i === 0 || isBlank(lines[i - 1]!);
    if (next !== undefined && prevBlank && !isListOrQuote(line) && !isThematicBreak(line)) {
      const level = isSetextUnderline(next);
      if (level) {
        const text = cleanInlineMarkdown(line.trim());
        if (level === 1 && title === null && text !== "") title = text;
        b.heading(level, text);
        i += 2;
        continue;
      }
    }
    if (isThematicBreak(line)) {
      b.paragraph();
      i++;
      continue;
    }
    if (isTableDivider(line) || isRefDefinition(line)) {
      i++;
      continue;
    }
    // Blockquote markers go; list markers stay (they read naturally in a passage).
    const unquoted = line.replace(/^( {0,3}>[ \t]?)+/, "");
    b.line(cleanInlineMarkdown(unquoted));
    i++;
  }
  return { title, ...b.build() };
}

/** Plain text: lines kept, trailing spaces and runs of blank lines trimmed. */
export function parsePlainText(source: string): { title: null; text: string; outline: [] } {
  const b = new TextBuilder();
  for (const line of source.split("\n")) {
    if (isBlank(line)) b.paragraph();
    else b.line(line);
  }
  return { title: null, text: b.build().text, outline: [] };
}
