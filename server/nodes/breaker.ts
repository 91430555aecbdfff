import "server-only";

/*
 * A circuit breaker per node. Closed: requests flow and consecutive failures are counted; at
 * `threshold` the circuit opens and the node gets no turns. Once the cooldown has passed, the
 * health checker re-probes it; a good probe half-opens the circuit, which lets exactly one real
 * turn through: success closes it, failure opens it again with twice the cooldown (up to 32x).
 */

export type BreakerState = "closed" | "open" | "half-open";

export type BreakerView = { state: BreakerState; failures: number; openUntil: number | null; lastError: string | null };

export class CircuitBreaker {
  private state: BreakerState = "closed";
  private failures = 0;
  private opens = 0;
  private openUntil = 0;
  private trialInFlight = false;
  private lastError: string | null = null;

  constructor(
    private readonly threshold: () => number,
    private readonly cooldownMs: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  /** May a turn be sent now? A half-open circuit admits one at a time (the trial). */
  allows(): boolean {
    if (this.state === "closed") return true;
    if (this.state === "half-open") return !this.trialInFlight;
    return false;
  }

  /** Call when a turn is sent; returns a token to report its outcome with. */
  begin(): void {
    if (this.state === "half-open") this.trialInFlight = true;
  }

  success(): void {
    this.state = "closed";
    this.failures = 0;
    this.opens = 0;
    this.trialInFlight = false;
    this.lastError = null;
  }

  failure(reason: string): void {
    this.lastError = reason;
    this.trialInFlight = false;
    if (this.state === "half-open") return this.open();
    this.failures++;
    if (this.state === "closed" && this.failures >= this.threshold()) this.open();
  }

  private open(): void {
    this.state = "open";
    this.opens = Math.min(this.opens + 1, 6);
    this.openUntil = this.now() + this.cooldownMs() * 2 ** (this.opens - 1);
  }

  /** Is the cooldown over (time to re-probe)? */
  dueForProbe(): boolean {
    return this.state === "open" && this.now() >= this.openUntil;
  }

  /** The health checker's probe of an open node answered well. */
  probeSucceeded(): void {
    if (this.state === "open" && this.now() >= this.openUntil) {
      this.state = "half-open";
      this.trialInFlight = false;
    }
  }

  /** The probe failed: stay open for another cooldown. */
  probeFailed(reason: string): void {
    if (this.state !== "closed") {
      this.lastError = reason;
      this.open();
    }
  }

  view(): BreakerView {
    return { state: this.state, failures: this.failures, openUntil: this.state === "open" ? this.openUntil : null, lastError: this.lastError };
  }
}
