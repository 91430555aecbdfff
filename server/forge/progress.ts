import type { ProgressEvent } from "./trainer";

/** "1:05:03", "4:07", "12s" */
export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

export function fmtRate(tokS: number): string {
  if (!Number.isFinite(tokS)) return "? tok/s";
  return tokS >= 10_000 ? `${(tokS / 1000).toFixed(1)}k tok/s` : `${Math.round(tokS)} tok/s`;
}

const fmtLoss = (x: number | null | undefined) => (x === null || x === undefined ? "—" : x.toFixed(3));

export interface ProgressPrinterOptions {
  stream?: NodeJS.WriteStream;
  /** force TTY / plain mode (default: stream.isTTY) */
  tty?: boolean;
  /** plain mode: print a step line at most every N seconds (default 5) and at each eval */
  plainEverySeconds?: number;
  label?: string;
}

/**
 * Renders trainer progress: a one-line bar (step/steps, loss, tok/s, ETA) redrawn in place on a
 * TTY, plain throttled lines otherwise (logs, CI).
 */
export class ProgressPrinter {
  private readonly out: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly every: number;
  private readonly label: string;
  private lastPlain = 0;
  private barShown = false;

  constructor(opts: ProgressPrinterOptions = {}) {
    this.out = opts.stream ?? process.stdout;
    this.tty = opts.tty ?? Boolean(this.out.isTTY);
    this.every = (opts.plainEverySeconds ?? 5) * 1000;
    this.label = opts.label ?? "train";
  }

  /** one-line bar text for a step event (exported for tests) */
  static barText(ev: Extract<ProgressEvent, { type: "step" }>, width = 24, label = "train"): string {
    const frac = ev.steps > 0 ? Math.min(1, ev.step / ev.steps) : 0;
    const filled = Math.round(frac * width);
    const bar = "█".repeat(filled) + "░".repeat(width - filled);
    const evalPart = ev.eval_loss != null ? ` eval ${fmtLoss(ev.eval_loss)}` : "";
    return `${label} ${bar} ${ev.step}/${ev.steps} loss ${fmtLoss(ev.loss)}${evalPart} ${fmtRate(ev.tok_s)} ETA ${fmtDuration(ev.eta_s)}`;
  }

  line(text: string) {
    this.clearBar();
    this.out.write(text + "\n");
  }

  private clearBar() {
    if (this.tty && this.barShown) {
      this.out.write("\r\x1b[2K");
      this.barShown = false;
    }
  }

  event(ev: ProgressEvent) {
    switch (ev.type) {
      case "start":
        this.line(
          `${this.label}: ${ev.steps} steps` +
            (ev.params ? `, ${(ev.params / 1e6).toFixed(2)}M params` : "") +
            (ev.trainable && ev.trainable !== ev.params ? ` (${(ev.trainable / 1e6).toFixed(2)}M trainable)` : "") +
            `, ~${Math.ceil(ev.mem_estimate_bytes / 2 ** 20)} MiB` +
            (ev.threads ? `, ${ev.threads} thread${ev.threads === 1 ? "" : "s"}` : "") +
            (ev.start_step ? `, resuming at step ${ev.start_step}` : ""),
        );
        break;
      case "step": {
        const text = ProgressPrinter.barText(ev, 24, this.label);
        if (this.tty) {
          const cols = this.out.columns || 100;
          this.out.write("\r\x1b[2K" + text.slice(0, cols - 1));
          this.barShown = true;
          if (ev.eval_loss != null) this.line(`  step ${ev.step}: eval loss ${fmtLoss(ev.eval_loss)}, ppl ${ev.eval_ppl?.toFixed(2) ?? "—"}`);
        } else {
          const now = Date.now();
          if (now - this.lastPlain >= this.every || ev.step === ev.steps || ev.eval_loss != null || ev.step === 1) {
            this.lastPlain = now;
            this.line(text.replace(/ [█░]+ /, " "));
          }
        }
        break;
      }
      case "checkpoint":
        if (!this.tty) this.line(`  checkpoint at step ${ev.step}`);
        break;
      case "done":
      case "stopped":
        this.line(
          `${this.label}: ${ev.type === "done" ? "done" : "stopped"} after ${ev.steps} steps in ${fmtDuration(ev.seconds)}; ` +
            `train loss ${fmtLoss(ev.train_loss)}` +
            (ev.eval_loss != null ? `, eval loss ${fmtLoss(ev.eval_loss)}, eval ppl ${ev.eval_ppl?.toFixed(2)}` : "") +
            ` → ${ev.out}`,
        );
        break;
      case "error":
        this.line(`${this.label}: error ${ev.code}: ${ev.message}`);
        break;
      default:
        break;
    }
  }

  finish() {
    this.clearBar();
  }
}
