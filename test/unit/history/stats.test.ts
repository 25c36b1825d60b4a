import { describe, expect, it } from 'vitest';
import { addValues, emptyBucket, mergeInto, toBucket } from '../../../src/history/stats.js';

/** a seeded PRNG: the same numbers every run, different ones per seed */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** the reference: statistics computed the obvious way from the list of values */
function reference(xs: number[]) {
  return { min: Math.min(...xs), max: Math.max(...xs), mean: xs.reduce((a, b) => a + b, 0) / xs.length, count: xs.length };
}

describe('bucket maths', () => {
  it('min, max, mean and count per numeric field match the reference; other values only count the reading', () => {
    for (const seed of [1, 2, 3]) {
      const r = rng(seed);
      const b = emptyBucket(0, 60_000);
      const temps: number[] = [];
      const hums: number[] = [];
      for (let i = 0; i < 500; i++) {
        const t = Math.round((r() * 60 - 20) * 100) / 100;
        temps.push(t);
        const values: Record<string, number | string | boolean | null> = { t, label: 'x', on: true, nothing: null };
        if (i % 3 === 0) hums.push((values.h = r() * 100));
        addValues(b, values);
      }
      const out = toBucket(b);
      expect(out.count).toBe(500);
      expect(Object.keys(out.fields).sort()).toEqual(['h', 't']);
      for (const [k, xs] of [
        ['t', temps],
        ['h', hums],
      ] as const) {
        const ref = reference(xs);
        expect(out.fields[k]!.min).toBe(ref.min);
        expect(out.fields[k]!.max).toBe(ref.max);
        expect(out.fields[k]!.count).toBe(ref.count);
        expect(out.fields[k]!.mean).toBeCloseTo(ref.mean, 9);
      }
    }
  });

  it('merging buckets gives the statistics of all their readings (the coarser buckets of a query)', () => {
    const r = rng(7);
    const parts = [emptyBucket(0, 10), emptyBucket(10, 10), emptyBucket(20, 10)];
    const all: number[] = [];
    for (let i = 0; i < 300; i++) {
      const v = r() * 1000 - 500;
      all.push(v);
      addValues(parts[i % 3]!, { v });
    }
    const whole = emptyBucket(0, 30);
    for (const p of parts) mergeInto(whole, p);
    const out = toBucket(whole);
    const ref = reference(all);
    expect(out).toMatchObject({ ts: 0, span: 30, count: 300 });
    expect(out.fields.v).toMatchObject({ min: ref.min, max: ref.max, count: 300 });
    expect(out.fields.v!.mean).toBeCloseTo(ref.mean, 9);
  });

  it('NaN and infinities are not statistics (a broken sensor must not poison a day of means)', () => {
    const b = emptyBucket(0, 1);
    addValues(b, { v: Number.NaN });
    addValues(b, { v: Number.POSITIVE_INFINITY });
    addValues(b, { v: 3 });
    expect(toBucket(b)).toMatchObject({ count: 3, fields: { v: { min: 3, max: 3, mean: 3, count: 1 } } });
  });
});
