import "server-only";

type Entry = { failures: number; lastFailureAt: number; lockedUntil: number };

export type ThrottleOptions = {
  /** Failures a key may have before it is locked; each failure after that doubles the lock. */
  freeFailures: number;
  /** The first lock lasts this long; each further failure doubles it, up to maxLockMs. */
  baseLockMs: number;
  maxLockMs: number;
  /** A key with no failure for this long starts over. */
  forgetAfterMs: number;
};

/**
 * Counts failed sign-ins per key ("email:…", "ip:…") and locks a key with exponential backoff
 * once it has used up its free failures. Held in memory on purpose: it needs no schema, a restart
 * (which takes shell access anyway) clears it, and a single Atelier process serves the console.
 */
export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly opts: ThrottleOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until every given key is unlocked (0 when none is locked). */
  lockedFor(keys: string[]): number {
    const t = this.now();
    let wait = 0;
    for (const key of keys) {
      const e = this.live(key, t);
      if (e && e.lockedUntil > t) wait = Math.max(wait, e.lockedUntil - t);
    }
    return wait;
  }

  fail(keys: string[]): void {
    const t = this.now();
    for (const key of keys) {
      const e = this.live(key, t) ?? { failures: 0, lastFailureAt: t, lockedUntil: 0 };
      e.failures++;
      e.lastFailureAt = t;
      const over = e.failures - this.opts.freeFailures;
      if (over >= 0) e.lockedUntil = t + Math.min(this.opts.baseLockMs * 2 ** over, this.opts.maxLockMs);
      this.entries.set(key, e);
    }
    if (this.entries.size > 10_000) this.prune(t);
  }

  succeed(key: string): void {
    this.entries.delete(key);
  }

  private live(key: string, t: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e && t - e.lastFailureAt > this.opts.forgetAfterMs && e.lockedUntil <= t) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private prune(t: number): void {
    for (const key of [...this.entries.keys()]) this.live(key, t);
  }
}

/** Per account: locked after 5 failures for 1 s, then 2 s, 4 s … up to 15 min. Per address: after 20 (shared NATs). */
export const EMAIL_THROTTLE: ThrottleOptions = { freeFailures: 5, baseLockMs: 1000, maxLockMs: 15 * 60_000, forgetAfterMs: 15 * 60_000 };
export const IP_THROTTLE: ThrottleOptions = { ...EMAIL_THROTTLE, freeFailures: 20 };

const g = globalThis as unknown as { atelierLoginThrottles?: { email: LoginThrottle; ip: LoginThrottle } };

/** The process-wide throttles (one survives Next's module reloads in dev). */
export function loginThrottles(): { email: LoginThrottle; ip: LoginThrottle } {
  g.atelierLoginThrottles ??= { email: new LoginThrottle(EMAIL_THROTTLE), ip: new LoginThrottle(IP_THROTTLE) };
  return g.atelierLoginThrottles;
}

export function resetLoginThrottlesForTests(): void {
  g.atelierLoginThrottles = undefined;
}
