/** Per-connection rate limits, with an injectable clock so they are tested without timers. */
import { performance } from 'node:perf_hooks';

export type Clock = () => number;

/** monotonic ms: a wall-clock step (NTP, RTC on a Pi without battery) must not refill or drain buckets */
const monotonic: Clock = () => performance.now();

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

/** Counts events in a sliding window; remembers at most limit + 1 timestamps. */
export class WindowCounter {
  private readonly times: number[] = [];

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: Clock = monotonic,
  ) {}

  /** records one event; true when more than `limit` fell within the window */
  hit(): boolean {
    const t = this.now();
    this.times.push(t);
    if (this.times.length > this.limit + 1) this.times.shift();
    while (this.times.length > 0 && t - this.times[0]! >= this.windowMs) this.times.shift();
    return this.times.length > this.limit;
  }
}
