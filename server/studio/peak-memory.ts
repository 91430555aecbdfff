import "server-only";
import { readFileSync } from "node:fs";

/*
 * The measured peak memory of a trainer process: the kernel's resident-set high-water mark
 * (VmHWM in /proc/<pid>/status), which only grows, so sampling it while the process lives and
 * once more at its last progress line gives the run's peak without any change to the trainer.
 * Where there is no /proc (macOS, Windows) nothing is measured and the UI says so.
 */

const SAMPLE_EVERY_MS = 250;

/** VmHWM of `pid` in bytes, or null when it cannot be read (process gone, no /proc). */
export function readPeakRss(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export type PeakWatcher = {
  /** Reads now (call on progress lines: the last one comes just before the process exits); throttled unless `force`. */
  sample(force?: boolean): void;
  /** Stops sampling; the highest value seen, or null when none could be read. */
  stop(): number | null;
};

/** Samples the peak of `pid` every 250 ms until stop(). */
export function watchPeakMemory(pid: number | undefined): PeakWatcher {
  let peak: number | null = null;
  let last = 0;
  const sample = () => {
    if (pid === undefined) return;
    const v = readPeakRss(pid);
    if (v !== null && (peak === null || v > peak)) peak = v;
  };
  sample();
  const timer = setInterval(sample, SAMPLE_EVERY_MS);
  timer.unref();
  return {
    sample: (force = false) => {
      const now = Date.now();
      if (!force && now - last < 50) return; // progress lines can come hundreds a second
      last = now;
      sample();
    },
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}
