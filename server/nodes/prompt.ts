import "server-only";
import { resolveChatWrapper, type ChatWrapper, type LlamaModel } from "node-llama-cpp";
import { toChatHistory, type Turn } from "../llm/chat-history";
import { llamaInstance } from "../llm/llama";

/*
 * The prompt exactly as the local engine (and forge's training data) renders it: the model's own
 * chat wrapper over the same history, tokenized by the model's tokenizer. Sent as token ids to
 * llama-server's /completion, so a node sees the very tokens this process would evaluate — its
 * own chat-template rendering can differ (llama-server does not add the BOS that node-llama-cpp's
 * ChatML wrapper puts first, and a model then answers differently). Only the vocabulary is loaded.
 */

type Vocab = { model: LlamaModel; wrapper: ChatWrapper };
const globalForVocab = globalThis as unknown as { atelierVocabs?: Map<string, Promise<Vocab>> };
const vocabs = (globalForVocab.atelierVocabs ??= new Map());

function vocabOf(modelPath: string): Promise<Vocab> {
  let entry = vocabs.get(modelPath);
  if (!entry) {
    entry = (async () => {
      const llama = await llamaInstance();
      const model = await llama.loadModel({ modelPath, vocabOnly: true });
      return { model, wrapper: resolveChatWrapper(model) };
    })();
    vocabs.set(modelPath, entry);
    entry.catch(() => vocabs.delete(modelPath));
  }
  return entry;
}

export async function renderPromptTokens(modelPath: string, systemPrompt: string, turns: Turn[]): Promise<number[]> {
  const { model, wrapper } = await vocabOf(modelPath);
  const { contextText } = wrapper.generateContextState({ chatHistory: toChatHistory(systemPrompt, turns) });
  return [...contextText.tokenize(model.tokenizer)] as number[];
}
