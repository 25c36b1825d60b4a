/** The hub's bad-message window, with an injectable clock so it is tested without timers. */
import { monotonic, type Clock } from '../token-bucket.js';

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
