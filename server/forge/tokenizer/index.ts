export * from "./bpe";
export * from "./train";
export { gpt2PreTokenize, GPT2_PRE_TOKENIZER_REGEX } from "./pretokenize";
export { bpeAsLlamaTokenizer } from "./llama-adapter";
export { BYTE_TO_CHAR, CHAR_TO_BYTE } from "./unicode";
