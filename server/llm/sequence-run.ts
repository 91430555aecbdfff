import "server-only";
import type { ChatHistoryItem, ChatWrapper, ChatWrapperGeneratedContextState, LlamaContextSequence, LlamaText, Token, Tokenizer } from "node-llama-cpp";
import { EngineError } from "./errors";
import { answerRoom } from "./prompt-room";
import { StopTextMatcher, StopTokenMatcher, TokenTextDecoder } from "./token-text";

export type RunSampling = {
  temperature: number;
  topP: number;
  topK: number;
  repeatPenalty: number;
  maxTokens: number;
  seed?: number;
};

/** One generation on a leased sequence; both engines (sequence-run, llamachat-run) take these. */
export type RunArgs = {
  sequence: LlamaContextSequence;
  chatWrapper: ChatWrapper;
  history: ChatHistoryItem[];
  sampling: RunSampling;
  signal: AbortSignal;
  onToken: (count: number) => void;
  onText: (text: string) => void;
  /** Keeps this sequence in step with the context's other generating sequences (batching.ts StepBarrier). */
  lockstep?: { arrive: () => Promise<void>; leave: () => void };
};

/** stopReason uses LlamaChat's names: eogToken, stopGenerationTrigger, maxTokens, abort. */
export type RunResult = { stopReason: string; promptTokens: number };

/** Same window as LlamaChat's repeat penalty (last 64 generated tokens, newlines not punished). */
export const REPEAT_PENALTY_LAST_TOKENS = 64;

/**
 * Whether a chat template can run on the plain token loop below: it has to be text in, text
 * out. Templates with thought segments, prefix triggers (function calls, reasoning), rerendering
 * or text to ignore at the start need LlamaChat's state machine.
 */
export function plainTemplate(wrapper: ChatWrapper, state: ChatWrapperGeneratedContextState): boolean {
  const segments = wrapper.settings.segments;
  if (segments?.thought || segments?.comment) return false;
  const s = state as Partial<{ prefixTriggers: unknown[]; noPrefixTrigger: unknown; rerender: unknown; functionCall: unknown; ignoreStartText: unknown[] }>;
  return !s.prefixTriggers?.length && !s.noPrefixTrigger && !s.rerender && !s.functionCall && !s.ignoreStartText?.length;
}

/** Splits the template's stop triggers: plain text is matched in the streamed text, anything with special tokens on token ids. */
export function stopTriggers(triggers: readonly LlamaText[], tokenizer: Tokenizer) {
  const text: string[] = [];
  const tokens: Token[][] = [];
  for (const trigger of triggers) {
    if (trigger.values.every((v) => typeof v === "string")) text.push(trigger.values.join(""));
    else tokens.push(trigger.tokenize(tokenizer, "trimLeadingSpace"));
  }
  return { text, tokens };
}

/**
 * Renders the history with the model's chat template; drops the oldest turns (never the system
 * prompt or the last user message) until the prompt leaves room for the answer.
 */
function fitPrompt(args: RunArgs, state: ChatWrapperGeneratedContextState) {
  return fitPromptTokens(
    { history: args.history, chatWrapper: args.chatWrapper, tokenizer: args.sequence.model.tokenizer, contextSize: args.sequence.context.contextSize, maxTokens: args.sampling.maxTokens },
    state,
  );
}

/** fitPrompt for any engine: `contextSize` is one sequence's context. */
export function fitPromptTokens(
  args: { history: ChatHistoryItem[]; chatWrapper: ChatWrapper; tokenizer: Tokenizer; contextSize: number; maxTokens: number },
  state: ChatWrapperGeneratedContextState,
) {
  const contextSize = args.contextSize;
  const room = answerRoom(contextSize, args.maxTokens);
  let history = args.history;
  let tokens = state.contextText.tokenize(args.tokenizer);
  for (;;) {
    if (tokens.length + room < contextSize) return { tokens, state };
    const first = history.findIndex((h) => h.type !== "system");
    const lastUser = history.findLastIndex((h) => h.type === "user");
    if (first < 0 || first >= lastUser) {
      throw new EngineError("CONTEXT_OVERFLOW", `The message is too long for this model: the prompt is ${tokens.length} tokens and the context holds ${contextSize}.`);
    }
    history = [...history.slice(0, first), ...history.slice(first + 1)];
    state = args.chatWrapper.generateContextState({ chatHistory: history });
    tokens = state.contextText.tokenize(args.tokenizer);
  }
}

/**
 * Generation on `LlamaContextSequence.evaluate()`: the model's chat template renders the prompt,
 * tokens already in the sequence's KV cache are kept (a follow-up turn only evaluates the new
 * tokens), and stop triggers, detokenization and the repeat-penalty window are handled here.
 * LlamaChat.generateResponse does the same (plus segment and function-call detectors on every
 * token), but its loop cannot wait for the other sequences of a step, and that lockstep
 * (`args.lockstep`, batching.ts) is what keeps each step one decode (bench/ENGINE-TUNING.md).
 */
export async function sequenceRun(args: RunArgs, initial: ChatWrapperGeneratedContextState): Promise<RunResult> {
  const { sequence, sampling, signal } = args;
  const { tokens, state } = fitPrompt(args, initial);

  // Keep the cached prefix; at least the last prompt token must be evaluated to get logits.
  await sequence.adaptStateToTokens(tokens, false);
  if (sequence.nextTokenIndex >= tokens.length) {
    await sequence.eraseContextTokenRanges([{ start: tokens.length - 1, end: sequence.nextTokenIndex }]);
  }
  const input = tokens.slice(sequence.nextTokenIndex);
  const maxTokens = Math.max(0, Math.min(sampling.maxTokens, sequence.context.contextSize - 1 - tokens.length));

  const triggers = stopTriggers(state.stopGenerationTriggers, sequence.model.tokenizer);
  const stopText = new StopTextMatcher(triggers.text);
  const stopTokens = new StopTokenMatcher(triggers.tokens);
  const decoder = new TokenTextDecoder(sequence.model);
  const generated: Token[] = [];
  const newline = sequence.model.tokens.nl;
  const punishTokens = () => {
    const out: Token[] = [];
    for (let i = Math.max(0, generated.length - REPEAT_PENALTY_LAST_TOKENS); i < generated.length; i++) {
      if (generated[i] !== newline) out.push(generated[i]!);
    }
    return out;
  };

  let stopReason: string | null = null;
  if (maxTokens === 0) stopReason = "maxTokens";
  else if (signal.aborted) stopReason = "abort";
  else {
    const evaluation = sequence.evaluate(input, {
      temperature: sampling.temperature,
      topK: sampling.topK,
      topP: sampling.topP,
      seed: sampling.seed,
      repeatPenalty:
        sampling.repeatPenalty === 1 ? undefined : { penalty: sampling.repeatPenalty, punishTokens, maxPunishTokens: REPEAT_PENALTY_LAST_TOKENS },
    });
    try {
      for await (const token of evaluation) {
        generated.push(token);
        args.onToken(generated.length);
        if (stopTokens.push(token)) stopReason = "stopGenerationTrigger";
        else {
          const piece = decoder.push(token);
          const shown = piece ? stopText.push(piece) : null;
          if (shown?.text) args.onText(shown.text);
          if (shown?.stopped) stopReason = "stopGenerationTrigger";
          else if (generated.length >= maxTokens) stopReason = "maxTokens";
          else if (signal.aborted) stopReason = "abort";
        }
        if (stopReason) break;
        await args.lockstep?.arrive();
      }
    } finally {
      // Before the iterator's cleanup: the others must not wait for this sequence.
      args.lockstep?.leave();
    }
  }
  stopReason ??= "eogToken";
  if (stopReason !== "stopGenerationTrigger") {
    const tail = stopText.push(decoder.flush());
    const rest = tail.stopped ? tail.text : tail.text + stopText.flush();
    if (rest) args.onText(rest);
    if (tail.stopped) stopReason = "stopGenerationTrigger";
  }
  return { stopReason, promptTokens: tokens.length };
}
