/**
 * The resume buffer: the last `capacity` readings, preallocated and indexed by seq (the hub's seqs
 * are contiguous), so pushing is O(1) with no allocation and a replay is a slice of the ring.
 * The hub keeps its readings with their frames (ReadingFrames) here, so a replay reuses the
 * encodes of live fan-out and of every other replay.
 */
export interface Replay<T> {
  /** seqs the buffer no longer holds (inclusive); absent when everything after `since` is held */
  gap?: { from: number; to: number };
  /** held readings with seq > since, oldest first */
  readings: T[];
}

export class ResumeRing<T extends { readonly seq: number }> {
  private readonly slots: (T | undefined)[];
  /** the estimated bytes of each slot's reading (see push) */
  private readonly sizes: Float64Array;
  private newest: number;
  /** the oldest seq still held: the count bound or the byte bound moves it up */
  private first: number;
  private bytes = 0;

  /**
   * `start`: the last seq used before this ring (a stream restored across a restart), held by none.
   * `maxBytes`: the most the held readings may weigh together (their `bytes` given to push); the
   * oldest are dropped beyond it, so that a stream of large readings (64 KB MQTT payloads) cannot
   * make `capacity` readings hold gigabytes. The newest reading is always held.
   */
  constructor(
    readonly capacity: number,
    start = 0,
    private readonly maxBytes = Infinity,
  ) {
    this.slots = new Array<T | undefined>(capacity).fill(undefined);
    this.sizes = new Float64Array(capacity);
    this.newest = start;
    this.first = start + 1;
  }

  /** seq of the oldest reading held (newest + 1 when nothing is held) */
  get oldest(): number {
    return this.capacity > 0 ? Math.max(this.first, this.newest - this.capacity + 1) : this.newest + 1;
  }

  /** Estimated bytes of the readings held. */
  get heldBytes(): number {
    return this.bytes;
  }

  /** `r.seq` must follow the newest: the hub numbers readings itself. `bytes`: what `r` weighs, for maxBytes. */
  push(r: T, bytes = 0): void {
    if (r.seq !== this.newest + 1) throw new RangeError(`seq ${r.seq} after ${this.newest}: the ring needs contiguous seqs`);
    this.newest = r.seq;
    if (this.capacity === 0) return;
    const i = r.seq % this.capacity;
    // the reading this slot held fell out by count (unless the byte bound dropped it already)
    if (this.slots[i] !== undefined) this.bytes -= this.sizes[i]!;
    this.slots[i] = r;
    this.sizes[i] = bytes;
    this.bytes += bytes;
    this.first = Math.max(this.first, this.newest - this.capacity + 1);
    while (this.bytes > this.maxBytes && this.first < this.newest) {
      const j = this.first % this.capacity;
      this.bytes -= this.sizes[j]!;
      this.slots[j] = undefined;
      this.sizes[j] = 0;
      this.first++;
    }
  }

  /**
   * What a client that has seen everything up to `since` (≤ the newest seq: the hub checks that a
   * since counts in this stream) missed.
   */
  since(since: number): Replay<T> {
    const oldest = this.oldest;
    const readings: T[] = [];
    for (let seq = Math.max(since + 1, oldest); seq <= this.newest; seq++) readings.push(this.slots[seq % this.capacity]!);
    return since + 1 < oldest ? { gap: { from: since + 1, to: oldest - 1 }, readings } : { readings };
  }
}
