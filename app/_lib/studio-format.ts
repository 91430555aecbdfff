import type { RunStatus, UploadProblem } from "./studio-types";

const nf0 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const nf1 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
const nf2 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 });

const isNum = (n: number | null | undefined): n is number => typeof n === "number" && Number.isFinite(n);

/** Wall time in plain words: "45 s", "3 min 10 s", "1 h 5 min". */
export function formatSeconds(seconds: number | null | undefined): string {
  if (!isNum(seconds) || seconds < 0) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/** Remaining time next to a progress bar; rounded up, since people plan around the later bound. */
export function formatEta(seconds: number | null | undefined): string {
  if (!isNum(seconds) || seconds < 0) return "estimating time left…";
  if (seconds < 5) return "almost done";
  if (seconds < 60) return "less than a minute left";
  const min = Math.ceil(seconds / 60);
  if (min < 60) return `about ${min} min left`;
  const h = Math.floor(min / 60);
  const rest = min % 60;
  return rest ? `about ${h} h ${rest} min left` : `about ${h} h left`;
}

/** Token counts: "850", "12,345", "1.2M". */
export function formatCount(n: number | null | undefined): string {
  if (!isNum(n)) return "—";
  if (Math.abs(n) >= 1e6) return `${nf1.format(n / 1e6)}M`;
  return nf0.format(n);
}

/** Floating-point operations, with a plain-words companion for people who don't think in FLOPs. */
export function formatFlops(flops: number | null | undefined): { short: string; words: string } {
  if (!isNum(flops) || flops < 0) return { short: "—", words: "" };
  const scales: [number, string, string][] = [
    [1e18, "E", "quintillion"],
    [1e15, "P", "quadrillion"],
    [1e12, "T", "trillion"],
    [1e9, "G", "billion"],
    [1e6, "M", "million"],
  ];
  for (const [v, prefix, word] of scales) {
    if (flops >= v) return { short: `${nf1.format(flops / v)} ${prefix}FLOP`, words: `about ${nf1.format(flops / v)} ${word} calculations` };
  }
  return { short: `${nf0.format(flops)} FLOP`, words: `${nf0.format(flops)} calculations` };
}

/** Signed relative change, "−31%" / "+4.2%" (a real minus sign, as people read it). */
export function formatRelativeChange(before: number, after: number): string {
  if (!isNum(before) || !isNum(after) || before === 0) return "—";
  const pct = ((after - before) / Math.abs(before)) * 100;
  const abs = Math.abs(pct);
  const text = abs >= 10 ? nf0.format(abs) : nf1.format(abs);
  if (text === "0") return "±0%";
  return `${pct < 0 ? "−" : "+"}${text}%`;
}

/** Three significant figures or so: 40,701 / 45.2 / 3.47 — more digits than that are noise. */
function formatPerplexity(v: number): string {
  if (v >= 100) return nf0.format(v);
  if (v >= 10) return nf1.format(v);
  return nf2.format(v);
}

export interface PerplexityVerdict {
  before: string;
  after: string;
  change: string;
  /** better: lower perplexity; worse: higher; same: within 1%. */
  direction: "better" | "worse" | "same";
  sentence: string;
}

/**
 * Perplexity before → after on held-out text, told honestly: lower is better, and a rise is called
 * a rise rather than hidden. Null when either number is missing (e.g. no held-out text).
 */
export function perplexityVerdict(before: number | null | undefined, after: number | null | undefined): PerplexityVerdict | null {
  if (!isNum(before) || !isNum(after) || before <= 0) return null;
  const rel = (after - before) / before;
  const direction = Math.abs(rel) < 0.01 ? "same" : rel < 0 ? "better" : "worse";
  const change = formatRelativeChange(before, after);
  const sentence =
    direction === "better"
      ? `The model is ${change.replace("−", "")} less surprised by your held-out text than before (lower is better).`
      : direction === "worse"
        ? `The model got ${change.replace("+", "")} more surprised by your held-out text than before — training did not help on this measure.`
        : "Practically no change on your held-out text.";
  return { before: formatPerplexity(before), after: formatPerplexity(after), change, direction, sentence };
}

/** "Took 2 min 40 s — 23% longer than the 2 min 10 s estimate." */
export function estimateVsActual(estimateSeconds: number | null | undefined, actualSeconds: number | null | undefined): string | null {
  if (!isNum(actualSeconds)) return null;
  if (!isNum(estimateSeconds) || estimateSeconds <= 0) return `Took ${formatSeconds(actualSeconds)}.`;
  const rel = (actualSeconds - estimateSeconds) / estimateSeconds;
  const pct = nf0.format(Math.abs(rel) * 100);
  const est = `the ${formatSeconds(estimateSeconds)} estimate`;
  if (Math.abs(rel) < 0.05) return `Took ${formatSeconds(actualSeconds)} — in line with ${est}.`;
  return `Took ${formatSeconds(actualSeconds)} — ${pct}% ${rel > 0 ? "longer" : "shorter"} than ${est}.`;
}

export const RUN_STATUS_LABEL: Record<RunStatus, string> = {
  queued: "Queued",
  running: "Training",
  succeeded: "Finished",
  failed: "Failed",
  cancelled: "Cancelled",
  interrupted: "Interrupted",
};

export const RUN_STATUS_TONE: Record<RunStatus, string> = {
  queued: "bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300",
  running: "bg-accent-50 text-accent-700 dark:bg-accent-950/50 dark:text-accent-400",
  succeeded: "bg-emerald-50 text-emerald-700 dark:bg-emerald-950/50 dark:text-emerald-400",
  failed: "bg-red-50 text-red-700 dark:bg-red-950/50 dark:text-red-400",
  cancelled: "bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400",
  interrupted: "bg-amber-50 text-amber-700 dark:bg-amber-950/50 dark:text-amber-400",
};

export const isActiveStatus = (s: RunStatus) => s === "queued" || s === "running";

/** "qa.jsonl, line 3: invalid JSON" — where the problem is first, then what it is. */
export function formatUploadProblem(p: UploadProblem): string {
  // The server's messages usually name the file and line already ("a.jsonl" line 3: …).
  if (p.file && p.message.includes(p.file)) return p.message;
  const where = [p.file, isNum(p.line) ? `line ${p.line}` : null].filter(Boolean).join(", ");
  return where ? `${where}: ${p.message}` : p.message;
}

/** A version's training settings in one line: "LoRA rank 8 · 2 epochs · lr 0.0002 · 120 steps". */
export function describeSettings(settings: Record<string, unknown> | null | undefined): string {
  if (!settings) return "—";
  const num = (k: string) => (typeof settings[k] === "number" && Number.isFinite(settings[k]) ? (settings[k] as number) : null);
  const parts: string[] = [];
  const method = settings.method;
  const rank = num("loraRank");
  if (method === "lora") parts.push(rank ? `LoRA rank ${rank}` : "LoRA");
  else if (method === "full") parts.push("full fine-tune");
  else if (method === "scratch") parts.push("from scratch");
  const epochs = num("epochs");
  if (epochs !== null) parts.push(`${nf1.format(epochs)} ${epochs === 1 ? "epoch" : "epochs"}`);
  const lr = num("learningRate");
  if (lr !== null) parts.push(`lr ${lr}`);
  const steps = num("maxSteps") ?? num("totalSteps");
  if (steps !== null) parts.push(`${nf0.format(steps)} steps`);
  return parts.length ? parts.join(" · ") : "—";
}

const MiB = 1024 * 1024;
const formatMiB = (bytes: number) => (bytes >= 1024 * MiB ? `${nf1.format(bytes / (1024 * MiB))} GiB` : `${nf0.format(bytes / MiB)} MiB`);

/**
 * The measured peak memory of a run beside its estimate: "192 MiB measured — 16% above the 166 MiB
 * estimate." Null estimate or measurement are said as such, never filled in with the other.
 */
export function peakVsEstimate(estimateBytes: number | null | undefined, measuredBytes: number | null | undefined): string {
  if (!isNum(measuredBytes) || measuredBytes <= 0) return isNum(estimateBytes) ? `Not measured on this system (estimated ${formatMiB(estimateBytes)}).` : "Not measured.";
  if (!isNum(estimateBytes) || estimateBytes <= 0) return `${formatMiB(measuredBytes)} measured.`;
  const rel = (measuredBytes - estimateBytes) / estimateBytes;
  if (Math.abs(rel) < 0.05) return `${formatMiB(measuredBytes)} measured — in line with the ${formatMiB(estimateBytes)} estimate.`;
  return `${formatMiB(measuredBytes)} measured — ${nf0.format(Math.abs(rel) * 100)}% ${rel > 0 ? "above" : "below"} the ${formatMiB(estimateBytes)} estimate.`;
}

/** Bits per byte, three significant figures: "1.23". */
export function formatBitsPerByte(v: number | null | undefined): string {
  if (!isNum(v)) return "—";
  return v >= 10 ? nf1.format(v) : nf2.format(v);
}

/** "1.84 → 1.21 bits per byte (−34%)": lower is better, comparable across tokenizers. */
export function bitsPerByteChange(before: number | null | undefined, after: number | null | undefined): string | null {
  if (!isNum(after)) return null;
  if (!isNum(before)) return `${formatBitsPerByte(after)} bits per byte`;
  return `${formatBitsPerByte(before)} → ${formatBitsPerByte(after)} bits per byte (${formatRelativeChange(before, after)})`;
}

/**
 * The planner's record in one sentence: "The last 4 LoRA runs here took 0.74× the uncorrected
 * estimate (median); this plan is corrected by that." Null without history.
 */
export function accuracySentence(a: { method: string | null; runs: number; timeFactor: number; memoryFactor: number }): string | null {
  if (a.runs === 0) return null;
  const what = a.method ? `${a.method === "lora" ? "LoRA" : a.method === "full" ? "full fine-tune" : "from-scratch"} run${a.runs === 1 ? "" : "s"}` : `run${a.runs === 1 ? "" : "s"}`;
  const f = (x: number) => `${nf2.format(x)}×`;
  return `The last ${a.runs === 1 ? "" : `${a.runs} `}${what} on this machine took ${f(a.timeFactor)} the planner’s uncorrected time and peaked at ${f(a.memoryFactor)} its memory estimate (median); this plan is corrected by those ratios.`;
}

/** How far a finished run landed from its estimate, signed: "+12%" (took longer), "−30%". */
export function estimateError(estimate: number | null | undefined, actual: number | null | undefined): string {
  if (!isNum(estimate) || !isNum(actual) || estimate <= 0) return "—";
  return formatRelativeChange(estimate, actual);
}

/**
 * A run's time beside its estimate, like for like: the estimate predicts the trainer's own running
 * time; preparing data and measuring perplexity come on top. "Training took 2 min 40 s — 23% longer
 * than the 2 min 10 s estimate; 3 min 5 s in all with data preparation and evaluation."
 */
export function trainingTiming(estimateSeconds: number | null | undefined, trainSeconds: number | null | undefined, totalSeconds: number | null | undefined): string | null {
  if (!isNum(trainSeconds)) return estimateVsActual(estimateSeconds, totalSeconds);
  const core = estimateVsActual(estimateSeconds, trainSeconds)!.replace(/^Took/, "Training took").replace(/\.$/, "");
  return isNum(totalSeconds) && totalSeconds - trainSeconds >= 1 ? `${core}; ${formatSeconds(totalSeconds)} in all with data preparation and evaluation.` : `${core}.`;
}
