import { ForgeError } from "../errors";
import { meta, type GgufModel } from "./gguf-tensors";

/*
 * tokenizer.json (Hugging Face `tokenizers`), tokenizer_config.json and special_tokens_map.json
 * from a GGUF's byte-level BPE vocabulary ("gpt2" tokenizer model: the vocabulary strings are
 * already in GPT-2's byte-to-unicode alphabet and the merges are "a b" pairs, as HF stores them).
 * The pre-tokenizer regex is the one llama.cpp uses for the GGUF's `tokenizer.ggml.pre`.
 */

const GPT2_SPLIT = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** The split regex of each llama.cpp pre-tokenizer name this export writes. */
export const PRE_TOKENIZER_SPLITS: Record<string, string> = {
  "gpt-2": GPT2_SPLIT,
  default: GPT2_SPLIT,
  "llama-bpe": LLAMA3_SPLIT,
  llama3: LLAMA3_SPLIT,
  qwen2: QWEN2_SPLIT,
};

const CONTROL = 3;
const USER_DEFINED = 4;

export type HfTokenizerFiles = { "tokenizer.json": unknown; "tokenizer_config.json": unknown; "special_tokens_map.json": unknown };

export function hfTokenizerFiles(model: GgufModel, maxLength: number): HfTokenizerFiles & { bos: number | null; eos: number | null } {
  const kind = meta(model, "tokenizer.ggml.model");
  if (kind !== "gpt2") {
    throw new ForgeError("BAD_CONFIG", `the tokenizer of ${model.path} is "${String(kind)}"; this export writes byte-level BPE ("gpt2") tokenizers only.`);
  }
  const pre = String(meta(model, "tokenizer.ggml.pre") ?? "default");
  const split = PRE_TOKENIZER_SPLITS[pre];
  if (!split) throw new ForgeError("BAD_CONFIG", `pre-tokenizer "${pre}" of ${model.path} is not one this export writes (${Object.keys(PRE_TOKENIZER_SPLITS).join(", ")}).`);
  const tokens = meta(model, "tokenizer.ggml.tokens") as string[];
  const types = (meta(model, "tokenizer.ggml.token_type") as number[] | undefined) ?? [];
  const merges = (meta(model, "tokenizer.ggml.merges") as string[] | undefined) ?? [];
  const id = (key: string) => {
    const v = meta(model, `tokenizer.ggml.${key}`);
    return typeof v === "number" ? v : null;
  };
  const bos = id("bos_token_id");
  const eos = id("eos_token_id");
  const eot = id("eot_token_id");
  const pad = id("padding_token_id");
  const addBos = meta(model, "tokenizer.ggml.add_bos_token") === true;

  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[t] = i));
  const added = tokens
    .map((content, i) => ({ content, i, type: types[i] ?? 1 }))
    .filter((t) => t.type === CONTROL || t.type === USER_DEFINED)
    .map((t) => ({ id: t.i, content: t.content, single_word: false, lstrip: false, rstrip: false, normalized: t.type === USER_DEFINED, special: t.type === CONTROL }));
  const tok = (i: number | null) => (i === null ? null : (tokens[i] ?? null));

  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false };
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: pre === "qwen2" ? { type: "NFC" } : null,
    pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Split", pattern: { Regex: split }, behavior: "Isolated", invert: false }, byteLevel] },
    post_processor:
      addBos && bos !== null
        ? {
            type: "TemplateProcessing",
            single: [{ SpecialToken: { id: tok(bos), type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
            pair: [{ SpecialToken: { id: tok(bos), type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: tok(bos), type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
            special_tokens: { [tok(bos)!]: { id: tok(bos), ids: [bos], tokens: [tok(bos)] } },
          }
        : { ...byteLevel, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
  const special = { bos_token: tok(bos), eos_token: tok(eot ?? eos), ...(pad !== null ? { pad_token: tok(pad) } : {}) };
  const chatTemplate = meta(model, "tokenizer.chat_template");
  const tokenizerConfig = {
    tokenizer_class: "PreTrainedTokenizerFast",
    add_bos_token: addBos,
    add_eos_token: meta(model, "tokenizer.ggml.add_eos_token") === true,
    model_max_length: maxLength,
    clean_up_tokenization_spaces: false,
    ...special,
    ...(typeof chatTemplate === "string" ? { chat_template: chatTemplate } : {}),
    added_tokens_decoder: Object.fromEntries(added.map((a) => [String(a.id), { content: a.content, lstrip: false, normalized: a.normalized, rstrip: false, single_word: false, special: a.special }])),
  };
  return { "tokenizer.json": tokenizerJson, "tokenizer_config.json": tokenizerConfig, "special_tokens_map.json": special, bos, eos: eot ?? eos };
}
