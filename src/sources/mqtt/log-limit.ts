/**
 * At most one log line per interval for a recurring problem (a sensor publishing garbage ten times
 * a second must not flood the journal); the next line says how many were suppressed.
 */
export class LogLimiter {
  private last = -Infinity;
  private suppressed = 0;

  constructor(private readonly intervalMs = 10_000) {}

  /** The number suppressed since the last line when a line may be written now, else undefined. */
  take(now = Date.now()): number | undefined {
    if (now - this.last < this.intervalMs) {
      this.suppressed++;
      return undefined;
    }
    this.last = now;
    const n = this.suppressed;
    this.suppressed = 0;
    return n;
  }
}
