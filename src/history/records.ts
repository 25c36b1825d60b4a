/**
 * What one framed record in a segment file holds. Short keys: every point is written once to
 * the card, so its bytes are the write cost per reading.
 */
import type { Values } from '../domain.js';
import type { BucketAcc } from './stats.js';
import type { HistoryPoint } from '../domain.js';

export interface PointRecord {
  d: string;
  s: number;
  t: number;
  v: Values;
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

export const pointRecord = (device: string, p: HistoryPoint): PointRecord => ({ d: device, s: p.seq, t: p.ts, v: p.values });

export function bucketRecord(device: string, b: BucketAcc): BucketRecord {
  const f: BucketRecord['f'] = {};
  for (const [k, s] of b.fields) f[k] = [s.min, s.max, s.sum, s.count];
  return { d: device, t: b.ts, p: b.span, n: b.count, f };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A record that passed its CRC but does not have the shape (a file of another version): dropped, counted. */
export function isPointRecord(r: unknown): r is PointRecord {
  return isObj(r) && typeof r.d === 'string' && num(r.s) && num(r.t) && isObj(r.v);
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
