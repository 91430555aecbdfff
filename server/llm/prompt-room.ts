/**
 * Tokens a prompt must leave free for the answer: the answer's cap, but at most a quarter of the
 * context (a long cap must not squeeze the question out). A prompt fits when
 * `promptTokens + answerRoom(...) < contextSize`. The chat turn fits prompts to this before
 * generating (server/chat/turn/fit.ts) and the engine checks the same rule, so they never disagree.
 */
export function answerRoom(contextSize: number, maxTokens: number): number {
  return Math.max(1, Math.min(maxTokens, Math.floor(contextSize / 4)));
}

/** The most prompt tokens a context of `contextSize` takes with `maxTokens` of answer room. */
export function promptLimit(contextSize: number, maxTokens: number): number {
  return contextSize - answerRoom(contextSize, maxTokens) - 1;
}
