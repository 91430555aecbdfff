// Independent float64 forward pass of a llama-architecture model (also qwen2/qwen3 variants) (as llama.cpp computes it:
// RMSNorm, "normal" RoPE on consecutive pairs, GQA with grouped heads, SwiGLU, untied/tied head).
// Written from the math, not from the C++ engine, so it can catch layout/convention bugs.
import type { GgufFile } from "./gguf-read";

export interface LlamaF64 {
  arch: "llama" | "qwen2" | "qwen3";
  nVocab: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  headDim: number;
  ropeTheta: number;
  normEps: number;
  /** parameters by GGUF tensor name, ggml order (ne[0] fastest) — mutate to finite-difference */
  w: Map<string, Float64Array>;
  shapes: Map<string, number[]>;
}

export function llamaFromGguf(g: GgufFile): LlamaF64 {
  const arch = String(g.kv.get("general.architecture"));
  if (arch !== "llama" && arch !== "qwen2" && arch !== "qwen3") throw new Error("reference supports llama, qwen2, qwen3");
  const num = (k: string, d?: number) => {
    const v = g.kv.get(`${arch}.${k}`);
    if (v === undefined) {
      if (d === undefined) throw new Error(`missing ${arch}.${k}`);
      return d;
    }
    return Number(v);
  };
  const nEmbd = num("embedding_length");
  const nHead = num("attention.head_count");
  const w = new Map<string, Float64Array>();
  const shapes = new Map<string, number[]>();
  for (const [name, t] of g.tensors) {
    w.set(name, t.data);
    shapes.set(name, t.ne);
  }
  return {
    arch,
    nVocab: g.tensors.get("token_embd.weight")!.ne[1]!,
    nEmbd,
    nLayer: num("block_count"),
    nHead,
    nHeadKv: num("attention.head_count_kv", nHead),
    nFf: num("feed_forward_length"),
    headDim: nEmbd / nHead,
    ropeTheta: num("rope.freq_base", 10000),
    normEps: num("attention.layer_norm_rms_epsilon", 1e-5),
    w,
    shapes,
  };
}

/** y[o] = sum_i W[o*nIn + i] x[i] — ggml's mul_mat(W, x) with W of ne [nIn, nOut]. */
function matvec(W: Float64Array, x: Float64Array, nIn: number, nOut: number): Float64Array {
  const y = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let s = 0;
    const off = o * nIn;
    for (let i = 0; i < nIn; i++) s += W[off + i]! * x[i]!;
    y[o] = s;
  }
  return y;
}

function rmsnorm(x: Float64Array, w: Float64Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const scale = 1 / Math.sqrt(ss / x.length + eps);
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i]! * scale * w[i]!;
  return y;
}

/**
 * llama.cpp "normal" rope (llama): rotate consecutive pairs (x[2i], x[2i+1]) of each head.
 * NEOX rope (qwen2/qwen3): rotate (x[i], x[i + hd/2]). Both use angle pos * theta^(-2i/hd).
 */
function rope(v: Float64Array, nHeads: number, hd: number, pos: number, theta: number, neox: boolean): void {
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < hd / 2; i++) {
      const ang = pos * Math.pow(theta, (-2 * i) / hd);
      const c = Math.cos(ang), s = Math.sin(ang);
      const ia = h * hd + (neox ? i : 2 * i);
      const ib = neox ? ia + hd / 2 : ia + 1;
      const a = v[ia]!, b = v[ib]!;
      v[ia] = a * c - b * s;
      v[ib] = a * s + b * c;
    }
  }
}

function addInPlace(x: Float64Array, b: Float64Array | undefined): void {
  if (b) for (let i = 0; i < x.length; i++) x[i] = x[i]! + b[i]!;
}

/** qwen3: RMSNorm over each head's vector with a shared [hd] weight. */
function headNorm(v: Float64Array, nHeads: number, hd: number, w: Float64Array | undefined, eps: number): void {
  if (!w) return;
  for (let h = 0; h < nHeads; h++) v.set(rmsnorm(v.subarray(h * hd, (h + 1) * hd), w, eps), h * hd);
}

/** Logits for every position of one sequence: returns T arrays of nVocab. */
export function forwardLogits(m: LlamaF64, tokens: number[]): Float64Array[] {
  const { nEmbd: E, nHead: H, nHeadKv: Hk, headDim: hd, nFf: F, nVocab: V } = m;
  const T = tokens.length;
  const W = (n: string) => {
    const t = m.w.get(n);
    if (!t) throw new Error(`missing tensor ${n}`);
    return t;
  };
  const emb = W("token_embd.weight");
  let xs: Float64Array[] = tokens.map((t) => emb.slice(t * E, (t + 1) * E));
  const group = H / Hk;
  for (let l = 0; l < m.nLayer; l++) {
    const p = `blk.${l}.`;
    const qs: Float64Array[] = [], ks: Float64Array[] = [], vs: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const h = rmsnorm(xs[t]!, W(p + "attn_norm.weight"), m.normEps);
      const q = matvec(W(p + "attn_q.weight"), h, E, H * hd);
      const k = matvec(W(p + "attn_k.weight"), h, E, Hk * hd);
      const v = matvec(W(p + "attn_v.weight"), h, E, Hk * hd);
      addInPlace(q, m.w.get(p + "attn_q.bias"));
      addInPlace(k, m.w.get(p + "attn_k.bias"));
      addInPlace(v, m.w.get(p + "attn_v.bias"));
      headNorm(q, H, hd, m.w.get(p + "attn_q_norm.weight"), m.normEps);
      headNorm(k, Hk, hd, m.w.get(p + "attn_k_norm.weight"), m.normEps);
      const neox = m.arch !== "llama";
      rope(q, H, hd, t, m.ropeTheta, neox);
      rope(k, Hk, hd, t, m.ropeTheta, neox);
      qs.push(q); ks.push(k); vs.push(v);
    }
    const next: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const att = new Float64Array(H * hd);
      for (let h = 0; h < H; h++) {
        const kh = Math.floor(h / group);
        const scores: number[] = [];
        let mx = -Infinity;
        for (let s = 0; s <= t; s++) {
          let d = 0;
          for (let i = 0; i < hd; i++) d += qs[t]![h * hd + i]! * ks[s]![kh * hd + i]!;
          d /= Math.sqrt(hd);
          scores.push(d);
          mx = Math.max(mx, d);
        }
        let z = 0;
        const e = scores.map((d) => { const v = Math.exp(d - mx); z += v; return v; });
        for (let s = 0; s <= t; s++) {
          const a = e[s]! / z;
          for (let i = 0; i < hd; i++) att[h * hd + i] = att[h * hd + i]! + a * vs[s]![kh * hd + i]!;
        }
      }
      const o = matvec(W(p + "attn_output.weight"), att, H * hd, E);
      const x = new Float64Array(E);
      for (let i = 0; i < E; i++) x[i] = xs[t]![i]! + o[i]!;
      const h2 = rmsnorm(x, W(p + "ffn_norm.weight"), m.normEps);
      const g = matvec(W(p + "ffn_gate.weight"), h2, E, F);
      const u = matvec(W(p + "ffn_up.weight"), h2, E, F);
      const a = new Float64Array(F);
      for (let i = 0; i < F; i++) a[i] = (g[i]! / (1 + Math.exp(-g[i]!))) * u[i]!;
      const d = matvec(W(p + "ffn_down.weight"), a, F, E);
      for (let i = 0; i < E; i++) x[i] = x[i]! + d[i]!;
      next.push(x);
    }
    xs = next;
  }
  const head = m.w.get("output.weight") ?? W("token_embd.weight");
  return xs.map((x) => matvec(head, rmsnorm(x, W("output_norm.weight"), m.normEps), E, V));
}

/** Mean cross-entropy over masked targets of ATDS-style rows (mask[i]=1: token i is a target). */
export function meanLoss(m: LlamaF64, rows: number[][], masks: number[][]): { loss: number; targets: number } {
  let sum = 0, n = 0;
  rows.forEach((row, r) => {
    const logits = forwardLogits(m, row.slice(0, row.length - 1));
    for (let i = 1; i < row.length; i++) {
      if (!masks[r]![i]) continue;
      const lg = logits[i - 1]!;
      let mx = -Infinity;
      for (const v of lg) mx = Math.max(mx, v);
      let z = 0;
      for (const v of lg) z += Math.exp(v - mx);
      sum += -(lg[row[i]!]! - mx - Math.log(z));
      n++;
    }
  });
  return { loss: sum / n, targets: n };
}
