import "server-only";
import { LlamaChat } from "node-llama-cpp";
import type { RunArgs, RunResult } from "./sequence-run";

/**
 * Generation through LlamaChat.generateResponse: for chat templates the plain token loop
 * (sequence-run.ts) does not handle — thought segments, function-call or reasoning prefixes.
 * Thought segments stay out of the answer text (only onTextChunk is forwarded).
 */
export async function llamaChatRun(args: RunArgs): Promise<RunResult> {
  const { sequence, sampling } = args;
  const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: args.chatWrapper, autoDisposeSequence: false });
  let completionTokens = 0;
  try {
    const result = await chat.generateResponse(args.history, {
      signal: args.signal,
      stopOnAbortSignal: true,
      maxTokens: sampling.maxTokens,
      temperature: sampling.temperature,
      topP: sampling.topP,
      topK: sampling.topK,
      seed: sampling.seed,
      repeatPenalty: sampling.repeatPenalty === 1 ? false : { penalty: sampling.repeatPenalty },
      onToken: (tokens) => {
        completionTokens += tokens.length;
        args.onToken(completionTokens);
      },
      onTextChunk: args.onText,
    });
    // The sequence now holds prompt + answer (less the last sampled token when it stopped on maxTokens).
    return { stopReason: result.metadata.stopReason, promptTokens: Math.max(0, sequence.contextTokens.length - completionTokens) };
  } finally {
    chat.dispose({ disposeSequence: false });
  }
}
