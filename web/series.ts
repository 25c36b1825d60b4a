/**
 * A bounded time series for one chart: fixed memory whatever the reading rate. Readings that
 * fall into the same time bucket are averaged into one point, so 1,000 readings/s and 1 reading/s
 * both fill `capacity` points over the chart window. Points are stored twice (at i and
 * i + capacity) so the newest `capacity` points are always one contiguous run: the chart gets
 * zero-copy subarray views instead of a copy per frame.
 */
export class Series {
  private readonly xs: Float64Array;
  private readonly ys: Float64Array;
  /** index of the newest point in [0, capacity), -1 when empty */
  private head = -1;
  private count = 0;
  /** bucket of the newest point and how many readings it averages */
  private bucket = -Infinity;
  private n = 0;
  /** readings refused because they were older than the newest point */
  rejected = 0;
  /** set by push, cleared by view: the chart has something new to draw */
  changed = false;

  constructor(
    readonly capacity: number,
    /** readings closer together than this share a point */
    readonly bucketMs: number,
  ) {
    this.xs = new Float64Array(capacity * 2);
    this.ys = new Float64Array(capacity * 2);
  }

  get length(): number {
    return this.count;
  }

  /**
   * Adds a reading at `ts` (ms). Returns false for a reading older than the newest point. One
   * with the same ts joins the newest point's mean: lines a port buffered while nobody read it
   * (a gateway restart) arrive in one chunk and get one receive time, and each is a reading.
   */
  push(ts: number, value: number): boolean {
    const x = ts / 1000;
    if (this.count > 0 && x < this.xs[this.head]!) {
      this.rejected++;
      return false;
    }
    this.changed = true;
    const bucket = Math.floor(ts / this.bucketMs);
    if (bucket === this.bucket) {
      // running mean; x moves to the newest reading so x stays strictly increasing
      this.n++;
      const y = this.ys[this.head]! + (value - this.ys[this.head]!) / this.n;
      this.write(this.head, x, y);
      return true;
    }
    this.bucket = bucket;
    this.n = 1;
    this.head = (this.head + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
    this.write(this.head, x, value);
    return true;
  }

  /** The points (x in seconds, as uPlot wants) newer than `sinceMs`, oldest first. */
  view(sinceMs = -Infinity): [Float64Array, Float64Array] {
    this.changed = false;
    const end = this.head + this.capacity + 1;
    let start = end - this.count;
    // binary search for the first x ≥ since (x is strictly increasing within the run)
    let lo = start;
    let hi = end;
    const since = sinceMs / 1000;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.xs[mid]! < since) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
    return [this.xs.subarray(start, end), this.ys.subarray(start, end)];
  }

  private write(i: number, x: number, y: number): void {
    this.xs[i] = this.xs[i + this.capacity] = x;
    this.ys[i] = this.ys[i + this.capacity] = y;
  }
}
