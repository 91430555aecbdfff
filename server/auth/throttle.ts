import "server-only";

type Entry = { failures: number; inFlight: number; lastFailureAt: number; lockedUntil: number };

export type ThrottleOptions = {
  /** Failures a key may have before it is locked; each failure after that doubles the lock. */
  freeFailures: number;
  /** The first lock lasts this long; each further failure doubles it, up to maxLockMs. */
  baseLockMs: number;
  maxLockMs: number;
  /** A key with no failure for this long starts over. */
  forgetAfterMs: number;
};

/** What an attempt that was not admitted must wait, in ms (at least 1 s). */
const BUSY_WAIT_MS = 1000;

/**
 * Failed sign-ins per key, with exponential backoff once a key has used up its free failures.
 * Attempts are *reserved* before the password hash runs (`tryReserve`, synchronous, so nothing
 * interleaves with it): a reservation counts against the key's budget while the hash runs, so
 * however many guesses arrive at once, at most `freeFailures` are evaluated, and after that one
 * at a time, each only once the lock from the previous failure has passed.
 */
export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly opts: ThrottleOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `key` may be tried again (0: now). */
  waitFor(key: string): number {
    const t = this.now();
    const e = this.live(key, t);
    if (!e) return 0;
    if (e.failures + e.inFlight < this.opts.freeFailures) return 0;
    // Past the free failures: one attempt at a time, and only after the lock.
    if (e.inFlight > 0) return Math.max(BUSY_WAIT_MS, e.lockedUntil - t);
    return Math.max(0, e.lockedUntil - t);
  }

  /** Backward-compatible name: the longest wait of `keys`. */
  lockedFor(keys: string[]): number {
    return Math.max(0, ...keys.map((k) => this.waitFor(k)));
  }

  /** Counts one attempt in flight for `key` (the caller checked waitFor first, in the same tick). */
  reserve(key: string): void {
    const t = this.now();
    const e = this.live(key, t) ?? { failures: 0, inFlight: 0, lastFailureAt: t, lockedUntil: 0 };
    e.inFlight++;
    this.entries.set(key, e);
  }

  /** Ends a reserved attempt: a failure counts (and may lock); a success clears the key when `clear`. */
  settle(key: string, failed: boolean, clear = true): void {
    const t = this.now();
    const e = this.entries.get(key);
    if (!e) return;
    e.inFlight = Math.max(0, e.inFlight - 1);
    if (!failed) {
      if (clear) this.entries.delete(key);
      return;
    }
    e.failures++;
    e.lastFailureAt = t;
    const over = e.failures - this.opts.freeFailures;
    if (over >= 0) e.lockedUntil = t + Math.min(this.opts.baseLockMs * 2 ** over, this.opts.maxLockMs);
    if (this.entries.size > 10_000) this.prune(t);
  }

  /** Records failures without a reservation (tests, and callers that do not hash). */
  fail(keys: string[]): void {
    for (const key of keys) {
      this.reserve(key);
      this.settle(key, true);
    }
  }

  succeed(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets `key`'s failures and lock (an admin's unlock); attempts in flight still settle. */
  clear(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    if (e.inFlight === 0) this.entries.delete(key);
    else Object.assign(e, { failures: 0, lockedUntil: 0 });
  }

  /** Failures counted for `key` (0 when it has none or they were forgotten). */
  failures(key: string): number {
    return this.live(key, this.now())?.failures ?? 0;
  }

  /** clear() for every key that matches. */
  clearWhere(match: (key: string) => boolean): void {
    for (const key of [...this.entries.keys()]) if (match(key)) this.clear(key);
  }

  private live(key: string, t: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.inFlight === 0 && t - e.lastFailureAt > this.opts.forgetAfterMs && e.lockedUntil <= t) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private prune(t: number): void {
    for (const key of [...this.entries.keys()]) this.live(key, t);
  }
}

/*
 * Three budgets, all reserved together before the hash (SignInGuard.admit):
 *   pair     (account × address): 5 free failures. Someone mistyping, or one attacking address,
 *            is slowed on that account from that address first — "per address first".
 *   address  (all accounts): 20 free failures (a shared NAT is many people): stops one address
 *            spraying passwords over many accounts.
 *   account  (all addresses): 10 free failures, then backoff from 1 s doubling to 15 min: stops
 *            a guess spread over many addresses. So that this cannot keep the real user out, the
 *            account lock does not apply at an address the account signed in from before
 *            (while this process runs), and an admin can unlock it in Users.
 */
export const PAIR_THROTTLE: ThrottleOptions = { freeFailures: 5, baseLockMs: 1000, maxLockMs: 15 * 60_000, forgetAfterMs: 15 * 60_000 };
export const IP_THROTTLE: ThrottleOptions = { ...PAIR_THROTTLE, freeFailures: 20 };
export const EMAIL_THROTTLE: ThrottleOptions = { ...PAIR_THROTTLE, freeFailures: 10 };

/** Addresses each account signed in from, most recent last (bounded). */
class KnownAddresses {
  private readonly byAccount = new Map<string, string[]>();
  has(email: string, ip: string | null): boolean {
    return ip !== null && (this.byAccount.get(email)?.includes(ip) ?? false);
  }
  add(email: string, ip: string | null): void {
    if (ip === null) return;
    const list = (this.byAccount.get(email) ?? []).filter((a) => a !== ip);
    list.push(ip);
    this.byAccount.delete(email);
    this.byAccount.set(email, list.slice(-20));
    if (this.byAccount.size > 10_000) this.byAccount.delete(this.byAccount.keys().next().value!);
  }
}

export type Admission = { ok: true; settle: (outcome: "wrong" | "right") => void } | { ok: false; retryAfterS: number };

/** The sign-in throttles of the process: admit (reserve) before the hash, settle after it. */
export class SignInGuard {
  readonly pair: LoginThrottle;
  readonly ip: LoginThrottle;
  readonly email: LoginThrottle;
  private readonly known = new KnownAddresses();

  constructor(now: () => number = Date.now) {
    this.pair = new LoginThrottle(PAIR_THROTTLE, now);
    this.ip = new LoginThrottle(IP_THROTTLE, now);
    this.email = new LoginThrottle(EMAIL_THROTTLE, now);
  }

  /**
   * Reserves one attempt on every budget that applies, or none. Synchronous: two attempts cannot
   * both pass a check before either is counted.
   */
  admit(email: string, ip: string | null): Admission {
    const keys: Array<[LoginThrottle, string]> = [
      [this.pair, `${email}|${ip ?? "unknown"}`],
      [this.ip, ip ?? "unknown"],
    ];
    if (!this.known.has(email, ip)) keys.push([this.email, email]);
    const wait = Math.max(...keys.map(([t, k]) => t.waitFor(k)));
    if (wait > 0) return { ok: false, retryAfterS: Math.max(1, Math.ceil(wait / 1000)) };
    for (const [t, k] of keys) t.reserve(k);
    let settled = false;
    return {
      ok: true,
      settle: (outcome) => {
        if (settled) return;
        settled = true;
        // The address budget is not cleared by a success: signing in to one's own account
        // between guesses at others must not reset it. The account budget is cleared only by a
        // success it was checked for: the owner signing in at a known address while strangers
        // guess elsewhere does not hand them a fresh budget.
        for (const [t, k] of keys) t.settle(k, outcome === "wrong", t !== this.ip);
        if (outcome === "right") this.known.add(email, ip);
      },
    };
  }

  /** Milliseconds until `email` may be tried from an address it never signed in from (0: not locked). */
  accountLockedFor(email: string): number {
    return this.email.waitFor(email);
  }

  /** Whether `email` used up its free failures: strangers' attempts are then throttled (backoff) until an admin unlocks it or they are forgotten. */
  accountThrottled(email: string): boolean {
    return this.email.failures(email) >= this.email.opts.freeFailures;
  }

  /** An admin's unlock: the account's failures are forgotten, from every address. */
  unlockAccount(email: string): void {
    this.email.clear(email);
    this.pair.clearWhere((key) => key.startsWith(`${email}|`));
  }
}

const g = globalThis as unknown as { atelierSignInGuard?: SignInGuard };

/** The process-wide sign-in guard (one survives Next's module reloads in dev). */
export function signInGuard(): SignInGuard {
  g.atelierSignInGuard ??= new SignInGuard();
  return g.atelierSignInGuard;
}

export function resetLoginThrottlesForTests(): void {
  g.atelierSignInGuard = undefined;
}
