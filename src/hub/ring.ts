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
  private newest: number;

  /** `start`: the last seq used before this ring (a stream restored across a restart), held by none */
  constructor(
    readonly capacity: number,
    private readonly start = 0,
  ) {
    this.slots = new Array<T | undefined>(capacity).fill(undefined);
    this.newest = start;
  }

  /** seq of the oldest reading held (newest + 1 when nothing is held) */
  get oldest(): number {
    return this.capacity > 0 ? Math.max(this.start + 1, this.newest - this.capacity + 1) : this.newest + 1;
  }

  /** `r.seq` must follow the newest: the hub numbers readings itself. */
  push(r: T): void {
    if (r.seq !== this.newest + 1) throw new RangeError(`seq ${r.seq} after ${this.newest}: the ring needs contiguous seqs`);
    this.newest = r.seq;
    if (this.capacity > 0) this.slots[r.seq % this.capacity] = r;
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
