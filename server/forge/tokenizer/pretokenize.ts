import { CP_LETTER, CP_NUMBER, CP_OTHER, CP_SPACE, codePointClass } from "./unicode";

/**
 * The pre-tokenizer regex llama.cpp uses for LLAMA_VOCAB_PRE_TYPE_GPT2 ("gpt-2"):
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
 * This is a faithful port of unicode_regex_split_custom_gpt2() (llama.cpp src/unicode.cpp),
 * including its code point tables, so splits match llama.cpp exactly.
 */
export const GPT2_PRE_TOKENIZER_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

const NONE = -1; // out of range: no flags at all

/** Splits text into pre-tokens ("words"). Lone surrogates are replaced with U+FFFD. */
export function gpt2PreTokenize(text: string): string[] {
  const cps: number[] = [];
  for (const ch of text.toWellFormed()) cps.push(ch.codePointAt(0)!);
  const n = cps.length;
  const cls = (pos: number) => (pos >= 0 && pos < n ? codePointClass(cps[pos]!) : NONE);
  const cpt = (pos: number) => (pos >= 0 && pos < n ? cps[pos]! : NONE);
  const out: string[] = [];
  let prevEnd = 0;
  const add = (end: number) => {
    if (end > prevEnd) out.push(String.fromCodePoint(...cps.slice(prevEnd, end)));
    prevEnd = end;
  };
  const isPunct = (c: number) => c === CP_OTHER; // not \s, \p{L}, \p{N}, and in range

  let pos = 0;
  while (pos < n) {
    const c = cps[pos]!;
    if (c === 0x27 /* ' */ && pos + 1 < n) {
      const next = cps[pos + 1]!;
      if (next === 0x73 || next === 0x74 || next === 0x6d || next === 0x64) {
        // 's 't 'm 'd
        pos += 2;
        add(pos);
        continue;
      }
      if (pos + 2 < n) {
        const nn = cps[pos + 2]!;
        if ((next === 0x72 && nn === 0x65) || (next === 0x76 && nn === 0x65) || (next === 0x6c && nn === 0x6c)) {
          // 're 've 'll
          pos += 3;
          add(pos);
          continue;
        }
      }
    }
    const isSpace = c === 0x20;
    let cls2 = isSpace ? cls(pos + 1) : cls(pos);
    if (cls2 === CP_LETTER || cls2 === CP_NUMBER) {
      const want = cls2;
      if (isSpace) pos++;
      while (cls2 === want) cls2 = cls(++pos);
      add(pos);
      continue;
    }
    if (isPunct(cls2)) {
      if (isSpace) pos++;
      while (isPunct(cls2)) cls2 = cls(++pos);
      add(pos);
      continue;
    }
    let spaces = 0;
    while (cls(pos + spaces) === CP_SPACE) spaces++;
    if (spaces > 1 && cpt(pos + spaces) !== NONE) {
      // \s+(?!\S): leave the last space to prefix the next word
      pos += spaces - 1;
      add(pos);
      continue;
    }
    if (spaces > 0) {
      pos += spaces;
      add(pos);
      continue;
    }
    add(++pos);
  }
  return out;
}
