import "server-only";
import { resolveChatWrapper, type ChatWrapper, type LlamaModel } from "node-llama-cpp";
import { toChatHistory, type Turn } from "./chat-history";
import { inspectGguf } from "./inspect";
import { llamaInstance } from "./llama";
import { sequenceContextSize } from "./tuning";

/*
 * The prompt exactly as the local engine (and forge's training data) renders it: the model's own
 * chat wrapper over the same history, tokenized by the model's tokenizer — both engines resolve
 * the wrapper the same way (resolveChatWrapper on the model). Only the vocabulary is loaded, never
 * the weights, so a process that routes a model to inference nodes can still render its prompts:
 * llama-server gets these tokens on its /completion (its own template rendering can differ: it
 * does not add the BOS that node-llama-cpp's ChatML wrapper puts first, and a model then answers
 * differently), and "View prompt" shows this text.
 */

/** A model's vocabulary, chat wrapper and trained context, read once per file (the GGUF header parse costs milliseconds: not per turn). */
type Vocab = { model: LlamaModel; wrapper: ChatWrapper; contextLength: number | null };
const globalForVocab = globalThis as unknown as { atelierVocabs?: Map<string, Promise<Vocab>> };
const vocabs = (globalForVocab.atelierVocabs ??= new Map());

function vocabOf(modelPath: string): Promise<Vocab> {
  let entry = vocabs.get(modelPath);
  if (!entry) {
    entry = (async () => {
      const facts = await inspectGguf(modelPath); // missing / damaged files fail with their specific error
      const llama = await llamaInstance();
      const model = await llama.loadModel({ modelPath, vocabOnly: true });
      return { model, wrapper: resolveChatWrapper(model), contextLength: facts.contextLength };
    })();
    vocabs.set(modelPath, entry);
    entry.catch(() => vocabs.delete(modelPath));
  }
  return entry;
}

/** The rendered prompt for a system prompt and turns: its text and its token ids. */
export async function renderChatPrompt(modelPath: string, systemPrompt: string, turns: Turn[]): Promise<{ text: string; tokens: number[] }> {
  const { model, wrapper } = await vocabOf(modelPath);
  const { contextText } = wrapper.generateContextState({ chatHistory: toChatHistory(systemPrompt, turns) });
  return { text: contextText.toString(), tokens: [...contextText.tokenize(model.tokenizer)] as number[] };
}

export async function renderPromptTokens(modelPath: string, systemPrompt: string, turns: Turn[]): Promise<number[]> {
  return (await renderChatPrompt(modelPath, systemPrompt, turns)).tokens;
}

/**
 * What prompt fitting needs of a model, from its vocabulary alone (no weights): its tokenizer, its
 * chat wrapper and the per-conversation context it is served with (sequenceContextSize, as the
 * local pool serves it). A process that routes a version to inference nodes fits its prompts here.
 */
export async function vocabServing(modelPath: string): Promise<{
  contextSize: number;
  chatWrapper: ChatWrapper;
  spec: { modelPath: string };
  model: { tokenizer: LlamaModel["tokenizer"] };
}> {
  const { model, wrapper, contextLength } = await vocabOf(modelPath);
  return { contextSize: sequenceContextSize(contextLength), chatWrapper: wrapper, spec: { modelPath }, model: { tokenizer: model.tokenizer } };
}
