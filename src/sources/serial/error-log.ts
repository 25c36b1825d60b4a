/**
 * Rate-limited warnings for per-line problems (parse errors, overlong lines): a device spewing
 * garbage at 11 KB/s must not flood the journal. The first occurrence of a kind is logged at once;
 * after that at most one line per interval, carrying how many were suppressed in between.
 * No timers: the count is reported with the next occurrence after the window.
 */
import type { Logger } from '../../log.js';

export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** log `msg` (kind = what sort of problem, limited separately) unless one was logged recently */
  warn(kind: string, msg: string, fields: Record<string, unknown> = {}): void {
    const t = this.now();
    const prev = this.last.get(kind);
    if (prev && t - prev.at < this.intervalMs) {
      prev.suppressed++;
      return;
    }
    const suppressed = prev?.suppressed ?? 0;
    this.last.set(kind, { at: t, suppressed: 0 });
    this.logger.warn({ ...fields, kind, ...(suppressed > 0 && { suppressed }) }, suppressed > 0 ? `${msg} (+${suppressed} more since the last report)` : msg);
  }
}
