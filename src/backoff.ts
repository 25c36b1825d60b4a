/**
 * The one backoff of the gateway and its client: capped exponential with "equal jitter". Retry
 * number n (0 = first) waits step/2 plus a random half of step, where step = min(maxMs, minMs × 2^n).
 * So `maxMs` is a hard cap — no wait is longer — and the random half keeps a fleet that lost the
 * same peer at the same moment (50 gateways behind one broker, dashboards behind one gateway) from
 * knocking again in lock-step, at the cap too. Used by the serial and MQTT sources (pure function,
 * attempt counted by the caller) and by the typed client (Backoff). No imports: the browser
 * bundle takes it as it is.
 */

export interface BackoffConfig {
  /** the step of the first retry */
  minMs: number;
  /** cap of every step, and so of every wait */
  maxMs: number;
}

/**
 * The wait before retry number `attempt`, in [step/2, step]. Tolerates what a config may hold
 * (minMs 0, maxMs < minMs) and a `random` (injectable for tests) outside [0, 1).
 */
export function backoffDelay(attempt: number, cfg: BackoffConfig, random: () => number = Math.random): number {
  const min = Math.max(0, cfg.minMs);
  const max = Math.max(min, cfg.maxMs);
  // the exponent is capped so 2^n stays finite (0 × Infinity would be NaN); 2^52 is past any cap
  const exponent = Math.min(52, Math.max(0, Math.floor(attempt)));
  const step = Math.min(max, min * 2 ** exponent);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(step / 2 + r * (step / 2));
}

export interface BackoffOptions extends BackoffConfig {
  /** [0, 1) source; injectable for tests */
  random?: () => number;
}

/** backoffDelay with its attempt counter, for a caller that wants one object to hold it. */
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
    return backoffDelay(this.attempt++, this.opts, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }
}
