/**
 * Capped exponential backoff with "equal jitter": each delay is half the exponential step plus a
 * random half, so a fleet of dashboards that lost the gateway at the same moment does not
 * reconnect in lock-step, and no delay exceeds the cap.
 */
export interface BackoffOptions {
  /** first step */
  minMs: number;
  /** cap of every step */
  maxMs: number;
  /** [0, 1) source; injectable for tests */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly random: () => number;

  constructor(private readonly opts: BackoffOptions) {
    if (!(opts.minMs > 0) || !(opts.maxMs >= opts.minMs)) {
      throw new RangeError(`backoff needs 0 < minMs <= maxMs (got ${opts.minMs}, ${opts.maxMs})`);
    }
    this.random = opts.random ?? Math.random;
  }

  /** how many delays were handed out since the last reset */
  get attempts(): number {
    return this.attempt;
  }

  /** the delay before the next attempt, in ms */
  next(): number {
    // 2 ** 30 × minMs is far above any sane cap; stop growing the exponent there.
    const step = Math.min(this.opts.maxMs, this.opts.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(step / 2 + this.random() * (step / 2));
  }

  reset(): void {
    this.attempt = 0;
  }
}
