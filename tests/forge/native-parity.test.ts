// (a) Parity: the native trainer's loss and gradients vs an independent float64 reference.
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, rng, runForge, tmpDir, train, writeAtds } from "./reference/forge-helpers";
import { readGguf } from "./reference/gguf-read";
import { llamaFromGguf, meanLoss } from "./reference/llama-f64";

const V = 40;
const SEQ = 12;

function randomRows(seed: number, n: number) {
  const r = rng(seed);
  const rows: number[][] = [];
  const masks: number[][] = [];
  for (let i = 0; i < n; i++) {
    // Mostly a repeating pattern (learnable) with noise, so a few training steps move weights off init.
    const row = Array.from({ length: SEQ + 1 }, (_, j) => (r() < 0.7 ? (i * 3 + j * 5) % V : Math.floor(r() * V)));
    rows.push(row);
    masks.push(row.map((_, j) => (j === 0 ? 0 : 1)));
  }
  return { rows, masks };
}

describe("native trainer parity with float64 reference", () => {
  let dir = "";
  let modelPath = "";

  beforeAll(() => {
    ensureBuilt();
    dir = tmpDir();
    const tr = randomRows(1, 32);
    writeAtds(path.join(dir, "train.atds"), tr.rows, tr.masks);
    modelPath = path.join(dir, "tiny.gguf");
    // Train a little at a high LR so weights (and attention patterns) are far from the
    // near-uniform init, which would hide softmax/rope gradient bugs.
    const res = train(
      {
        mode: "scratch", out: modelPath, checkpointDir: path.join(dir, "ckpt"), train: path.join(dir, "train.atds"),
        model: { n_vocab: V, n_embd: 16, n_layer: 2, n_head: 4, n_head_kv: 2, n_ff: 32, n_ctx: 16, rope_theta: 10000, norm_eps: 1e-5 },
        batch: 4, grad_accum: 1, steps: 25, lr: 3e-2, warmup_steps: 0, min_lr_ratio: 1, weight_decay: 0, grad_clip: 0, seed: 3, threads: 1,
      },
      dir,
    );
    expect(res.code, res.stderr).toBe(0);
  }, 60_000);

  it("loss and a large sample of gradients (every tensor) match the f64 forward pass and its finite differences", () => {
    // Parity batch: 3 rows with partial masks (prompt/answer style) and a fully masked-out tail.
    const pr = randomRows(99, 3);
    pr.masks[0] = pr.masks[0]!.map((_, j) => (j >= 4 ? 1 : 0));
    pr.masks[1] = pr.masks[1]!.map((_, j) => (j >= 1 && j <= 8 ? 1 : 0));
    const dataPath = path.join(dir, "parity.atds");
    writeAtds(dataPath, pr.rows, pr.masks);
    const gradsPath = path.join(dir, "grads.json");
    const res = runForge(["grads", "--model", modelPath, "--data", dataPath, "--out", gradsPath, "--threads", "1"]);
    expect(res.code, res.stderr).toBe(0);
    const forge = JSON.parse(readFileSync(gradsPath, "utf8")) as { loss: number; targets: number; grads: Record<string, number[]> };

    const m = llamaFromGguf(readGguf(modelPath));
    const ref = meanLoss(m, pr.rows, pr.masks);
    expect(forge.targets).toBe(ref.targets);
    expect(Math.abs(forge.loss - ref.loss) / ref.loss).toBeLessThan(1e-4);

    // Central differences in f64 (h=1e-5: truncation ~h^2, rounding ~1e-16/h, both << f32 noise).
    const h = 1e-5;
    const names = [...m.w.keys()];
    expect(Object.keys(forge.grads).sort()).toEqual([...names].sort());
    let checked = 0;
    let worst = 0;
    const fdAll: { name: string; i: number; fd: number; g: number }[] = [];
    // Every entry of the small tensors (norms) and of one embedding row block, plus a seeded
    // random sample of ~1/4 of the rest: ~1,900 entries covering every tensor.
    const pick = rng(123);
    for (const name of names) {
      const w = m.w.get(name)!;
      const g = forge.grads[name]!;
      expect(g.length).toBe(w.length);
      const small = w.length <= 64;
      for (let i = 0; i < w.length; i++) {
        if (!small && !(name === "token_embd.weight" && i < 64) && pick() > 0.25) continue;
        const w0 = w[i]!;
        w[i] = w0 + h;
        const lp = meanLoss(m, pr.rows, pr.masks).loss;
        w[i] = w0 - h;
        const lm = meanLoss(m, pr.rows, pr.masks).loss;
        w[i] = w0;
        fdAll.push({ name, i, fd: (lp - lm) / (2 * h), g: g[i]! });
      }
    }
    // Tolerance: 1e-4 relative, plus an absolute floor of 1e-4 x the RMS gradient. The engine
    // runs in f32, so entries far below the typical gradient size only carry absolute f32
    // rounding error (~1e-7 of the loss scale); a relative test on them would test noise.
    const rms = Math.sqrt(fdAll.reduce((s, e) => s + e.fd * e.fd, 0) / fdAll.length);
    const atol = 1e-4 * rms;
    const bad: string[] = [];
    for (const e of fdAll) {
      const err = Math.abs(e.g - e.fd);
      const tol = 1e-4 * Math.abs(e.fd) + atol;
      worst = Math.max(worst, err / tol);
      checked++;
      if (err > tol && bad.length < 10) bad.push(`${e.name}[${e.i}]: forge ${e.g} fd ${e.fd}`);
    }
    console.log(`parity: loss forge ${forge.loss} f64 ${ref.loss}; ${checked} grads, rms ${rms.toExponential(2)}, worst err/tol ${worst.toFixed(3)}`);
    expect(bad, `worst err/tol ${worst.toFixed(3)}`).toEqual([]);
    expect(checked).toBeGreaterThan(1200);
  }, 180_000);
});
