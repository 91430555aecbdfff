// Shared bits for the benchmarks: prompt, sampling, timing records and summaries.
import os from "node:os";
import fs from "node:fs";

export const SYSTEM_PROMPT = "You are a helpful assistant.";
/** Short chat prompt; `i` makes each concurrent conversation's prompt distinct (no prompt-cache sharing). */
export const userPrompt = (i: number) => `Conversation ${i}: write a short story about a lighthouse keeper who finds a message in a bottle.`;
export const chatmlPrompt = (i: number, system = SYSTEM_PROMPT) =>
  `<|im_start|>system\n${system}<|im_end|>\n<|im_start|>user\n${userPrompt(i)}<|im_end|>\n<|im_start|>assistant\n`;

/** Same sampler settings on every side (llama-server's /completion defaults). */
export const SAMPLING = { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05 } as const;

export type GenRecord = { startMs: number; firstMs: number; endMs: number; tokens: number; error?: string };
export type RunResult = { gens: GenRecord[]; wallMs: number; meanBatch?: number; cpuMs?: number; decodeShare?: number; outOfOrder?: number };

/** CPU time (user+sys, ms) of this process, or of another process by pid (from /proc/<pid>/stat). */
export function cpuMsOf(pid?: number): number {
  if (pid == null) { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime+stime in clock ticks (USER_HZ=100)
}

export const now = () => performance.now();

export function summarize(r: RunResult) {
  const tokens = r.gens.reduce((s, g) => s + g.tokens, 0);
  const ttft = r.gens.map((g) => g.firstMs - g.startMs);
  // per-stream generation rate: tokens after the first / time after the first token
  const genRate = r.gens.map((g) => (g.tokens - 1) / ((g.endMs - g.firstMs) / 1000));
  return {
    tokens,
    aggTps: tokens / (r.wallMs / 1000),
    ttftMs: median(ttft),
    streamTps: median(genRate),
    meanBatch: r.meanBatch,
    decodeShare: r.decodeShare,
    outOfOrder: r.outOfOrder,
    cpuMsPerTok: r.cpuMs != null ? r.cpuMs / tokens : undefined,
    errors: [...new Set(r.gens.flatMap((g) => (g.error ? [g.error] : [])))],
  };
}
export type Summary = ReturnType<typeof summarize>;

export function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Repeat a measurement and keep the best run by aggregate tok/s (the machine is shared; best-of-N filters interference). */
export async function bestOf(n: number, fn: () => Promise<RunResult>): Promise<Summary & { runs: number[] }> {
  const all: Summary[] = [];
  for (let i = 0; i < n; i++) all.push(summarize(await fn()));
  const best = all.reduce((a, b) => (b.aggTps > a.aggTps ? b : a));
  const bestTtft = Math.min(...all.map((s) => s.ttftMs));
  const bestStream = Math.max(...all.map((s) => s.streamTps));
  const cpu = all.map((s) => s.cpuMsPerTok).filter((x): x is number => x != null);
  return { ...best, ttftMs: bestTtft, streamTps: bestStream, cpuMsPerTok: cpu.length ? Math.min(...cpu) : undefined, runs: all.map((s) => +s.aggTps.toFixed(1)) };
}

export function machineInfo() {
  const cpu = fs.readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? os.cpus()[0]?.model ?? "?";
  return { nproc: os.availableParallelism(), cpu: cpu.trim(), memGiB: Math.round(os.totalmem() / 2 ** 30), load: os.loadavg().map((l) => l.toFixed(1)).join(" ") };
}

export const f1 = (x: number | undefined) => (x == null || !isFinite(x) ? "-" : x.toFixed(1));
