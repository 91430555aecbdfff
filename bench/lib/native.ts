// Atelier's native generation loop called directly (no HTTP, tRPC or SQLite): the "engine alone" side of
// bench/chat-throughput.ts. Same prompt rendering as Atelier (the model's chat wrapper over the same history).
import { resolveChatWrapper, type ChatWrapper, type Llama, type LlamaModel } from "node-llama-cpp";
import { toChatHistory } from "../../server/llm/chat-history.js";
import { NativeLoop, type NativeRequest } from "../../server/llm/native-loop.js";
import { SYSTEM_PROMPT, userPrompt, now, cpuMsOf, type GenRecord, type RunResult } from "./common.js";
import type { EngineSampling } from "./raw.js";

export type NativeSide = { loop: NativeLoop; vocab: LlamaModel; wrapper: ChatWrapper; close: () => Promise<void> };

export async function openNative(llama: Llama, modelPath: string, o: { threads: number; sequences: number; ctxPerSeq: number; batch?: number }): Promise<NativeSide> {
  const vocab = await llama.loadModel({ modelPath, vocabOnly: true });
  const loop = await NativeLoop.open(llama, {
    modelPath, gpuLayers: llama.gpu === false ? 0 : -1, sequences: o.sequences, contextPerSequence: o.ctxPerSeq, batchSize: o.batch ?? 512, threads: o.threads,
  });
  return { loop, vocab, wrapper: resolveChatWrapper(vocab), close: async () => { await loop.close(); await vocab.dispose(); } };
}

export function nativePrompt(side: NativeSide, i: number, system = SYSTEM_PROMPT): number[] {
  const history = toChatHistory(system, [{ role: "user", content: userPrompt(i) }]);
  return side.wrapper.generateContextState({ chatHistory: history }).contextText.tokenize(side.vocab.tokenizer) as number[];
}

function request(side: NativeSide, i: number, nTokens: number, s: EngineSampling, system?: string): NativeRequest {
  return {
    prompt: nativePrompt(side, i, system), maxTokens: nTokens, ignoreEog: true,
    temperature: s.temperature, topK: s.topK, topP: s.topP, repeatPenalty: s.repeatPenalty, penaltyLastN: 64, seed: s.seed,
  };
}

/** One streamed generation; `tokenAt` gets a timestamp per token (events batch tokens: spread over the event). */
export function nativeStream(side: NativeSide, req: NativeRequest, tokenAt?: number[]): { gen: Promise<GenRecord>; cancel: () => void } {
  const startMs = now();
  let firstMs = 0, seen = 0;
  let cancel = () => {};
  const gen = new Promise<GenRecord>((resolve, reject) => {
    cancel = side.loop.generate(req, {
      onText: (_t, tokens) => {
        const t = now();
        if (!firstMs && tokens > 0) firstMs = t;
        if (tokenAt) for (; seen < tokens; seen++) tokenAt.push(t);
      },
      onDone: (d) => (d.reason === "error" ? reject(new Error(d.error)) : resolve({ startMs, firstMs: firstMs || now(), endMs: now(), tokens: d.tokens })),
    });
  });
  return { gen, cancel };
}

export async function nativeRun(side: NativeSide, concurrency: number, nTokens: number, s: EngineSampling, system?: string): Promise<RunResult> {
  const t0 = now(), c0 = cpuMsOf();
  const gens = await Promise.all(Array.from({ length: concurrency }, (_, i) => nativeStream(side, request(side, i, nTokens, s, system)).gen));
  return { gens, wallMs: now() - t0, cpuMs: cpuMsOf() - c0 };
}

export function nativeJoinStream(side: NativeSide, i: number, nTokens: number, s: EngineSampling, system: string | undefined, tokenAt: number[]) {
  return nativeStream(side, request(side, i, nTokens, s, system), tokenAt);
}
