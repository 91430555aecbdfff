import type { Token, Tokenizer } from "node-llama-cpp";
import type { BpeTokenizer } from "./bpe";

/**
 * Exposes a BpeTokenizer as a node-llama-cpp `Tokenizer` (the `model.tokenizer` shape), so that
 * LlamaText / chat wrappers tokenize exactly as they would with the GGUF loaded in node-llama-cpp.
 * The logic mirrors LlamaModel.tokenize()/detokenize() in node-llama-cpp 3.21 (including the
 * "trimLeadingSpace" workaround and llama.cpp's clean_spaces on detokenize).
 */
export function bpeAsLlamaTokenizer(bpe: BpeTokenizer): Tokenizer {
  const nl = bpe.tokenId("\u010a"); // byte 0x0a in GPT-2's byte alphabet
  const bos = bpe.bos;
  const eos = bpe.eos;
  const eot = bpe.eot;
  const bosString = bpe.data.tokens[bos]!;

  const raw = (text: string, special: boolean) => bpe.encode(text, { special }) as Token[];
  const detokenize = (tokens: readonly Token[], specialTokens = false, lastTokens?: readonly Token[]): string => {
    if (tokens.length === 0) return "";
    const dec = (t: readonly Token[]) => bpe.decode(t, { special: specialTokens, cleanSpaces: true });
    if (!lastTokens || lastTokens.length === 0) return dec(tokens);
    const added = lastTokens.slice(-16);
    const addedText = dec(added);
    if (addedText === "") return dec(tokens);
    const text = dec([...added, ...tokens]);
    return text.startsWith(addedText) ? text.slice(addedText.length) : dec(tokens);
  };
  const countLeadingSpaces = (text: string) => {
    let count = 0;
    while (count < text.length && text[count] === " ") count++;
    return count;
  };

  function tokenize(text: string, specialTokens: boolean | "builtin" = false, options?: "trimLeadingSpace"): Token[] {
    if (text === "") return [];
    if (specialTokens === "builtin") {
      switch (text) {
        case "BOS": return [bos as Token];
        case "EOS": return [eos as Token];
        case "NL": return nl === undefined ? [] : [nl as Token];
        case "EOT": return eot === undefined ? [] : [eot as Token];
        case "SEP": return [];
      }
      throw new Error(`Unknown builtin special token: ${text}`);
    }
    if (options === "trimLeadingSpace") {
      if (specialTokens) {
        const textLeadingSpaces = countLeadingSpaces(text);
        const [workaroundToken, workaroundString] = [bos, bosString];
        {
          const tokens = raw(workaroundString + text, true);
          const idx = tokens.indexOf(workaroundToken as Token);
          if (idx >= 0 && idx <= 1) {
            tokens.splice(0, idx + 1);
            if (countLeadingSpaces(detokenize(tokens, true)) === textLeadingSpaces) return tokens;
          }
        }
        const nlString = "\n";
        const nlTokens = raw(nlString, true);
        if (text.startsWith(nlString)) {
          const tokens = raw(text, true);
          if (detokenize(tokens, true).startsWith(nlString)) return tokens;
        }
        const tokens = raw(nlString + text, true);
        if (nlTokens.length > 0 && nlTokens.every((t, i) => tokens[i] === t)) {
          tokens.splice(0, nlTokens.length);
          if (countLeadingSpaces(detokenize(tokens, true)) === textLeadingSpaces) return tokens;
        }
      } else {
        const nlString = "\n";
        const nlTokens = raw(nlString, false);
        if (text.startsWith(nlString)) {
          const tokens = raw(text, false);
          if (detokenize(tokens, false).startsWith(nlString)) return tokens;
        }
        const tokens = raw(nlString + text, false);
        if (nlTokens.length > 0 && nlTokens.every((t, i) => tokens[i] === t)) {
          tokens.splice(0, nlTokens.length);
          return tokens;
        }
      }
    }
    return raw(text, Boolean(specialTokens));
  }

  const isEogToken = (token: Token) => token === eos || token === eot;
  const isSpecialToken = (token: Token) => bpe.isControl(token) || isEogToken(token);
  return Object.assign(tokenize, { detokenize, isSpecialToken, isEogToken }) as unknown as Tokenizer;
}
