/**
 * Bucket maths: min, max, mean and count of each numeric field over a time span. Sums are kept
 * (not means) so that buckets merge exactly: coarser buckets for a query, or a bucket restored
 * from disk meeting readings that arrived after it.
 */
import type { Values } from '../domain.js';
import type { HistoryBucket } from '../domain.js';

export interface FieldAcc {
  min: number;
  max: number;
  sum: number;
  count: number;
}

/** A bucket being filled or merged: [ts, ts + span). */
export interface BucketAcc {
  ts: number;
  span: number;
  count: number;
  fields: Map<string, FieldAcc>;
}

export const emptyBucket = (ts: number, span: number): BucketAcc => ({ ts, span, count: 0, fields: new Map() });

const isStat = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * What the history keeps of a reading's values: its finite numbers, as its buckets do. Strings
 * and booleans are not charted, and a point holding them would spend the budget and the card
 * on text (an MQTT payload field may be 60 KB) that no answer uses. The same object when it is
 * already that (a parser's values of numbers only: no copy per reading), else a null-prototype
 * copy (field names are data).
 */
export function numericValues(values: Values): Values {
  if (Object.getPrototypeOf(values) === null && Object.values(values).every(isStat)) return values;
  const out = Object.create(null) as Values;
  for (const [k, v] of Object.entries(values)) if (isStat(v)) out[k] = v;
  return out;
}

/** Counts one reading; only finite numbers are statistics (strings, booleans and null are not). */
export function addValues(b: BucketAcc, values: Values | undefined): void {
  b.count++;
  if (!values) return;
  for (const [k, v] of Object.entries(values)) {
    if (!isStat(v)) continue;
    const f = b.fields.get(k);
    if (f) {
      if (v < f.min) f.min = v;
      if (v > f.max) f.max = v;
      f.sum += v;
      f.count++;
    } else b.fields.set(k, { min: v, max: v, sum: v, count: 1 });
  }
}

/** Folds `src` into `dst` (dst's span is kept: the caller groups by dst's span). */
export function mergeInto(dst: BucketAcc, src: BucketAcc): void {
  dst.count += src.count;
  for (const [k, s] of src.fields) {
    const f = dst.fields.get(k);
    if (f) {
      f.min = Math.min(f.min, s.min);
      f.max = Math.max(f.max, s.max);
      f.sum += s.sum;
      f.count += s.count;
    } else dst.fields.set(k, { ...s });
  }
}

export function toBucket(b: BucketAcc): HistoryBucket {
  const fields: HistoryBucket['fields'] = Object.create(null) as HistoryBucket['fields'];
  for (const [k, f] of b.fields) fields[k] = { min: f.min, max: f.max, mean: f.sum / f.count, count: f.count };
  return { ts: b.ts, span: b.span, count: b.count, fields };
}

/** Rough bytes a bucket holds in memory (V8 maps and objects), for the budget. */
export const bucketBytes = (b: BucketAcc): number => 96 + b.fields.size * 96;
