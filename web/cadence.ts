/**
 * How often a device usually reports, and whether it has been quiet for longer than that. A tile
 * flags a device as silent when its last reading is older than SILENT_FACTOR of its usual interval
 * (and at least SILENT_MIN_MS, so that a 20 Hz sensor does not blink at every hiccup): a 1 Hz
 * sensor quiet for 5 s and a once-a-minute one quiet for 5 minutes are both worth a look, and a
 * once-a-minute one quiet for 30 s is not.
 *
 * "Usual" is the median of the last KEPT intervals: one stall of the broker or of a loaded machine
 * (a long interval, then a burst of short ones) moves a mean, not a median.
 */
const SILENT_FACTOR = 5;
const SILENT_MIN_MS = 3_000;
const KEPT = 15;
/** intervals seen before the median says anything */
const MIN_INTERVALS = 3;

export class Cadence {
  /** the last KEPT intervals between readings (ms), a ring */
  private readonly intervals: number[] = [];
  private next = 0;
  private last = 0;

  /** a reading's gateway time; readings that share a time (a buffered burst) are one arrival */
  observe(ts: number): void {
    if (!(ts > this.last)) return;
    if (this.last > 0) this.keep(ts - this.last);
    this.last = ts;
  }

  /**
   * Starts from the history, before the live readings: the intervals between its raw points (oldest
   * first), or, when it held too many readings to send them raw (a fast device: only buckets came),
   * `bucketIntervalMs`, a bucket's span over its count. A device that went quiet before the page
   * opened is then flagged at once.
   */
  seed(times: readonly number[], bucketIntervalMs?: number): void {
    const live = this.intervals.splice(0);
    this.next = 0;
    for (let i = 1; i < times.length; i++) if (times[i]! > times[i - 1]!) this.keep(times[i]! - times[i - 1]!);
    if (this.intervals.length < MIN_INTERVALS && bucketIntervalMs !== undefined && bucketIntervalMs > 0) {
      for (let i = 0; i < MIN_INTERVALS; i++) this.keep(bucketIntervalMs);
    }
    for (const d of live) this.keep(d);
    if (times.length > 0 && times.at(-1)! > this.last) this.last = times.at(-1)!;
  }

  /** the silence (ms) after which the device counts as silent, undefined while its pace is unknown */
  limit(): number | undefined {
    if (this.intervals.length < MIN_INTERVALS) return undefined;
    const sorted = [...this.intervals].sort((a, b) => a - b);
    return Math.max(SILENT_FACTOR * sorted[sorted.length >> 1]!, SILENT_MIN_MS);
  }

  silent(now: number): boolean {
    const limit = this.limit();
    return limit !== undefined && now - this.last > limit;
  }

  private keep(d: number): void {
    if (this.intervals.length < KEPT) this.intervals.push(d);
    else this.intervals[this.next] = d;
    this.next = (this.next + 1) % KEPT;
  }
}
