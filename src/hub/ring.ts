/**
 * The resume buffer: the last `capacity` readings, preallocated and indexed by seq (the hub's seqs
 * are contiguous), so pushing is O(1) with no allocation and a replay is a slice of the ring.
 */
import type { Reading } from '../sources/types.js';

export interface Replay {
  /** seqs the buffer no longer holds (inclusive); absent when everything after `since` is held */
  gap?: { from: number; to: number };
  /** held readings with seq > since, oldest first */
  readings: Reading[];
}

export class ResumeRing {
  private readonly slots: (Reading | undefined)[];
  private newest = 0;

  constructor(readonly capacity: number) {
    this.slots = new Array<Reading | undefined>(capacity).fill(undefined);
  }

  /** seq of the newest reading pushed, 0 before the first */
  get last(): number {
    return this.newest;
  }

  /** seq of the oldest reading held (last + 1 when nothing is held) */
  get oldest(): number {
    return Math.max(1, this.newest - this.capacity + 1);
  }

  /** `r.seq` must be last + 1: the hub numbers readings itself. */
  push(r: Reading): void {
    if (r.seq !== this.newest + 1) throw new RangeError(`seq ${r.seq} after ${this.newest}: the ring needs contiguous seqs`);
    this.newest = r.seq;
    if (this.capacity > 0) this.slots[r.seq % this.capacity] = r;
  }

  /**
   * What a client that has seen everything up to `since` missed. A `since` beyond the newest seq
   * comes from an earlier run of the gateway (the counter restarted): it counts as 0.
   */
  since(since: number): Replay {
    const after = since > this.newest ? 0 : since;
    const oldest = this.capacity > 0 ? this.oldest : this.newest + 1;
    const readings: Reading[] = [];
    const first = Math.max(after + 1, oldest);
    for (let seq = first; seq <= this.newest; seq++) readings.push(this.slots[seq % this.capacity]!);
    return after + 1 < oldest ? { gap: { from: after + 1, to: oldest - 1 }, readings } : { readings };
  }
}
