import { gpt2PreTokenize } from "./pretokenize";
import { BYTE_TO_CHAR, CHAR_TO_BYTE, bytesToSymbols, utf8 } from "./unicode";

/** GGUF tokenizer.ggml.token_type values (llama.cpp LLAMA_TOKEN_TYPE_*). */
export const TOKEN_TYPE_NORMAL = 1;
export const TOKEN_TYPE_CONTROL = 3;

export const SPECIAL_TOKENS = {
  endOfText: "<|endoftext|>",
  imStart: "<|im_start|>",
  imEnd: "<|im_end|>",
} as const;

/** Standard ChatML Jinja template; node-llama-cpp resolves it to its ChatMLChatWrapper. */
export const CHATML_JINJA_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Serialisable form; also the shape of the native trainer's "tokenizer" config (scratch mode). */
export interface BpeTokenizerData {
  model: "gpt2";
  pre: "gpt-2";
  tokens: string[];
  token_type: number[];
  merges: string[];
  bos_id: number;
  eos_id: number;
  eot_id?: number;
  pad_id?: number;
  chat_template?: string;
  add_bos: boolean;
}

export interface EncodeOptions {
  /** Parse control tokens such as <|im_start|> in the text (llama.cpp parse_special). Default false. */
  special?: boolean;
}

export interface DecodeOptions {
  /** Emit the text of control tokens (llama.cpp unparse_special). Default false. */
  special?: boolean;
  /**
   * Apply llama.cpp's clean_up_tokenization_spaces passes (" ." → ".", " 's" → "'s", …), which
   * llama.cpp enables for every "gpt-2" BPE vocab; node-llama-cpp's detokenize() therefore does it.
   * Default false: exact byte round trip.
   */
  cleanSpaces?: boolean;
}

const decoder = new TextDecoder("utf-8");

function escapeRegExp(s: string) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Byte-level BPE encoder/decoder that reproduces llama.cpp's "gpt2" tokenizer model with the
 * "gpt-2" pre-tokenizer, token for token.
 */
export class BpeTokenizer {
  readonly data: BpeTokenizerData;
  private readonly idOf = new Map<string, number>();
  private readonly ranks = new Map<string, number>(); // "left right" -> rank
  private readonly controlIds: number[] = [];
  private readonly controlRegex: RegExp | null;
  private readonly tokenBytes: Uint8Array[];
  private readonly cache = new Map<string, number[]>();

  constructor(data: BpeTokenizerData) {
    if (data.tokens.length !== data.token_type.length) throw new Error("tokens and token_type lengths differ");
    this.data = data;
    data.tokens.forEach((t, i) => {
      if (!this.idOf.has(t)) this.idOf.set(t, i);
      if (data.token_type[i] === TOKEN_TYPE_CONTROL) this.controlIds.push(i);
    });
    data.merges.forEach((m, i) => {
      if (!this.ranks.has(m)) this.ranks.set(m, i);
    });
    for (const ch of BYTE_TO_CHAR) if (!this.idOf.has(ch)) throw new Error(`byte token ${JSON.stringify(ch)} missing`);
    const specials = this.controlIds
      .map((id) => data.tokens[id]!)
      .filter((t) => t.length > 0)
      .sort((a, b) => b.length - a.length);
    this.controlRegex = specials.length ? new RegExp(specials.map(escapeRegExp).join("|"), "g") : null;
    this.tokenBytes = data.tokens.map((t, i) => {
      if (data.token_type[i] === TOKEN_TYPE_CONTROL) return utf8(t);
      const bytes: number[] = [];
      for (const ch of t) {
        const b = CHAR_TO_BYTE.get(ch);
        if (b === undefined) bytes.push(...utf8(ch));
        else bytes.push(b);
      }
      return Uint8Array.from(bytes);
    });
  }

  get vocabSize() {
    return this.data.tokens.length;
  }
  get bos() {
    return this.data.bos_id;
  }
  get eos() {
    return this.data.eos_id;
  }
  get eot() {
    return this.data.eot_id;
  }

  tokenId(text: string): number | undefined {
    return this.idOf.get(text);
  }

  isControl(id: number) {
    return this.data.token_type[id] === TOKEN_TYPE_CONTROL;
  }

  /** Same result as node-llama-cpp `model.tokenize(text, special)` (no BOS is added). */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (options.special && this.controlRegex) {
      let last = 0;
      for (const m of text.matchAll(this.controlRegex)) {
        if (m.index > last) this.encodeOrdinary(text.slice(last, m.index), out);
        out.push(this.idOf.get(m[0])!);
        last = m.index + m[0].length;
      }
      if (last < text.length) this.encodeOrdinary(text.slice(last), out);
    } else {
      this.encodeOrdinary(text, out);
    }
    return out;
  }

  private encodeOrdinary(text: string, out: number[]) {
    for (const word of gpt2PreTokenize(text)) {
      let ids = this.cache.get(word);
      if (!ids) {
        ids = this.bpe(bytesToSymbols(utf8(word)));
        if (this.cache.size < 100_000) this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  /** Applies merges in rank order (lowest first, leftmost on ties), as llama.cpp's bigram queue does. */
  private bpe(symbols: string): number[] {
    const parts = Array.from(symbols);
    while (parts.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      parts.splice(best, 2, parts[best]! + parts[best + 1]!);
    }
    const ids: number[] = [];
    for (const p of parts) {
      const id = this.idOf.get(p);
      if (id !== undefined) ids.push(id);
      else for (const ch of p) ids.push(this.idOf.get(ch)!); // never happens with a consistent vocab
    }
    return ids;
  }

  /** Raw bytes of one token (control tokens: their text only when special). */
  tokenToBytes(id: number, special = false): Uint8Array {
    if (this.isControl(id) && !special) return new Uint8Array(0);
    const b = this.tokenBytes[id];
    if (!b) throw new RangeError(`token id ${id} out of range (vocab ${this.vocabSize})`);
    return b;
  }

  decodeBytes(ids: readonly number[], options: DecodeOptions = {}): Uint8Array {
    const chunks = ids.map((id) => this.tokenToBytes(id, options.special));
    const total = chunks.reduce((n, c) => n + c.length, 0);
    let bytes: Uint8Array<ArrayBuffer> = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) {
      bytes.set(c, o);
      o += c.length;
    }
    if (options.cleanSpaces) bytes = cleanSpaces(bytes);
    return bytes;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    return decoder.decode(this.decodeBytes(ids, options));
  }

  /** The native trainer's "tokenizer" config / GGUF tokenizer metadata. */
  toJSON(): BpeTokenizerData {
    return this.data;
  }
}

/** Port of the clean_spaces passes in llama_vocab::impl::detokenize (llama.cpp src/llama-vocab.cpp). */
export function cleanSpaces(input: Uint8Array): Uint8Array<ArrayBuffer> {
  const SP = 0x20;
  const APOS = 0x27;
  let text = Uint8Array.from(input);
  // pass 1: " ?", " !", " .", " ,"
  {
    const n = text.length;
    let total = n ? 1 : 0;
    for (let i = 1; i < n; i++) {
      const x = text[i]!;
      if (text[i - 1] === SP && (x === 0x3f || x === 0x21 || x === 0x2e || x === 0x2c)) total--;
      text[total++] = x;
    }
    text = text.slice(0, total);
  }
  // pass 2: strip single apostrophe between spaces " ' "
  {
    const n = text.length;
    let total = n ? 1 : 0;
    for (let i = 1; i < n; i++) {
      const x = text[i]!;
      if (x === APOS && i + 1 < n && text[i - 1] === SP && text[i + 1] === SP) {
        total--;
        text[++i] = 0;
      }
      text[total++] = x;
    }
    text = text.slice(0, total);
  }
  // pass 3: contractions " 's", " 'm", " 're", " 've"
  {
    const n = text.length;
    let total = n ? 1 : 0;
    for (let i = 1; i < n; i++) {
      const x = text[i]!;
      if (text[i - 1] === SP && x === APOS && i + 1 < n) {
        const x1 = text[i + 1]!;
        if (x1 === 0x73 || x1 === 0x6d) total--;
        else if (i + 2 < n) {
          const x2 = text[i + 2]!;
          if ((x1 === 0x72 && x2 === 0x65) || (x1 === 0x76 && x2 === 0x65)) total--;
        }
      }
      text[total++] = x;
    }
    text = text.slice(0, total);
  }
  return text;
}
