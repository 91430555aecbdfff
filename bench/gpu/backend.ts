// Prints which backend node-llama-cpp picks with gpu "auto" and what the native loop's start-up self-check says
// (the addon variant and the libllama it shares). Run: npx tsx --conditions=react-server bench/gpu/backend.ts
import { getLlama } from "node-llama-cpp";
import { checkNativeLoop } from "../../server/llm/native-loop.js";

const llama = await getLlama({ gpu: "auto", build: "never" });
let nativeLoop: unknown;
try {
  nativeLoop = checkNativeLoop(llama);
} catch (err) {
  nativeLoop = { error: (err as Error).message };
}
console.log(JSON.stringify({ backend: llama.gpu === false ? "cpu" : llama.gpu, devices: llama.gpu ? await llama.getGpuDeviceNames() : [], buildType: llama.buildType, nativeLoop }));
