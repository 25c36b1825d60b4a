/**
 * Capped exponential backoff with jitter, as a pure function so it is tested without timers.
 * Jitter spreads reconnect storms: 50 gateways behind one broker restart do not all knock at once.
 */

export interface BackoffConfig {
  /** first retry delay */
  minMs: number;
  /** cap of the exponential part */
  maxMs: number;
}

/** Jitter added on top of each step, as a fraction of that step (so the cap is maxMs × 1.5). */
export const JITTER = 0.5;

/**
 * Delay before retry number `attempt` (0 = first retry): min(maxMs, minMs × 2^attempt), plus a
 * random jitter in [0, JITTER × that). `random` is injectable for tests.
 */
export function backoffDelay(attempt: number, cfg: BackoffConfig, random: () => number = Math.random): number {
  const min = Math.max(0, cfg.minMs);
  const max = Math.max(min, cfg.maxMs);
  // the exponent is capped so 2^n stays finite (0 × Infinity would be NaN); 2^52 is past any cap
  const exponent = Math.min(52, Math.max(0, Math.floor(attempt)));
  const step = Math.min(max, min * 2 ** exponent);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(step + step * JITTER * r);
}
