import { ChatMLChatWrapper, resolveChatWrapper, type ChatWrapper, type Llama, type LlamaModel, type Token, type Tokenizer } from "node-llama-cpp";
import { ForgeError } from "../errors";
import type { BpeTokenizer } from "../tokenizer/bpe";
import { bpeAsLlamaTokenizer } from "../tokenizer/llama-adapter";

// Tokenizer abstraction: our own BPE (training from scratch) or a loaded GGUF (fine-tuning).
// Both go through node-llama-cpp's Tokenizer interface and chat wrappers, exactly like serving.

export interface ForgeTokenizer {
  /** node-llama-cpp Tokenizer (for a loaded model: `model.tokenizer`) */
  tokenizer: Tokenizer;
  /** chat wrapper used to render SFT records; must be the one serving resolves for the model */
  chatWrapper: ChatWrapper;
  bos: number | null;
  eos: number;
  /** token used to pad rows (masked out) */
  pad: number;
  /** prepend BOS to raw-text documents */
  addBosToDocuments: boolean;
  vocabSize: number;
}

/** Scratch training: our BPE + ChatML (what node-llama-cpp resolves from our embedded template). */
export function forgeTokenizerFromBpe(bpe: BpeTokenizer, chatWrapper: ChatWrapper = new ChatMLChatWrapper()): ForgeTokenizer {
  return {
    tokenizer: bpeAsLlamaTokenizer(bpe),
    chatWrapper,
    bos: bpe.bos,
    eos: bpe.eos,
    pad: bpe.data.pad_id ?? bpe.eos,
    addBosToDocuments: bpe.data.add_bos && bpe.bos !== bpe.eos,
    vocabSize: bpe.vocabSize,
  };
}

/** Fine-tuning: the base model's own tokenizer and the chat wrapper serving resolves for it. */
export function forgeTokenizerFromModel(model: LlamaModel, chatWrapper?: ChatWrapper): ForgeTokenizer {
  const eos = model.tokens.eos ?? model.tokens.eot;
  if (eos == null) throw new ForgeError("BAD_GGUF", "the model has neither an EOS nor an EOT token");
  return {
    tokenizer: model.tokenizer,
    chatWrapper: chatWrapper ?? resolveChatWrapper(model) ?? new ChatMLChatWrapper(),
    bos: model.tokens.bos,
    eos,
    pad: eos,
    addBosToDocuments: model.tokens.shouldPrependBosToken,
    vocabSize: countTokens(model),
  };
}

function countTokens(model: LlamaModel) {
  let n = 0;
  for (const _ of model.iterateAllTokens()) n++;
  return n;
}

/** Loads only the vocabulary of a GGUF (fast, no weights) for dataset preparation. */
export async function loadTokenizerModel(llama: Llama, modelPath: string): Promise<LlamaModel> {
  return llama.loadModel({ modelPath, vocabOnly: true });
}

