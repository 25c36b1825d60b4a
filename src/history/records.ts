/**
 * What one framed record in a segment file holds. Short keys: every point is written once to
 * the card, so its bytes are the write cost per reading.
 */
import type { Values } from '../domain.js';
import { numericValues, type BucketAcc } from './stats.js';

export interface PointRecord {
  d: string;
  /** the reading's seq, in the stream the StreamMark before it names (none: a file of an older version) */
  s: number;
  t: number;
  v: Values;
}

/**
 * Written before each batch of points in each file: the next `n` point records of this file were
 * recorded in stream `e` (hello.epoch). A seq means something only in its stream, and a points
 * file holds the readings of several runs (a crash starts a new stream, a clean stop continues
 * it): the start keeps the seqs of the stream it continues and drops the others'. One record per
 * file per flush (~30 bytes every flushMs) rather than the epoch in every point (~20 bytes each).
 */
export interface StreamMark {
  e: string;
  n: number;
}

export interface BucketRecord {
  d: string;
  t: number;
  /** span, ms */
  p: number;
  n: number;
  /** field → [min, max, sum, count] */
  f: Record<string, [number, number, number, number]>;
}

export const pointRecord = (device: string, p: { seq: number; ts: number; values: Values }): PointRecord => ({
  d: device,
  s: p.seq,
  t: p.ts,
  v: p.values,
});

export function bucketRecord(device: string, b: BucketAcc): BucketRecord {
  // field names are device data: `__proto__` is a field, not the prototype
  const f: BucketRecord['f'] = Object.create(null) as BucketRecord['f'];
  for (const [k, s] of b.fields) f[k] = [s.min, s.max, s.sum, s.count];
  return { d: device, t: b.ts, p: b.span, n: b.count, f };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A record that passed its CRC but does not have the shape (a file of another version): dropped, counted. */
export function isPointRecord(r: unknown): r is PointRecord {
  return isObj(r) && typeof r.d === 'string' && num(r.s) && num(r.t) && isObj(r.v);
}

/** A point as the start restores it: `s` only when recorded in the stream this run continues. */
export type LoadedPoint = Omit<PointRecord, 's'> & { s?: number };

/**
 * One file's points, each keeping its seq only when the StreamMark it follows names `stream` (the
 * saved stream this run continues; undefined: a new stream, no seq on disk is of it). Points
 * before any mark (files of an older version) are of an unknown stream. `bad`: records of neither shape.
 */
export function pointsOf(records: unknown[], stream: string | undefined): { points: LoadedPoint[]; bad: number } {
  const points: LoadedPoint[] = [];
  let bad = 0;
  let same = false;
  let left = 0;
  for (const r of records) {
    if (isStreamMark(r)) {
      same = r.e === stream;
      left = r.n;
    } else if (!isPointRecord(r)) bad++;
    else {
      // numbers only (files of the previous version held text too), keys as data: a null prototype
      const v = numericValues(r.v);
      points.push(same && left > 0 ? { d: r.d, s: r.s, t: r.t, v } : { d: r.d, t: r.t, v });
      left--;
    }
  }
  return { points, bad };
}

export function isStreamMark(r: unknown): r is StreamMark {
  return isObj(r) && typeof r.e === 'string' && Number.isSafeInteger(r.n) && (r.n as number) >= 0;
}

export function isBucketRecord(r: unknown): r is BucketRecord {
  return (
    isObj(r) &&
    typeof r.d === 'string' &&
    num(r.t) &&
    num(r.p) &&
    num(r.n) &&
    isObj(r.f) &&
    Object.values(r.f).every((s) => Array.isArray(s) && s.length === 4 && s.every(num))
  );
}
