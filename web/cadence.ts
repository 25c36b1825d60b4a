/**
 * How often a device usually reports, and whether it has been quiet for longer than that. A tile
 * flags a device as silent when its last reading is older than SILENT_FACTOR of its usual interval
 * (and at least SILENT_MIN_MS, so that a 20 Hz sensor does not blink at every hiccup): a 1 Hz
 * sensor quiet for 5 s and a once-a-minute one quiet for 5 minutes are both worth a look, and a
 * once-a-minute one quiet for 30 s is not.
 */
const SILENT_FACTOR = 5;
const SILENT_MIN_MS = 3_000;
/** weight of the newest interval in the running mean: a device that changes its pace is followed within ~10 readings */
const ALPHA = 0.2;
/** intervals seen before the mean says anything */
const MIN_INTERVALS = 3;

export class Cadence {
  /** the usual interval between readings (ms), a running mean */
  private usual = 0;
  private intervals = 0;
  private last = 0;

  /** a reading's gateway time; readings that share a time (a buffered burst) are one arrival */
  observe(ts: number): void {
    if (this.last > 0 && ts > this.last) {
      const d = ts - this.last;
      this.usual = this.intervals === 0 ? d : this.usual + ALPHA * (d - this.usual);
      this.intervals++;
    }
    if (ts > this.last) this.last = ts;
  }

  /** Starts from the times of the history's raw points (oldest first): its median interval. */
  seed(times: readonly number[]): void {
    const d: number[] = [];
    for (let i = 1; i < times.length; i++) if (times[i]! > times[i - 1]!) d.push(times[i]! - times[i - 1]!);
    if (d.length < MIN_INTERVALS) return;
    d.sort((a, b) => a - b);
    this.usual = d[d.length >> 1]!;
    this.intervals = Math.max(this.intervals, d.length);
    if (times.at(-1)! > this.last) this.last = times.at(-1)!;
  }

  /** the silence (ms) after which the device counts as silent, undefined while its pace is unknown */
  limit(): number | undefined {
    return this.intervals < MIN_INTERVALS ? undefined : Math.max(SILENT_FACTOR * this.usual, SILENT_MIN_MS);
  }

  silent(now: number): boolean {
    const limit = this.limit();
    return limit !== undefined && now - this.last > limit;
  }
}
