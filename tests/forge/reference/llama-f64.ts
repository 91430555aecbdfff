// Independent float64 forward pass of the decoder families forge trains, as llama.cpp computes them:
// llama (incl. Llama 3 rope_freqs and linear RoPE scaling), mistral3 (attention temperature), qwen2 (q/k/v
// bias), qwen3 (q/k head norms), gemma / gemma2 / gemma3 (embedding scale, GELU FFN, post norms, soft-capping,
// sliding-window layers with their own RoPE base), phi3 (fused QKV and gate/up), smollm3 (no RoPE on every
// 4th layer) and granite (embedding/residual/attention/logit multipliers).
// Written from the math and llama.cpp's model files (src/models/*.cpp of the bundled version), not from the
// C++ engine, and it reads the GGUF metadata itself, so it can catch layout, convention and metadata bugs.
import type { GgufFile } from "./gguf-read";

export type Arch = "llama" | "mistral3" | "qwen2" | "qwen3" | "gemma" | "gemma2" | "gemma3" | "phi3" | "smollm3" | "granite";

export interface LlamaF64 {
  arch: Arch;
  nVocab: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  headDim: number;
  ropeTheta: number;
  normEps: number;
  /** NEOX rotates (x[i], x[i + hd/2]); NORMAL rotates consecutive pairs */
  neox: boolean;
  ropeScale: number;
  ropeAttnFactor: number;
  /** per layer: RoPE base / scale, whether RoPE is applied, whether the layer uses the sliding window */
  layerTheta: number[];
  layerScale: number[];
  layerRope: boolean[];
  layerSwa: boolean[];
  nSwa: number;
  embdScale: number;
  residualScale: number;
  logitScale: number;
  /** scores = q·k × kqScale, then soft-capping (if any) and softmax */
  kqScale: number;
  attnSoftcap: number;
  finalSoftcap: number;
  attnTempScale: number;
  attnTempFloor: number;
  gelu: boolean;
  /** parameters by GGUF tensor name, ggml order (ne[0] fastest) — mutate to finite-difference */
  w: Map<string, Float64Array>;
  shapes: Map<string, number[]>;
}

const ARCHS: Arch[] = ["llama", "mistral3", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi3", "smollm3", "granite"];

export function llamaFromGguf(g: GgufFile): LlamaF64 {
  const arch = String(g.kv.get("general.architecture")) as Arch;
  if (!ARCHS.includes(arch)) throw new Error(`reference supports ${ARCHS.join(", ")}`);
  const has = (k: string) => g.kv.has(`${arch}.${k}`);
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
  const nLayer = num("block_count");
  const headDim = num("attention.key_length", nEmbd / nHead);
  const w = new Map<string, Float64Array>();
  const shapes = new Map<string, number[]>();
  for (const [name, t] of g.tensors) {
    w.set(name, t.data);
    shapes.set(name, t.ne);
  }
  const gemma = arch === "gemma" || arch === "gemma2" || arch === "gemma3";
  const ropeTheta = num("rope.freq_base", 10000);
  const scaling = String(g.kv.get(`${arch}.rope.scaling.type`) ?? "linear");
  const factor = num("rope.scaling.factor", 0);
  const ropeScale = factor === 0 || scaling === "none" ? 1 : 1 / factor;
  // sliding-window layers (gemma2/3): layer l is local unless l % period == period - 1
  let nSwa = 0;
  let period = 0;
  let thetaSwa = ropeTheta;
  let scaleSwa = ropeScale;
  if (arch === "gemma2") {
    nSwa = num("attention.sliding_window", 4096);
    period = num("attention.sliding_window_pattern", 2);
    thetaSwa = num("rope.freq_base_swa", ropeTheta);
  } else if (arch === "gemma3") {
    nSwa = num("attention.sliding_window", 0);
    period = num("attention.sliding_window_pattern", 6);
    thetaSwa = num("rope.freq_base_swa", 10000);
    scaleSwa = 1;
  }
  const layerSwa = Array.from({ length: nLayer }, (_, l) => nSwa > 0 && (period === 0 || l % period < period - 1));
  const is27b = (arch === "gemma2" && nLayer === 46) || (arch === "gemma3" && nLayer === 62);
  return {
    arch,
    nVocab: g.tensors.get("token_embd.weight")!.ne[1]!,
    nEmbd,
    nLayer,
    nHead,
    nHeadKv: num("attention.head_count_kv", nHead),
    nFf: num("feed_forward_length"),
    headDim,
    ropeTheta,
    normEps: num("attention.layer_norm_rms_epsilon", 1e-5),
    neox: !["llama", "mistral3", "smollm3", "granite"].includes(arch),
    ropeScale,
    ropeAttnFactor: num("rope.scaling.attn_factor", 1),
    layerTheta: layerSwa.map((s) => (s ? thetaSwa : ropeTheta)),
    layerScale: layerSwa.map((s) => (s ? scaleSwa : ropeScale)),
    layerRope: Array.from({ length: nLayer }, (_, l) => arch !== "smollm3" || (l + 1) % 4 !== 0),
    layerSwa,
    nSwa,
    embdScale: gemma ? Math.sqrt(nEmbd) : arch === "granite" ? num("embedding_scale", 0) || 1 : 1,
    residualScale: arch === "granite" ? num("residual_scale", 0) || 1 : 1,
    logitScale: arch === "granite" ? num("logit_scale") : 1,
    kqScale: gemma ? 1 / Math.sqrt(is27b ? nEmbd / nHead : headDim) : arch === "granite" && has("attention.scale") ? num("attention.scale") : 1 / Math.sqrt(headDim),
    attnSoftcap: arch === "gemma2" ? num("attn_logit_softcapping", 50) : 0,
    finalSoftcap: arch === "gemma2" ? num("final_logit_softcapping", 30) : arch === "gemma3" ? num("final_logit_softcapping", 0) : 0,
    attnTempScale: arch === "mistral3" ? num("attention.temperature_scale", 0) : 0,
    attnTempFloor: arch === "mistral3" ? num("rope.scaling.original_context_length", num("context_length")) : 0,
    gelu: gemma,
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
 * RoPE as ggml computes it without YaRN: pair i turns by pos · scale · theta^(-2i/hd) / ff[i] (ff: Llama 3
 * rope_freqs, 1 otherwise), and the rotated pair is multiplied by attnFactor. "normal" (llama) rotates
 * consecutive pairs (x[2i], x[2i+1]); NEOX (qwen, gemma, phi3) rotates (x[i], x[i + hd/2]).
 */
function rope(v: Float64Array, nHeads: number, hd: number, pos: number, theta: number, scale: number, ff: Float64Array | undefined, attnFactor: number, neox: boolean): void {
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < hd / 2; i++) {
      const ang = (pos * scale * Math.pow(theta, (-2 * i) / hd)) / (ff ? ff[i]! : 1);
      const c = Math.cos(ang) * attnFactor, s = Math.sin(ang) * attnFactor;
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

/** qwen3 / gemma3: RMSNorm over each head's vector with a shared [hd] weight. */
function headNorm(v: Float64Array, nHeads: number, hd: number, w: Float64Array | undefined, eps: number): void {
  if (!w) return;
  for (let h = 0; h < nHeads; h++) v.set(rmsnorm(v.subarray(h * hd, (h + 1) * hd), w, eps), h * hd);
}

const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

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
  let xs: Float64Array[] = tokens.map((t) => emb.slice(t * E, (t + 1) * E).map((v) => v * m.embdScale));
  const group = H / Hk;
  const ff = m.w.get("rope_freqs.weight");
  for (let l = 0; l < m.nLayer; l++) {
    const p = `blk.${l}.`;
    const qs: Float64Array[] = [], ks: Float64Array[] = [], vs: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const h = rmsnorm(xs[t]!, W(p + "attn_norm.weight"), m.normEps);
      let q: Float64Array, k: Float64Array, v: Float64Array;
      const wqkv = m.w.get(p + "attn_qkv.weight");
      if (wqkv) {
        const qkv = matvec(wqkv, h, E, (H + 2 * Hk) * hd);
        addInPlace(qkv, m.w.get(p + "attn_qkv.bias"));
        q = qkv.slice(0, H * hd);
        k = qkv.slice(H * hd, (H + Hk) * hd);
        v = qkv.slice((H + Hk) * hd);
      } else {
        q = matvec(W(p + "attn_q.weight"), h, E, H * hd);
        k = matvec(W(p + "attn_k.weight"), h, E, Hk * hd);
        v = matvec(W(p + "attn_v.weight"), h, E, Hk * hd);
        addInPlace(q, m.w.get(p + "attn_q.bias"));
        addInPlace(k, m.w.get(p + "attn_k.bias"));
        addInPlace(v, m.w.get(p + "attn_v.bias"));
      }
      headNorm(q, H, hd, m.w.get(p + "attn_q_norm.weight"), m.normEps);
      headNorm(k, Hk, hd, m.w.get(p + "attn_k_norm.weight"), m.normEps);
      if (m.layerRope[l]) {
        rope(q, H, hd, t, m.layerTheta[l]!, m.layerScale[l]!, ff, m.ropeAttnFactor, m.neox);
        rope(k, Hk, hd, t, m.layerTheta[l]!, m.layerScale[l]!, ff, m.ropeAttnFactor, m.neox);
      }
      if (m.attnTempScale) {
        const s = Math.log(Math.floor(t / m.attnTempFloor) + 1) * m.attnTempScale + 1;
        for (let i = 0; i < q.length; i++) q[i] = q[i]! * s;
      }
      qs.push(q); ks.push(k); vs.push(v);
    }
    const next: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const att = new Float64Array(H * hd);
      const first = m.layerSwa[l] ? Math.max(0, t - m.nSwa + 1) : 0; // keys with t - s >= n_swa are masked
      for (let h = 0; h < H; h++) {
        const kh = Math.floor(h / group);
        const scores: number[] = [];
        let mx = -Infinity;
        for (let s = first; s <= t; s++) {
          let d = 0;
          for (let i = 0; i < hd; i++) d += qs[t]![h * hd + i]! * ks[s]![kh * hd + i]!;
          d *= m.kqScale;
          if (m.attnSoftcap) d = m.attnSoftcap * Math.tanh(d / m.attnSoftcap);
          scores.push(d);
          mx = Math.max(mx, d);
        }
        let z = 0;
        const e = scores.map((d) => { const v = Math.exp(d - mx); z += v; return v; });
        for (let s = first; s <= t; s++) {
          const a = e[s - first]! / z;
          for (let i = 0; i < hd; i++) att[h * hd + i] = att[h * hd + i]! + a * vs[s]![kh * hd + i]!;
        }
      }
      let o = matvec(W(p + "attn_output.weight"), att, H * hd, E);
      const post = m.w.get(p + "post_attention_norm.weight");
      if (post) o = rmsnorm(o, post, m.normEps);
      const x = new Float64Array(E);
      for (let i = 0; i < E; i++) x[i] = xs[t]![i]! + o[i]! * m.residualScale;
      const h2 = rmsnorm(x, W(p + "ffn_norm.weight"), m.normEps);
      let g: Float64Array, u: Float64Array;
      if (m.w.has(p + "ffn_gate.weight")) {
        g = matvec(W(p + "ffn_gate.weight"), h2, E, F);
        u = matvec(W(p + "ffn_up.weight"), h2, E, F);
      } else { // phi3: ffn_up = [gate; up]
        const gu = matvec(W(p + "ffn_up.weight"), h2, E, 2 * F);
        g = gu.slice(0, F);
        u = gu.slice(F);
      }
      const a = new Float64Array(F);
      for (let i = 0; i < F; i++) a[i] = (m.gelu ? geluTanh(g[i]!) : g[i]! / (1 + Math.exp(-g[i]!))) * u[i]!;
      let d = matvec(W(p + "ffn_down.weight"), a, F, E);
      const postF = m.w.get(p + "post_ffw_norm.weight");
      if (postF) d = rmsnorm(d, postF, m.normEps);
      for (let i = 0; i < E; i++) x[i] = x[i]! + d[i]! * m.residualScale;
      next.push(x);
    }
    xs = next;
  }
  const head = m.w.get("output.weight") ?? W("token_embd.weight");
  return xs.map((x) => {
    const lg = matvec(head, rmsnorm(x, W("output_norm.weight"), m.normEps), E, V);
    for (let i = 0; i < V; i++) {
      let v = lg[i]! / m.logitScale;
      if (m.finalSoftcap) v = m.finalSoftcap * Math.tanh(v / m.finalSoftcap);
      lg[i] = v;
    }
    return lg;
  });
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
