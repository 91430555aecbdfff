// Checks shared by the native trainer's model tests: the loss node-llama-cpp (i.e. serving) computes, and
// forge's analytic gradients against central finite differences of the float64 reference.
import type { LlamaModel, Token } from "node-llama-cpp";
import { rng } from "./forge-helpers";
import { meanLoss, type LlamaF64 } from "./llama-f64";

/** Mean CE over masked targets as node-llama-cpp evaluates the rows (optionally with a LoRA adapter). */
export async function llamaCppLoss(model: LlamaModel, rows: number[][], masks: number[][], lora?: string): Promise<number> {
  // one thread: the models are tiny, and more threads only spin-wait on a shared CI machine
  const ctx = await model.createContext({ contextSize: 64, batchSize: 64, threads: 1, ...(lora ? { lora: { adapters: [{ filePath: lora }] } } : {}) });
  try {
    const seq = ctx.getSequence();
    let sum = 0, n = 0;
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      const input = row.slice(0, -1).map((t) => [t as Token, { generateNext: { probabilities: true } }] as const);
      const out = await seq.controlledEvaluate(input as never);
      for (let i = 1; i < row.length; i++) {
        if (!masks[r]![i]) continue;
        sum += -Math.log(out[i - 1]!.next.probabilities!.get(row[i]! as Token) ?? 0);
        n++;
      }
      await seq.clearHistory();
    }
    return sum / n;
  } finally {
    await ctx.dispose();
  }
}

/**
 * Samples `perTensor(name)` elements of every tensor of m (seeded), finite-differences the reference loss at
 * each (h = 1e-5, central) and returns the elements where forge's gradient is off by more than
 * 1e-4·|fd| + 1e-4·rms(fd), plus the rms (0 would mean the check saw no signal).
 */
export function fdMismatches(
  m: LlamaF64, rows: number[][], masks: number[][], grads: Record<string, number[]>,
  perTensor: (name: string, size: number) => number, seed = 1,
) {
  const r = rng(seed);
  const picks: [string, number][] = [];
  for (const [name, w] of m.w) for (let k = 0; k < perTensor(name, w.length); k++) picks.push([name, Math.floor(r() * w.length)]);
  const h = 1e-5;
  const fd = picks.map(([name, i]) => {
    const w = m.w.get(name)!;
    const w0 = w[i]!;
    w[i] = w0 + h;
    const lp = meanLoss(m, rows, masks).loss;
    w[i] = w0 - h;
    const lm = meanLoss(m, rows, masks).loss;
    w[i] = w0;
    return (lp - lm) / (2 * h);
  });
  const rms = Math.sqrt(fd.reduce((s, v) => s + v * v, 0) / fd.length);
  const bad = picks
    .map(([name, i], k) => ({ name, i, forge: grads[name]?.[i], fd: fd[k]! }))
    .filter((x) => x.forge === undefined || Math.abs(x.forge - x.fd) > 1e-4 * Math.abs(x.fd) + 1e-4 * rms);
  return { bad, rms, checked: picks.length };
}
