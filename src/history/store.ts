/**
 * The history in memory, without I/O: per device the raw readings of the last `rawWindowMs` and
 * one bucket per `bucketMs` back to `retentionMs`, all within `budgetBytes`. Every reading is
 * folded into its bucket as it arrives, so dropping raw points (age or budget) never loses data,
 * only resolution. What must reach the disk is queued for the caller (see persistent.ts) to drain.
 */
import { valuesBytes, type Reading, type Values } from '../domain.js';
import type { HistoryConfig } from '../config/schema.js';
import { addValues, bucketBytes, emptyBucket, mergeInto, numericValues, toBucket, type BucketAcc } from './stats.js';
import type { HistoryAnswer, HistoryPoint, HistoryQuery, HistoryReader, HistoryWriter } from '../domain.js';
import { bucketRecord, pointRecord, type BucketRecord, type LoadedPoint, type PointRecord } from './records.js';
import { ShiftQueue } from './shift-queue.js';
import { HISTORY_SWEEP_MS } from '../bounds.js';

export type StoreLimits = Pick<HistoryConfig, 'rawWindowMs' | 'bucketMs' | 'retentionMs' | 'budgetBytes'>;

/** Rough bytes one raw point with these values holds in memory (the point, its values object, the fields), for the budget. */
export const pointBytes = (values: Values): number => 96 + valuesBytes(values);

/**
 * What the points files may hold of history.budgetBytes: half (persistent.ts), the buckets the
 * rest. Points are the raw window, a resolution the next start can rebuild; buckets are the days.
 */
export const pointsShare = (budgetBytes: number): number => Math.floor(budgetBytes / 2);

class DeviceHistory {
  /** the raw points, oldest first */
  readonly raw = new ShiftQueue<HistoryPoint>();
  /** closed buckets, oldest first */
  closed: BucketAcc[] = [];
  open: BucketAcc | undefined;
  /** raw holds every reading from this ts on (a point dropped, or not restored, moves it) */
  rawSince = -Infinity;
  /** estimated bytes of this device's raw points and buckets (open and closed), for the budget */
  held = 0;

  /** `all`: the whole store's estimate, moved with this device's (read on every reading: no sum over devices) */
  constructor(private readonly all: { held: number }) {}

  /** this device holds `n` bytes more (or fewer) */
  grow(n: number): void {
    this.held += n;
    this.all.held += n;
  }

  oldestRaw(): HistoryPoint | undefined {
    return this.raw.first();
  }

  /** `bytes`: pointBytes(p.values), reckoned once by the caller */
  pushRaw(p: HistoryPoint, bytes: number): void {
    this.raw.push(p);
    this.grow(bytes);
  }

  /** drops the oldest raw point (there is one) */
  shiftRaw(): void {
    const p = this.raw.shift()!;
    this.grow(-pointBytes(p.values));
    this.rawSince = Math.max(this.rawSince, p.ts + 1);
  }

  /** drops the oldest closed bucket (there is one) */
  shiftClosed(): void {
    this.grow(-bucketBytes(this.closed.shift()!));
  }

  /** the bucket [ts, ts + span) if it is open or closed (a restore looks it up) */
  bucketAt(ts: number): BucketAcc | undefined {
    if (this.open?.ts === ts) return this.open;
    for (let i = this.closed.length - 1; i >= 0; i--) if (this.closed[i]!.ts === ts) return this.closed[i];
    return undefined;
  }
}

export class HistoryStore implements HistoryReader, HistoryWriter {
  private readonly byDevice = new Map<string, DeviceHistory>();
  private readonly all = { held: 0 };
  /** points to append at the next drain (the oldest may be dropped before, see queuePoint) */
  private readonly pendingPoints = new ShiftQueue<PointRecord>();
  private pendingBytes = 0;
  /** when record() sweeps the windows of every device next */
  private nextSweep = -Infinity;
  private pendingBuckets: BucketRecord[] = [];

  constructor(
    private readonly limits: StoreLimits,
    private readonly now: () => number = Date.now,
    /** queue points and closed buckets for drain(); off when nothing will drain them (memory only) */
    private readonly persist = false,
  ) {}

  /** Estimated bytes held; never above budgetBytes once a record() or expire() returned. */
  get heldBytes(): number {
    return this.all.held;
  }

  record(r: Reading): void {
    if (!r.values) return; // a raw line has nothing to chart
    const p = { seq: r.seq, ts: r.ts, values: numericValues(r.values) };
    // one walk over the fields per reading, for the store's estimate and the pending queue's
    const bytes = pointBytes(p.values);
    this.addPoint(r.device, p, bytes);
    if (this.persist) this.queuePoint(pointRecord(r.device, p), bytes);
    // the windows move with the clock: one sweep over every device a second is enough, where one
    // per reading cost O(devices) each (hundreds of ids derived from one MQTT topic); the budget
    // is held at every record
    const now = this.now();
    if (now >= this.nextSweep) {
      this.nextSweep = now + HISTORY_SWEEP_MS;
      this.expire();
    } else this.holdBudget();
  }

  /**
   * Queues a point for the files, within what the points files may hold (pointsShare): between two
   * flushes (`flushMs`, 30 s) a device sending large readings fast would otherwise queue far more
   * than a flush can write, all held in memory until then. The oldest pending points go first (they
   * are the first the budget drops).
   */
  private queuePoint(rec: PointRecord, bytes: number): void {
    this.pendingPoints.push(rec);
    this.pendingBytes += bytes;
    while (this.pendingBytes > pointsShare(this.limits.budgetBytes) && this.pendingPoints.size > 1) {
      this.pendingBytes -= pointBytes(this.pendingPoints.shift()!.v);
    }
  }

  /**
   * Rebuilds the history from what the files held: closed buckets as they were written, then the
   * points; a point whose bucket was written already is in it, and is only kept as a raw point.
   */
  restore(buckets: BucketRecord[], points: LoadedPoint[]): void {
    for (const b of buckets) {
      const dev = this.device(b.d);
      const acc = emptyBucket(b.t, b.p);
      acc.count = b.n;
      for (const [k, [min, max, sum, count]] of Object.entries(b.f)) acc.fields.set(k, { min, max, sum, count });
      dev.closed.push(acc);
      dev.grow(bucketBytes(acc));
    }
    const written = new Map(buckets.map((b) => [`${b.d}\u0000${b.t}`, b.n]));
    this.restoreRawSince(points, written);
    for (const r of points) {
      const p: HistoryPoint = r.s === undefined ? { ts: r.t, values: r.v } : { seq: r.s, ts: r.t, values: r.v };
      if (written.has(`${r.d}\u0000${this.bucketTs(r.t)}`)) this.device(r.d).pushRaw(p, pointBytes(p.values));
      else this.addPoint(r.d, p, pointBytes(p.values));
    }
    this.expire();
  }

  /**
   * Where each device's restored raw window starts. Points files outlive every open bucket (see
   * persistent.ts), so the first restored minute is whole in the points unless its written bucket
   * counted more readings than they hold: then only from the first point on (the rest is in the
   * bucket only, or gone). A whole minute lets a clean restart answer its readings as points.
   */
  private restoreRawSince(points: LoadedPoint[], written: Map<string, number>): void {
    const first = new Map<string, LoadedPoint>();
    const inMinute = new Map<string, number>();
    for (const r of points) {
      if (!first.has(r.d)) first.set(r.d, r);
      const key = `${r.d}\u0000${this.bucketTs(r.t)}`;
      inMinute.set(key, (inMinute.get(key) ?? 0) + 1);
    }
    for (const [d, r] of first) {
      const dev = this.device(d);
      if (dev.raw.size > 0 || dev.rawSince !== -Infinity) continue;
      const key = `${d}\u0000${this.bucketTs(r.t)}`;
      const whole = (written.get(key) ?? 0) <= inMinute.get(key)!;
      dev.rawSince = whole ? this.bucketTs(r.t) : r.t;
    }
  }

  /** Estimated bytes of the points the next drain() returns (as the budget counts them). */
  get pendingPointBytes(): number {
    return this.pendingBytes;
  }

  /** What must be appended to the files since the last drain. */
  drain(): { points: PointRecord[]; buckets: BucketRecord[] } {
    const out = { points: this.pendingPoints.takeAll(), buckets: this.pendingBuckets };
    this.pendingBytes = 0;
    this.pendingBuckets = [];
    return out;
  }

  devices(): string[] {
    return [...this.byDevice.keys()];
  }

  query(q: HistoryQuery): HistoryAnswer {
    const answer: HistoryAnswer = { device: q.device, from: q.from, to: q.to, buckets: [], points: [] };
    const dev = this.byDevice.get(q.device);
    if (!dev) return answer;
    // one representation per reading: buckets up to the first bucket the raw window holds whole, points after
    const rawFrom = dev.oldestRaw() ? Math.ceil(dev.rawSince / this.limits.bucketMs) * this.limits.bucketMs : Infinity;
    const accs = [...dev.closed, ...(dev.open ? [dev.open] : [])]
      .filter((b) => b.ts < rawFrom && b.ts <= q.to && b.ts + b.span > q.from)
      .sort((a, b) => a.ts - b.ts);
    const points = dev.raw.toArray().filter((p) => p.ts >= rawFrom && p.ts >= q.from && p.ts <= q.to);
    const max = Math.max(1, q.maxPoints);
    if (accs.length + points.length <= max) {
      answer.buckets = accs.map(toBucket);
      answer.points = points;
      return answer;
    }
    const { bucketMs } = this.limits;
    // a range the raw window holds alone is folded as finely as maxPoints allows (a 5-minute
    // sparkline of 60 points gets 6 s buckets, not five 1-minute ones); stored buckets set the
    // width otherwise
    const width = accs.length === 0 ? foldWidth(points[0]!.ts, points.at(-1)!.ts, max, bucketMs) : bucketMs;
    answer.buckets = downsample(accs, points, width, max).map(toBucket);
    return answer;
  }

  /** Drops what is older than the windows, then what the budget cannot hold (evict). */
  expire(): void {
    const now = this.now();
    const rawCut = now - this.limits.rawWindowMs;
    const bucketCut = now - this.limits.retentionMs;
    for (const [id, dev] of this.byDevice) {
      while (dev.oldestRaw() && dev.oldestRaw()!.ts < rawCut) dev.shiftRaw();
      if (dev.open && dev.open.ts + dev.open.span <= rawCut) this.close(id, dev);
      while (dev.closed.length > 0 && dev.closed[0]!.ts + dev.closed[0]!.span <= bucketCut) dev.shiftClosed();
      if (!dev.open && dev.closed.length === 0 && !dev.oldestRaw()) this.byDevice.delete(id);
    }
    this.holdBudget();
  }

  private holdBudget(): void {
    while (this.all.held > this.limits.budgetBytes && this.evict()) {
      /* evict made progress */
    }
  }

  /**
   * Over the budget, the device holding the most gives way: its oldest raw point (its bucket keeps
   * it), else its oldest closed bucket. A device sending huge or many readings thus pays for
   * itself, and the others keep their history; devices alike end up with alike shares, each
   * losing resolution before data. False when nothing can go.
   */
  private evict(): boolean {
    let pick: DeviceHistory | undefined;
    for (const dev of this.byDevice.values()) {
      if ((dev.oldestRaw() || dev.closed.length > 0) && (!pick || dev.held > pick.held)) pick = dev;
    }
    if (!pick) return false;
    if (pick.oldestRaw()) pick.shiftRaw();
    else pick.shiftClosed();
    return true;
  }

  private device(id: string): DeviceHistory {
    let dev = this.byDevice.get(id);
    if (!dev) this.byDevice.set(id, (dev = new DeviceHistory(this.all)));
    return dev;
  }

  private bucketTs(ts: number): number {
    return Math.floor(ts / this.limits.bucketMs) * this.limits.bucketMs;
  }

  private addPoint(id: string, p: HistoryPoint, bytes: number): void {
    const dev = this.device(id);
    const ts = this.bucketTs(p.ts);
    let bucket = dev.bucketAt(ts);
    // a new bucket is counted whole, an existing one by what it grows
    const before = bucket ? bucketBytes(bucket) : 0;
    if (!bucket) {
      if (dev.open) this.close(id, dev);
      bucket = dev.open = emptyBucket(ts, this.limits.bucketMs);
    }
    addValues(bucket, p.values);
    dev.grow(bucketBytes(bucket) - before);
    dev.pushRaw(p, bytes);
  }

  /** a bucket is written once, when no more readings can fall into it (a late one still counts in memory) */
  private close(id: string, dev: DeviceHistory): void {
    const b = dev.open!;
    dev.open = undefined;
    dev.closed.push(b);
    if (this.persist) this.pendingBuckets.push(bucketRecord(id, b));
  }
}

/** widths raw points may be folded into: each divides a minute, so they line up with minute buckets */
const FOLD_STEPS_MS = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].map((s) => s * 1_000);

/** The narrowest fold width (a divisor of `bucketMs`) that puts points from `first` to `last` in at most `max` buckets, else `bucketMs`. */
function foldWidth(first: number, last: number, max: number, bucketMs: number): number {
  const fits = (w: number) => Math.floor(last / w) - Math.floor(first / w) + 1 <= max;
  return FOLD_STEPS_MS.find((w) => w < bucketMs && bucketMs % w === 0 && fits(w)) ?? bucketMs;
}

/**
 * Fewer, coarser buckets so an answer fits `max`: points fold into buckets of `widthMs` (the stored
 * buckets' width when any are in the answer), then buckets group by a span of k × widthMs, k
 * doubling until the groups fit.
 */
function downsample(accs: BucketAcc[], points: HistoryPoint[], widthMs: number, max: number): BucketAcc[] {
  const base = [...accs];
  let cur: BucketAcc | undefined;
  for (const p of points) {
    const ts = Math.floor(p.ts / widthMs) * widthMs;
    if (cur?.ts !== ts) base.push((cur = emptyBucket(ts, widthMs)));
    addValues(cur, p.values);
  }
  // fewer than base.length / max groups cannot fit: start there rather than at 1
  for (let k = Math.max(1, Math.floor(base.length / max)); ; k *= 2) {
    const span = k * widthMs;
    const groups: BucketAcc[] = [];
    for (const b of base) {
      const ts = Math.floor(b.ts / span) * span;
      let g = groups[groups.length - 1];
      if (g?.ts !== ts) groups.push((g = emptyBucket(ts, span)));
      mergeInto(g, b);
    }
    if (groups.length <= max) return groups;
  }
}
