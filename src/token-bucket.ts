/**
 * A token bucket with an injectable clock (tests run it without timers): the hub's per-connection
 * rates, the history work budget, each device's input budget and the dashboard's history requests
 * (web/pacer.ts) all take from one. No Node import: the dashboard bundles it.
 */

export type Clock = () => number;

/** monotonic ms: a wall-clock step (NTP, RTC on a Pi without battery) must not refill or drain buckets */
export const monotonic: Clock = () => globalThis.performance.now();

/** Token bucket: `burst` at once, refilled at `perSecond`. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: Clock = monotonic,
  ) {
    this.tokens = burst;
    this.at = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) / 1000) * this.perSecond);
    this.at = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Takes `n` more after a take() succeeded, for a cost known only afterwards: the bucket may go below zero and must refill before the next take. */
  charge(n: number): void {
    this.tokens -= n;
  }
}
