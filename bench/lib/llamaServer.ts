// llama.cpp's own llama-server: build (if missing), start, and drive /completion streams.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import net from "node:net";
import { SAMPLING, chatmlPrompt, now, cpuMsOf, type GenRecord, type RunResult } from "./common.js";

const BENCH = path.resolve(import.meta.dirname, "..");
export const LLAMA_BIN = path.join(BENCH, ".cache/llama-bin");

export function ensureLlamaServer(): string {
  const bin = path.join(LLAMA_BIN, "llama-server");
  if (!fs.existsSync(bin)) {
    console.error("llama-server missing: building it (bench/build-llama-server.sh, ~10 min on 2 cores)...");
    const r = spawnSync("bash", [path.join(BENCH, "build-llama-server.sh")], { stdio: "inherit" });
    if (r.status !== 0 || !fs.existsSync(bin)) throw new Error("llama-server build failed");
  }
  return bin;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { const p = (s.address() as net.AddressInfo).port; s.close(() => res(p)); });
    s.on("error", rej);
  });
}

export type LlamaServerOpts = { model: string; threads: number; parallel: number; ctxPerSeq?: number; batch?: number; gpu?: boolean; extra?: string[] };
export type LlamaServer = { url: string; proc: ChildProcess; log: () => string; stop: () => Promise<void> };

export async function startLlamaServer(o: LlamaServerOpts): Promise<LlamaServer> {
  const bin = ensureLlamaServer();
  const port = await freePort();
  const args = [
    "-m", o.model, "--host", "127.0.0.1", "--port", String(port),
    "-np", String(o.parallel), "-c", String(o.parallel * (o.ctxPerSeq ?? 512)), "--cont-batching",
    "-t", String(o.threads), "-tb", String(o.threads), "-b", String(o.batch ?? 512),
    "-ngl", o.gpu ? "999" : "0", "--no-warmup", "--metrics", ...(o.extra ?? []),
  ];
  const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LD_LIBRARY_PATH: LLAMA_BIN } });
  let log = "";
  proc.stdout!.on("data", (d) => { log += d; });
  proc.stderr!.on("data", (d) => { log += d; });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode != null) throw new Error(`llama-server exited ${proc.exitCode}\n${log.slice(-3000)}`);
    try { if ((await fetch(`${url}/health`)).ok) break; } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`llama-server did not become healthy\n${log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url, proc, log: () => log,
    stop: () => new Promise<void>((res) => { if (proc.exitCode != null) return res(); proc.once("exit", () => res()); proc.kill("SIGTERM"); }),
  };
}

/** Sampler settings for /completion (llama-server names). Default: the study's settings. */
export type ServerSampling = { temperature: number; top_k: number; top_p: number; min_p: number; repeat_penalty?: number; repeat_last_n?: number };
const STUDY_SAMPLING: ServerSampling = { temperature: SAMPLING.temperature, top_k: SAMPLING.topK, top_p: SAMPLING.topP, min_p: SAMPLING.minP };

/** One /completion stream; `tokenAt` gets a timestamp per token event, `signal` aborts it (the record then ends there). */
export async function streamCompletion(url: string, i: number, nTokens: number, sampling: ServerSampling, system?: string, tokenAt?: number[], signal?: AbortSignal): Promise<GenRecord> {
  const startMs = now();
  const res = await fetch(`${url}/completion`, {
    method: "POST", headers: { "content-type": "application/json" }, signal,
    body: JSON.stringify({
      prompt: chatmlPrompt(i, system), n_predict: nTokens, ignore_eos: true, stream: true, cache_prompt: true, ...sampling,
    }),
  });
  if (!res.ok || !res.body) throw new Error(`llama-server /completion ${res.status}: ${await res.text()}`);
  let firstMs = 0, tokens = 0, predicted = -1, buf = "", error: string | undefined;
  const dec = new TextDecoder();
  try {
  const handle = (ev: string) => {
    const line = ev.split("\n").find((l) => l.startsWith("data: "));
    if (!line) return;
    const data = JSON.parse(line.slice(6));
    if (data.error) { error = String(data.error.message ?? JSON.stringify(data.error)); return; }
    if (data.stop) {
      predicted = data.timings?.predicted_n ?? data.tokens_predicted ?? tokens;
      // a short answer says why (stop type, a prompt that filled the slot's context): the bench then warns
      if (predicted < nTokens) console.error(`llama-server stopped stream ${i} at ${predicted}/${nTokens} tokens: stop_type ${data.stop_type}, truncated ${data.truncated}, prompt ${data.tokens_evaluated} tokens`);
      return;
    }
    if (tokens++ === 0) firstMs = now();
    tokenAt?.push(now());
  };
  for await (const chunk of res.body as any as AsyncIterable<Uint8Array>) {
    buf += dec.decode(chunk, { stream: true });
    let k: number;
    while ((k = buf.indexOf("\n\n")) >= 0) {
      const ev = buf.slice(0, k); buf = buf.slice(k + 2);
      handle(ev);
    }
  }
  // the last event may end the stream without the blank line after it (llama-server's error events do)
  if (buf.trim()) handle(buf);

  } catch (err) {
    if (!signal?.aborted) throw err;
  }
  return { startMs, firstMs, endMs: now(), tokens: predicted >= 0 ? predicted : tokens, error };
}

export async function llamaServerRun(server: LlamaServer, concurrency: number, nTokens = 128, sampling = STUDY_SAMPLING, system?: string): Promise<RunResult> {
  const t0 = now(), c0 = cpuMsOf(server.proc.pid);
  const gens = await Promise.all(Array.from({ length: concurrency }, (_, i) => streamCompletion(server.url, i, nTokens, sampling, system)));
  return { gens, wallMs: now() - t0, cpuMs: cpuMsOf(server.proc.pid) - c0 };
}
