import { BpeTokenizer, CHATML_JINJA_TEMPLATE, SPECIAL_TOKENS, TOKEN_TYPE_CONTROL, TOKEN_TYPE_NORMAL, type BpeTokenizerData } from "./bpe";
import { gpt2PreTokenize } from "./pretokenize";
import { BYTE_TO_CHAR, bytesToSymbols, utf8 } from "./unicode";

export interface TrainBpeOptions {
  /** Total vocabulary size including the 256 byte tokens and the control tokens. */
  vocabSize: number;
  /** Minimum pair frequency for a merge (default 2). */
  minFrequency?: number;
  /** Control tokens appended after the merges (default: <|endoftext|>, <|im_start|>, <|im_end|>). */
  specialTokens?: string[];
  chatTemplate?: string | null;
  onProgress?: (merges: number, target: number) => void;
}

/**
 * Trains a byte-level BPE vocabulary (GPT-2 style, llama.cpp "gpt2"/"gpt-2" compatible).
 * Deterministic: same corpus + options ⇒ identical tokens and merges.
 * Ties between equally frequent pairs are broken by the lexicographic order of "left right".
 *
 * Layout: ids 0..255 are the byte tokens (id = byte value), then one token per merge,
 * then the control tokens. bos = eos = <|endoftext|>, eot = <|im_end|>.
 */
export function trainBpe(corpus: Iterable<string>, options: TrainBpeOptions): BpeTokenizer {
  const specials = options.specialTokens ?? [SPECIAL_TOKENS.endOfText, SPECIAL_TOKENS.imStart, SPECIAL_TOKENS.imEnd];
  const minFrequency = options.minFrequency ?? 2;
  const targetMerges = options.vocabSize - 256 - specials.length;
  if (targetMerges < 0) throw new Error(`vocabSize ${options.vocabSize} is below the minimum ${256 + specials.length}`);

  // 1. word frequencies (control tokens in the corpus are not learned)
  const splitter = specials.length
    ? new RegExp(specials.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g")
    : null;
  const wordCounts = new Map<string, number>();
  for (const doc of corpus) {
    for (const part of splitter ? doc.split(splitter) : [doc]) {
      for (const w of gpt2PreTokenize(part)) {
        const sym = bytesToSymbols(utf8(w));
        wordCounts.set(sym, (wordCounts.get(sym) ?? 0) + 1);
      }
    }
  }

  // 2. symbols as ids
  const tokens: string[] = [...BYTE_TO_CHAR];
  const idOf = new Map<string, number>(tokens.map((t, i) => [t, i]));
  const sortedWords = [...wordCounts.keys()].sort();
  const words: number[][] = sortedWords.map((w) => Array.from(w, (ch) => idOf.get(ch)!));
  const counts: number[] = sortedWords.map((w) => wordCounts.get(w)!);

  const merges: string[] = [];
  const newTokens: string[] = [];
  while (newTokens.length < targetMerges) {
    const pairCounts = new Map<number, number>();
    for (let w = 0; w < words.length; w++) {
      const syms = words[w]!;
      const c = counts[w]!;
      for (let i = 0; i + 1 < syms.length; i++) {
        const key = syms[i]! * 0x100000 + syms[i + 1]!;
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + c);
      }
    }
    let bestKey = -1;
    let bestCount = 0;
    let bestText = "";
    for (const [key, c] of pairCounts) {
      if (c < bestCount || c < minFrequency) continue;
      const text = `${tokens[Math.floor(key / 0x100000)]} ${tokens[key % 0x100000]}`;
      if (c > bestCount || text < bestText) {
        bestKey = key;
        bestCount = c;
        bestText = text;
      }
    }
    if (bestKey < 0) break;
    const left = Math.floor(bestKey / 0x100000);
    const right = bestKey % 0x100000;
    const merged = tokens[left]! + tokens[right]!;
    let mergedId = idOf.get(merged);
    if (mergedId === undefined) {
      mergedId = tokens.length;
      tokens.push(merged);
      idOf.set(merged, mergedId);
      newTokens.push(merged);
    }
    merges.push(bestText);
    for (const syms of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        if (syms[i] === left && syms[i + 1] === right) syms.splice(i, 2, mergedId);
      }
    }
    options.onProgress?.(newTokens.length, targetMerges);
  }

  const specialStart = tokens.length;
  for (const s of specials) tokens.push(s);
  const token_type = tokens.map((_, i) => (i >= specialStart ? TOKEN_TYPE_CONTROL : TOKEN_TYPE_NORMAL));
  const find = (s: string) => {
    const i = specials.indexOf(s);
    return i >= 0 ? specialStart + i : undefined;
  };
  const eos = find(SPECIAL_TOKENS.endOfText) ?? specialStart;
  const data: BpeTokenizerData = {
    model: "gpt2",
    pre: "gpt-2",
    tokens,
    token_type,
    merges,
    bos_id: eos,
    eos_id: eos,
    ...(find(SPECIAL_TOKENS.imEnd) !== undefined ? { eot_id: find(SPECIAL_TOKENS.imEnd)! } : {}),
    pad_id: eos,
    ...(options.chatTemplate !== null ? { chat_template: options.chatTemplate ?? CHATML_JINJA_TEMPLATE } : {}),
    add_bos: false,
  };
  return new BpeTokenizer(data);
}
