/**
 * Repeated errors, rate-limited: a device unplugged for a night or a client retrying in a loop must
 * not fill the journal. One line per key per interval; the next line says how many were skipped.
 */
import type { Logger } from './log.js';
import { LOG_RATE_MAX_KEYS } from './bounds.js';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug';

interface Slot {
  last: number;
  suppressed: number;
}

export class LogRateLimiter {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Log unless the same key was logged within the interval. Returns whether a line was written. */
  log(logger: Logger, level: Level, key: string, obj: Record<string, unknown>, msg: string): boolean {
    const t = this.now();
    const slot = this.slots.get(key);
    if (slot && t - slot.last < this.intervalMs) {
      slot.suppressed++;
      return false;
    }
    const suppressed = slot?.suppressed ?? 0;
    this.slots.delete(key); // re-insert: Map order is then least recently logged first
    if (this.slots.size >= LOG_RATE_MAX_KEYS) this.slots.delete(this.slots.keys().next().value as string);
    this.slots.set(key, { last: t, suppressed: 0 });
    logger[level](suppressed ? { ...obj, suppressed } : obj, msg);
    return true;
  }

  /** Forget a key (the condition cleared: the next occurrence is news again). */
  reset(key: string): void {
    this.slots.delete(key);
  }
}
