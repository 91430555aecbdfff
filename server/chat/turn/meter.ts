import "server-only";
import { createHash } from "node:crypto";
import { toChatHistory, type Turn } from "../../llm/chat-history";
import type { Serving } from "../../llm/pool";

/*
 * Token counts for fitting a prompt, from the model that will answer. Fitting (fit.ts) only needs
 * these three things, so any engine that can tokenize like its model can be fitted for.
 */

export type PromptMeter = {
  /** Per-conversation context of the model, in tokens. */
  contextSize: number;
  /** Tokens of plain text under the model's tokenizer (cached by content: each stored message is tokenized once). */
  count(text: string): number;
  /** Tokens of the whole prompt as the model's chat template renders it (system prompt, turns, the answer's opening). */
  render(systemPrompt: string, turns: Turn[]): number;
};

/**
 * Token counts by content, per tokenizer. Keyed by a hash, not the text, so a long message costs
 * 40 bytes here; least recently used entries go first.
 */
class CountCache {
  private readonly entries = new Map<string, number>();
  constructor(private readonly capacity: number) {}

  get(key: string, compute: () => number): number {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const value = compute();
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }
}

const g = globalThis as unknown as { atelierTokenCounts?: CountCache };
const counts = () => (g.atelierTokenCounts ??= new CountCache(20_000));

/** Texts shorter than this are tokenized directly: hashing them costs about as much. */
const CACHE_FROM_CHARS = 256;

/** What a meter needs of a served model (either engine's serving has it). */
export type MeteredServing = Pick<Serving, "contextSize" | "chatWrapper"> & { spec: Pick<Serving["spec"], "modelPath">; model: Pick<Serving["model"], "tokenizer"> };

/**
 * The meter of a served model, on either engine: its tokenizer and chat template, its context
 * size per conversation. The native loop renders and tokenizes with the same vocabulary-only
 * node-llama-cpp model, so counts here are the tokens the loop will evaluate.
 */
export function servingMeter(serving: MeteredServing): PromptMeter {
  const { tokenizer } = serving.model;
  const modelKey = serving.spec.modelPath;
  const countNow = (text: string) => tokenizer(text).length;
  return {
    contextSize: serving.contextSize,
    count(text) {
      if (text.length < CACHE_FROM_CHARS) return countNow(text);
      const key = `${modelKey}\u0000${createHash("sha1").update(text).digest("base64")}`;
      return counts().get(key, () => countNow(text));
    },
    render(systemPrompt, turns) {
      const { contextText } = serving.chatWrapper.generateContextState({ chatHistory: toChatHistory(systemPrompt, turns) });
      return contextText.tokenize(tokenizer).length;
    },
  };
}
