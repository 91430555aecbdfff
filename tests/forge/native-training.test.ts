// (e) masking, (f) crash + resume, SIGTERM stop, and the named error codes.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ensureBuilt, parseLines, rng, runForge, tmpDir, train, trainAsync, writeAtds, type ForgeLine,
} from "./reference/forge-helpers";

const V = 48;
const MODEL = { n_vocab: V, n_embd: 32, n_layer: 2, n_head: 4, n_head_kv: 2, n_ff: 64, n_ctx: 32, rope_theta: 10000, norm_eps: 1e-5 };

function rows(seed: number, n: number, len: number) {
  const r = rng(seed);
  const rs: number[][] = [];
  const ms: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: len }, (_, j) => (r() < 0.8 ? (i + j * 7) % V : Math.floor(r() * V)));
    rs.push(row);
    ms.push(row.map((_, j) => (j === 0 ? 0 : 1)));
  }
  return { rows: rs, masks: ms };
}

function baseConfig(dir: string, extra: object = {}) {
  return {
    mode: "scratch", out: path.join(dir, "out.gguf"), checkpointDir: path.join(dir, "ckpt"), resume: false,
    train: path.join(dir, "train.atds"), model: MODEL, batch: 4, grad_accum: 2, steps: 40, lr: 5e-3, warmup_steps: 4,
    min_lr_ratio: 0.1, weight_decay: 0.1, grad_clip: 1, save_every: 5, seed: 11, threads: 1, ...extra,
  };
}

describe("native trainer behaviour", () => {
  let dir = "";
  let model = "";
  beforeAll(() => {
    ensureBuilt();
    dir = tmpDir();
    const d = rows(1, 64, 25);
    writeAtds(path.join(dir, "train.atds"), d.rows, d.masks);
    model = path.join(dir, "m.gguf");
    const res = train({ ...baseConfig(dir), out: model, steps: 5, checkpointDir: path.join(dir, "ck0") }, dir);
    expect(res.code, res.stderr).toBe(0);
  }, 60_000);

  it("(e) masked positions receive no gradient", () => {
    const d = rows(7, 3, 17);
    // Row 0: targets only in the middle; row 1: no targets at all; row 2: everything.
    d.masks[0] = d.masks[0]!.map((_, j) => (j >= 5 && j <= 10 ? 1 : 0));
    d.masks[1] = d.masks[1]!.map(() => 0);
    const a = path.join(dir, "mask-a.atds");
    writeAtds(a, d.rows, d.masks);
    // Change what the masked targets are: tokens after row 0's last target, and all of row 1.
    const changed = d.rows.map((r) => [...r]);
    for (let j = 11; j < 17; j++) changed[0]![j] = (changed[0]![j]! + 13) % V;
    changed[1] = changed[1]!.map((t) => (t + 5) % V);
    const b = path.join(dir, "mask-b.atds");
    writeAtds(b, changed, d.masks);
    const ga = path.join(dir, "ga.json");
    const gb = path.join(dir, "gb.json");
    expect(runForge(["grads", "--model", model, "--data", a, "--out", ga, "--threads", "1"]).code).toBe(0);
    expect(runForge(["grads", "--model", model, "--data", b, "--out", gb, "--threads", "1"]).code).toBe(0);
    const A = JSON.parse(readFileSync(ga, "utf8"));
    const B = JSON.parse(readFileSync(gb, "utf8"));
    expect(B.targets).toBe(A.targets);
    expect(A.targets).toBe(6 + 16);
    expect(B.loss).toBe(A.loss);
    for (const name of Object.keys(A.grads)) {
      const ga2: number[] = A.grads[name];
      const gb2: number[] = B.grads[name];
      for (let i = 0; i < ga2.length; i++) if (ga2[i] !== gb2[i]) throw new Error(`${name}[${i}] differs: ${ga2[i]} vs ${gb2[i]}`);
    }
    // Sanity: changing a *target* does change the loss.
    const c = d.rows.map((r) => [...r]);
    c[0]![7] = (c[0]![7]! + 1) % V;
    const cp = path.join(dir, "mask-c.atds");
    writeAtds(cp, c, d.masks);
    const gc = path.join(dir, "gc.json");
    expect(runForge(["grads", "--model", model, "--data", cp, "--out", gc, "--threads", "1"]).code).toBe(0);
    expect(JSON.parse(readFileSync(gc, "utf8")).loss).not.toBe(A.loss);
  }, 60_000);

  it("(f) kill -9 mid-run, resume continues the same loss curve", async () => {
    // 200 short steps: far more than the kill latency, so the kill lands mid-run.
    const long = { steps: 200 };
    const ref = train(baseConfig(dir, { ...long, checkpointDir: path.join(dir, "ck-ref"), out: path.join(dir, "ref.gguf") }), dir);
    expect(ref.code, ref.stderr).toBe(0);
    const refLoss = new Map<number, number>();
    for (const l of ref.lines) if (l.type === "step") refLoss.set(l.step as number, l.loss as number);
    expect(refLoss.size).toBe(200);

    const cfg = baseConfig(dir, { ...long, checkpointDir: path.join(dir, "ck-kill"), out: path.join(dir, "kill.gguf") });
    const child = trainAsync(cfg, dir);
    let out = "";
    let killedAfter = 0;
    await new Promise<void>((resolve) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const lines = parseLines(out.slice(0, out.lastIndexOf("\n") + 1));
        const ck = lines.filter((l) => l.type === "checkpoint").map((l) => l.step as number);
        const last = lines.filter((l) => l.type === "step").map((l) => l.step as number).pop() ?? 0;
        if (!killedAfter && ck.includes(10) && last >= 12) {
          killedAfter = last;
          child.kill("SIGKILL");
        }
      });
      child.on("close", () => resolve());
    });
    expect(killedAfter).toBeGreaterThanOrEqual(12);
    expect(killedAfter).toBeLessThan(200);
    expect(existsSync(path.join(dir, "kill.gguf"))).toBe(false); // never half-written
    expect(existsSync(path.join(dir, "ck-kill", "ckpt.json"))).toBe(true);

    const resumed = train({ ...cfg, resume: true }, dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    const start = resumed.lines.find((l) => l.type === "start")!;
    // ckpt.gguf is authoritative (ckpt.json is written right after it).
    const ckStep = start.start_step as number;
    expect(ckStep).toBeGreaterThanOrEqual(10);
    expect(ckStep % 5).toBe(0);
    const steps = resumed.lines.filter((l) => l.type === "step") as (ForgeLine & { step: number; loss: number })[];
    expect(steps[0]!.step).toBe(ckStep + 1);
    expect(steps.at(-1)!.step).toBe(200);
    for (const s of steps) {
      const r = refLoss.get(s.step)!;
      expect(Math.abs(s.loss - r) / r, `step ${s.step}`).toBeLessThan(1e-4);
    }
    expect(resumed.lines.at(-1)!.type).toBe("done");
    expect(existsSync(path.join(dir, "kill.gguf"))).toBe(true);
  }, 90_000);

  it("SIGTERM stops after the current step, saving checkpoint and output", async () => {
    const cfg = baseConfig(dir, { checkpointDir: path.join(dir, "ck-term"), out: path.join(dir, "term.gguf"), steps: 100000, save_every: 0 });
    const child = trainAsync(cfg, dir);
    let out = "";
    let sent = false;
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (!sent && out.includes('"step":3,')) {
          sent = true;
          child.kill("SIGTERM");
        }
      });
      child.on("close", (c) => resolve(c));
    });
    expect(code).toBe(0);
    const lines = parseLines(out);
    const last = lines.at(-1)!;
    expect(last.type).toBe("stopped");
    expect(lines.some((l) => l.type === "checkpoint")).toBe(true);
    expect(existsSync(path.join(dir, "term.gguf"))).toBe(true);
    expect(existsSync(path.join(dir, "ck-term", "ckpt.gguf"))).toBe(true);
  }, 60_000);

  it("reports named errors", () => {
    const bad = (cfg: object) => {
      const r = train(cfg, dir);
      expect(r.code).not.toBe(0);
      const e = r.lines.at(-1)!;
      expect(e.type).toBe("error");
      return e;
    };
    expect(bad({ ...baseConfig(dir), mode: "nope" }).code).toBe("BAD_CONFIG");
    expect(bad({ ...baseConfig(dir), model: { ...MODEL, n_ctx: 8 } }).code).toBe("CONTEXT_TOO_LONG");
    const empty = path.join(dir, "empty.atds");
    const d = rows(3, 2, 25);
    writeAtds(empty, d.rows, d.masks.map((m) => m.map(() => 0)));
    expect(bad({ ...baseConfig(dir), train: empty }).code).toBe("DATASET_TOO_SMALL");
    const junk = path.join(dir, "junk.gguf");
    writeFileSync(junk, "definitely not a gguf");
    expect(bad({ ...baseConfig(dir), mode: "full", base: junk }).code).toBe("BAD_GGUF");
    const huge = bad({ ...baseConfig(dir), model: { ...MODEL, n_vocab: 4_000_000, n_embd: 8192 } });
    expect(huge.code).toBe("OUT_OF_MEMORY");
    expect(String(huge.message)).toMatch(/available/);
  }, 60_000);
});
