// `npx atelier forge …`: argument parsing, progress rendering (TTY bar vs plain lines), and the
// bin wrapper running the CLI under the react-server condition.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseCliArgs } from "@/server/forge/cli";
import { ProgressPrinter, fmtDuration } from "@/server/forge/progress";
import type { ProgressEvent } from "@/server/forge/trainer";

const ROOT = path.resolve(import.meta.dirname, "../..");

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { stream: { isTTY, columns: 120, write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WriteStream, chunks };
}

const step = (step: number, extra: object = {}): ProgressEvent => ({
  type: "step", step, steps: 100, epoch: step / 50, loss: 3 - step / 100, lr: 1e-3, tok_s: 1234.5, eta_s: 100 - step, grad_norm: 1, ...extra,
});

describe("progress rendering", () => {
  it("redraws one line on a TTY", () => {
    const { stream, chunks } = fakeStream(true);
    const p = new ProgressPrinter({ stream });
    p.event({ type: "start", steps: 100, mem_estimate_bytes: 5 * 2 ** 20, params: 1_240_000, threads: 1 });
    p.event(step(1));
    p.event(step(50));
    p.finish();
    expect(chunks[0]).toBe("train: 100 steps, 1.24M params, ~5 MiB, 1 thread\n");
    expect(chunks[1]).toBe("\r\x1b[2Ktrain ░░░░░░░░░░░░░░░░░░░░░░░░ 1/100 loss 2.990 1235 tok/s ETA 1:39");
    expect(chunks[2]).toBe("\r\x1b[2Ktrain ████████████░░░░░░░░░░░░ 50/100 loss 2.500 1235 tok/s ETA 50s");
    expect(chunks.at(-1)).toBe("\r\x1b[2K");
  });

  it("prints throttled plain lines otherwise, always including eval steps and the end", () => {
    const { stream, chunks } = fakeStream(false);
    const p = new ProgressPrinter({ stream, plainEverySeconds: 3600 });
    for (let i = 1; i <= 100; i++) p.event(step(i, i === 40 ? { eval_loss: 2.2, eval_ppl: 9.03 } : {}));
    p.event({ type: "done", out: "/x/out.gguf", steps: 100, train_loss: 2, eval_loss: 2.1, eval_ppl: 8.17, seconds: 75 });
    expect(chunks).toEqual([
      "train 1/100 loss 2.990 1235 tok/s ETA 1:39\n",
      "train 40/100 loss 2.600 eval 2.200 1235 tok/s ETA 1:00\n",
      "train 100/100 loss 2.000 1235 tok/s ETA 0s\n",
      "train: done after 100 steps in 1:15; train loss 2.000, eval loss 2.100, eval ppl 8.17 → /x/out.gguf\n",
    ]);
    expect(chunks.every((c) => !c.includes("\r"))).toBe(true);
  });

  it("formats durations", () => {
    expect(fmtDuration(5)).toBe("5s");
    expect(fmtDuration(65)).toBe("1:05");
    expect(fmtDuration(3725)).toBe("1:02:05");
  });
});

describe("CLI", () => {
  it("parses repeated flags, --k=v and booleans", () => {
    const a = parseCliArgs(["train", "--data", "a.md", "--data=b.jsonl", "--resume", "--lr", "1e-3"]);
    expect(a._).toEqual(["train"]);
    expect(a.flags.get("data")).toEqual(["a.md", "b.jsonl"]);
    expect(a.flags.get("resume")).toEqual(["true"]);
    expect(a.flags.get("lr")).toEqual(["1e-3"]);
  });

  it("bin/atelier.mjs runs the forge CLI (react-server condition) and reports errors with codes", () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, "bin/atelier.mjs"), ...args], { encoding: "utf8", cwd: ROOT });
    const help = run("forge", "help");
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("usage: atelier forge <command>");

    const dir = mkdtempSync(path.join(os.tmpdir(), "forge-cli-"));
    try {
      writeFileSync(path.join(dir, "tiny.md"), "just a few words");
      const small = run("forge", "train", "--mode", "scratch", "--data", path.join(dir, "tiny.md"), "--out", path.join(dir, "o.gguf"), "--seq", "1024");
      expect(small.status).toBe(1);
      expect(small.stderr).toMatch(/error DATASET_TOO_SMALL: dataset has \d+ tokens \(1 row\) but one batch needs 4,100 \(batch 4 × seq 1,024\+1\)/);

      const missing = run("forge", "quantize", "--in", "x.gguf");
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain("error BAD_CONFIG: --type is required");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(run("nope").status).toBe(2);
  });
});
