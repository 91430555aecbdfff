// Exercises every path of the native loop for the ASan+UBSan run (sanitize.mjs loads the
// sanitized addon through ATELIER_NATIVE_ADDON): concurrent and queued requests, greedy and
// sampled with penalties, stop strings and stop tokens, a cancel, prefix reuse with a K/V copy,
// a bad adapter path, and close() while requests are in flight. Exits non-zero on any mismatch;
// the sanitizers abort the process on the first memory or UB error.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { NativeLoop, type NativeRequest } from "../native-loop";

const modelPath = process.argv[2] ?? "models/starter/atelier-starter.gguf";
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const vocab = await llama.loadModel({ modelPath, vocabOnly: true });
const tokens = (text: string) => vocab.tokenize(text, true) as number[];
const chat = (q: string) => tokens(`<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n${q}<|im_end|>\n<|im_start|>assistant\n`);

const loop = await NativeLoop.open(llama, { modelPath, gpuLayers: 0, sequences: 4, contextPerSequence: 256, batchSize: 64, prefillChunk: 16, threads: 1 });
function run(req: NativeRequest, cancelAfter = -1): Promise<{ text: string; reason: string; tokens: number }> {
  return new Promise((resolve) => {
    let text = "";
    const cancel = loop.generate(req, {
      onText: (t, n) => {
        text += t;
        if (cancelAfter >= 0 && n >= cancelAfter) cancel();
      },
      onDone: (d) => resolve({ text, reason: d.reason, tokens: d.tokens }),
    });
  });
}
const fail = (msg: string) => {
  console.error(`sanitize scenario: ${msg}`);
  process.exit(1);
};

const base: NativeRequest = { prompt: chat("What is Atelier?"), temperature: 0, topK: 40, topP: 1, maxTokens: 24 };
const results = await Promise.all([
  run(base),
  run({ ...base, temperature: 0.9, seed: 3, repeatPenalty: 1.2, presencePenalty: 0.3, frequencyPenalty: 0.2, minP: 0.05 }),
  run({ ...base, prompt: chat("Tell me a story about a very long prompt ".repeat(6)), stopStrings: ["e", "Atelier"] }),
  run({ ...base, stopTokens: [tokens("<|im_end|>")], ignoreEog: true, maxTokens: 64 }),
  run({ ...base, maxTokens: 200, ignoreEog: true }, 5),
  run({ ...base, prompt: chat("Queued one?"), maxTokens: 12, ignoreEog: true }),
]);
if (results[0]!.tokens === 0) fail("greedy produced nothing");
if (results[4]!.reason !== "abort") fail(`cancel gave ${results[4]!.reason}`);
if (results[5]!.tokens !== 12) fail(`queued request made ${results[5]!.tokens} tokens`);
const again = await run(base);
if (again.text !== results[0]!.text) fail("greedy is not deterministic");
// A follow-up sharing the first prompt reuses (and may copy) its K/V.
await Promise.all([run({ ...base, prompt: [...base.prompt, ...tokens("Atelier is")] }), run({ ...base, prompt: chat("Other") })]);
await loop.loadAdapter("/nonexistent/adapter.gguf").then(() => fail("a missing adapter loaded"), () => undefined);
// close() with work in flight: every request still ends.
const inflight = [run({ ...base, maxTokens: 150, ignoreEog: true }), run({ ...base, maxTokens: 150, ignoreEog: true })];
await new Promise((r) => setTimeout(r, 20));
await loop.close();
const ended = await Promise.all(inflight);
if (!ended.every((e) => e.reason === "abort" || e.reason === "maxTokens")) fail("in-flight requests did not end at close");
await vocab.dispose();
console.log(`sanitize scenario: ok (${results.length + 5} requests)`);
