import type { Message } from "./types";

const nf1 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1, minimumFractionDigits: 1 });
const nf0 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

const isNum = (n: number | null | undefined): n is number => typeof n === "number" && Number.isFinite(n);

/** "180 ms" below a second, "1.2 s" above. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${nf1.format(ms / 1000)} s`;
}

/** Unobtrusive per-message stats: "12.3 tok/s · 180 ms first token · 42 tokens". Empty when nothing is known. */
export function formatStats(
  m: Pick<Message, "tokensPerSecond" | "ttftMs" | "completionTokens">,
): string {
  const parts: string[] = [];
  if (isNum(m.tokensPerSecond) && m.tokensPerSecond > 0) parts.push(`${nf1.format(m.tokensPerSecond)} tok/s`);
  if (isNum(m.ttftMs) && m.ttftMs >= 0) parts.push(`${formatDuration(m.ttftMs)} first token`);
  if (isNum(m.completionTokens) && m.completionTokens >= 0)
    parts.push(`${nf0.format(m.completionTokens)} ${m.completionTokens === 1 ? "token" : "tokens"}`);
  return parts.join(" · ");
}

/** Binary units, as llama.cpp reports model sizes: "4.1 GiB". */
export function formatBytes(bytes: number | null | undefined): string {
  if (!isNum(bytes) || bytes < 0) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v >= 100 ? nf0.format(v) : nf1.format(v)} ${units[u]}`;
}

/** Parameter counts the way model cards write them: "494M", "7.2B". */
export function formatParams(n: number | null | undefined): string {
  if (!isNum(n) || n <= 0) return "—";
  const trim = (v: number) => (v >= 100 ? nf0.format(v) : nf1.format(v).replace(/\.0$/, ""));
  if (n >= 1e12) return `${trim(n / 1e12)}T`;
  if (n >= 1e9) return `${trim(n / 1e9)}B`;
  if (n >= 1e6) return `${trim(n / 1e6)}M`;
  if (n >= 1e3) return `${trim(n / 1e3)}K`;
  return String(n);
}

/** Context window: 8192 → "8K", 131072 → "128K", 2048 → "2K", 1000 → "1,000". */
export function formatContext(n: number | null | undefined): string {
  if (!isNum(n) || n <= 0) return "—";
  if (n % 1024 === 0) return `${n / 1024}K`;
  return nf0.format(n);
}

export function formatPercent(done: number, total: number | null): string {
  if (!total || total <= 0) return "";
  return `${Math.min(100, Math.floor((done / total) * 100))}%`;
}

/** "just now", "5 min ago", "3 h ago", "yesterday", then a short date. */
export function formatRelativeTime(epochMs: number, now: number = Date.now()): string {
  const s = Math.max(0, Math.round((now - epochMs) / 1000));
  if (s < 45) return "just now";
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min ago`;
  const h = Math.round(min / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.round(h / 24);
  if (d === 1) return "yesterday";
  if (d < 7) return `${d} days ago`;
  return new Date(epochMs).toLocaleDateString("en-US", { month: "short", day: "numeric" });
}

/** "NVIDIA GeForce RTX 4090" → "RTX 4090", "NVIDIA H100 80GB HBM3" → "H100", "Apple M2 Max" → "M2 Max". */
export function shortGpuName(name: string): string {
  const short = name
    .replace(/\((R|TM)\)/gi, "")
    .replace(/^\s*(NVIDIA|AMD|Intel|Apple)\s+/i, "")
    .replace(/^(GeForce|Quadro|Tesla)\s+/i, "")
    .replace(/\b\d+\s?GB\b.*$/i, "")
    .replace(/\b(PCIe|SXM\d?|NVL|HBM\d?e?)\b.*$/i, "")
    .replace(/\s+/g, " ")
    .trim();
  return short || name.trim();
}

export interface BackendInfo {
  backend: "cuda" | "vulkan" | "metal" | "cpu";
  gpuName: string | null;
  threads: number;
}

/** Status pill text: "CPU · 2 threads" or "CUDA · H100". */
export function formatBackend(s: BackendInfo): string {
  const name = s.backend.toUpperCase();
  if (s.backend !== "cpu" && s.gpuName) return `${name} · ${shortGpuName(s.gpuName)}`;
  if (s.backend !== "cpu") return name;
  return `${name} · ${s.threads} ${s.threads === 1 ? "thread" : "threads"}`;
}

/** Human text for any thrown value (tRPC errors carry the server's message). */
export function errorMessage(e: unknown): string {
  // Input validation errors: the server formats zod issues as readable lines.
  const zod = (e as { data?: { zodError?: unknown } } | null)?.data?.zodError;
  if (Array.isArray(zod) && zod.length > 0) return zod.map(String).join("\n");
  if (e instanceof Error && e.message) return e.message;
  if (typeof e === "string" && e) return e;
  return "Something went wrong.";
}

export function isAbortError(e: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  if (!(e instanceof Error)) return false;
  if (e.name === "AbortError") return true;
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error && cause.name === "AbortError";
}
