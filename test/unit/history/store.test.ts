import { describe, expect, it } from 'vitest';
import { HistoryStore, pointBytes, type StoreLimits } from '../../../src/history/store.js';
import type { Reading } from '../../../src/domain.js';

const MIN = 60_000;
const limits: StoreLimits = { rawWindowMs: 10 * MIN, bucketMs: MIN, retentionMs: 60 * MIN, budgetBytes: 64 * 1024 * 1024 };

/** a reading's values of `n` numeric fields: a large reading, now that only numbers are history */
const wide = (n: number, v: number) => Object.fromEntries(Array.from({ length: n }, (_, k) => [`f${k}`, v]));

/** a store on a fake clock, fed one reading per `everyMs` from t0 */
function fed(over: Partial<StoreLimits> = {}, opts: { minutes: number; everyMs: number; devices?: string[] }) {
  let now = 0;
  const store = new HistoryStore({ ...limits, ...over }, () => now);
  let seq = 0;
  const sent: Reading[] = [];
  for (let t = 0; t < opts.minutes * MIN; t += opts.everyMs) {
    now = t;
    for (const device of opts.devices ?? ['a']) {
      const r: Reading = { seq: ++seq, device, ts: t, values: { v: t / 1000, s: 'text' } };
      sent.push(r);
      store.record(r);
    }
  }
  return { store, sent, now: () => now, setNow: (t: number) => (now = t) };
}

describe('history queries', () => {
  // 30 min of one reading per second: raw holds the last 10 min, buckets the rest
  const { store, sent, now } = fed({}, { minutes: 30, everyMs: 1000 });
  const end = now();

  it('a range inside the raw window: every reading as it came, nothing as a bucket', () => {
    const a = store.query({ device: 'a', from: end - 5 * MIN, to: end, maxPoints: 10_000 });
    expect(a.buckets).toEqual([]);
    // the numbers of each reading: its text is not history (README History)
    const want = sent.filter((r) => r.ts >= end - 5 * MIN).map((r) => ({ seq: r.seq, ts: r.ts, values: { v: r.values!.v } }));
    expect(a.points).toEqual(want);
  });

  it('a range across the raw/bucket boundary: buckets up to where the raw window starts, then points; each reading once', () => {
    const a = store.query({ device: 'a', from: end - 20 * MIN, to: end, maxPoints: 10_000 });
    // from 9:59 before the end: the bucket holding `from`, then whole minutes up to the raw window's first
    expect(a.buckets.length).toBe(11);
    expect(a.buckets[0]!.ts).toBeLessThanOrEqual(end - 20 * MIN);
    expect(a.buckets.every((b) => b.span === MIN && b.count === 60)).toBe(true);
    const lastBucketEnd = a.buckets.at(-1)!.ts + MIN;
    expect(a.points[0]!.ts).toBe(lastBucketEnd);
    // no reading is in a bucket and a point, none is missing
    const counted = a.buckets.reduce((n, b) => n + b.count, 0) + a.points.length;
    expect(counted).toBe(sent.filter((r) => r.ts >= a.buckets[0]!.ts).length);
    // a bucket's statistics are those of its readings
    const b = a.buckets[0]!;
    const xs = sent.filter((r) => r.ts >= b.ts && r.ts < b.ts + MIN).map((r) => r.values!.v as number);
    expect(b.fields.v).toEqual({ min: Math.min(...xs), max: Math.max(...xs), mean: xs.reduce((x, y) => x + y) / xs.length, count: xs.length });
    expect(b.fields.s).toBeUndefined();
  });

  it('beyond retention: nothing older than retentionMs is answered, and an unknown device is an empty answer', () => {
    const later = fed({ retentionMs: 15 * MIN }, { minutes: 30, everyMs: 1000 });
    const a = later.store.query({ device: 'a', from: 0, to: later.now(), maxPoints: 10_000 });
    expect(a.buckets[0]!.ts).toBeGreaterThanOrEqual(later.now() - 16 * MIN);
    expect(later.store.query({ device: 'a', from: 0, to: 5 * MIN, maxPoints: 100 }).buckets).toEqual([]);
    expect(store.query({ device: 'nope', from: 0, to: end, maxPoints: 10 })).toEqual({ device: 'nope', from: 0, to: end, buckets: [], points: [] });
  });

  it('maxPoints: downsampled into coarser buckets that still count every reading of the range', () => {
    for (const maxPoints of [1, 7, 25, 100]) {
      const a = store.query({ device: 'a', from: 0, to: end, maxPoints });
      expect(a.points).toEqual([]);
      expect(a.buckets.length).toBeGreaterThan(0);
      expect(a.buckets.length).toBeLessThanOrEqual(maxPoints);
      expect(a.buckets.reduce((n, b) => n + b.count, 0)).toBe(sent.length);
      expect(Math.min(...a.buckets.map((b) => b.fields.v!.min))).toBe(0);
      expect(Math.max(...a.buckets.map((b) => b.fields.v!.max))).toBe(end / 1000);
    }
  });

  it('a range the raw window holds alone is folded as finely as maxPoints allows: a 5-minute sparkline of 60 gets 6 s buckets', () => {
    const a = store.query({ device: 'a', from: end - 5 * MIN, to: end, maxPoints: 60 });
    expect(a.points).toEqual([]);
    // 5 s would take 61 buckets for the 5 minutes, both ends included
    expect(a.buckets.every((b) => b.span === 6_000 && b.ts % 6_000 === 0)).toBe(true);
    expect(a.buckets).toHaveLength(51);
    expect(a.buckets.reduce((n, b) => n + b.count, 0)).toBe(sent.filter((r) => r.ts >= end - 5 * MIN).length);
    // a range reaching into the stored buckets keeps their width
    expect(store.query({ device: 'a', from: end - 20 * MIN, to: end, maxPoints: 60 }).buckets.every((b) => b.span % MIN === 0)).toBe(true);
  });

  it('while the raw window still holds every reading of a device, the answer is all points (no partial first bucket)', () => {
    const young = fed({}, { minutes: 3, everyMs: 7_000 });
    const a = young.store.query({ device: 'a', from: 0, to: young.now(), maxPoints: 1000 });
    expect(a.buckets).toEqual([]);
    expect(a.points.map((p) => p.seq)).toEqual(young.sent.map((r) => r.seq));
  });

  it('readings without values (raw lines) are not history', () => {
    const s = new HistoryStore(limits, () => 0);
    s.record({ seq: 1, device: 'r', ts: 0, raw: 'hello' });
    expect(s.devices()).toEqual([]);
  });
});

describe('the budget', () => {
  it('a simulated long run (two days, 3 devices at 10/s) never holds more than budgetBytes; raw points go first, buckets stay', () => {
    const budget = 2 * 1024 * 1024;
    let now = 0;
    const store = new HistoryStore({ ...limits, retentionMs: 24 * 60 * MIN, budgetBytes: budget }, () => now);
    let seq = 0;
    let peak = 0;
    // 10/s for the first 20 min (raw fills the budget), then 1 every 10 s for two days (buckets age out)
    for (let t = 0; t < 48 * 60 * MIN; t += t < 20 * MIN ? 100 : 10_000) {
      now = t;
      for (const device of ['a', 'b', 'c']) store.record({ seq: ++seq, device, ts: t, values: { v: seq, w: 1, x: 2 } });
      peak = Math.max(peak, store.heldBytes);
    }
    expect(peak).toBeLessThanOrEqual(budget);
    // the budget was the limit, not the windows: the run would hold more without it
    expect(peak).toBeGreaterThan(budget - pointBytes({ v: 0, w: 0, x: 0 }) * 3);
    const a = store.query({ device: 'a', from: 0, to: now, maxPoints: 100_000 });
    // retention: only the last day
    expect(a.buckets[0]!.ts).toBeGreaterThanOrEqual(now - 24 * 60 * MIN - MIN);
    expect(a.buckets.length).toBeGreaterThan(23 * 60);
  });

  it('strings and booleans are not history: a point holds the numbers of its reading, a reading without any still counts', () => {
    const store = new HistoryStore(limits, () => 2000);
    store.record({ seq: 1, device: 'a', ts: 1000, values: { t: 21.5, s: '=1+1', ok: true, n: null } });
    store.record({ seq: 2, device: 'a', ts: 2000, values: { s: 'x'.repeat(60_000) } });
    const a = store.query({ device: 'a', from: 0, to: 2000, maxPoints: 10 });
    expect(a.points).toEqual([
      { seq: 1, ts: 1000, values: { t: 21.5 } },
      { seq: 2, ts: 2000, values: {} },
    ]);
    // the 60 KB text costs the budget nothing
    expect(store.heldBytes).toBeLessThan(1000);
  });

  it('wide readings count: raw points carrying 60 KB of fields stay within the budget', () => {
    let now = 0;
    const budget = 1024 * 1024;
    const store = new HistoryStore({ ...limits, budgetBytes: budget }, () => now);
    for (let i = 0; i < 100; i++) {
      now = i * 1000;
      store.record({ seq: i + 1, device: 'a', ts: now, values: wide(1200, i) });
    }
    const a = store.query({ device: 'a', from: 0, to: now, maxPoints: 10_000 });
    // what the points really hold, not 100 × 60 KB = 6 MB
    expect(a.points.length * pointBytes(wide(1200, 0))).toBeLessThanOrEqual(budget);
    expect(a.points.length).toBeLessThan(100);
    expect(store.heldBytes).toBeLessThanOrEqual(budget);
    // dropping raw points loses resolution, not readings: the buckets count every one
    expect(a.buckets.reduce((n, b) => n + b.count, 0) + a.points.length).toBe(100);
  });

  it('a device sending huge readings pays for itself: the others keep every raw point and bucket', () => {
    let now = 0;
    const budget = 1024 * 1024;
    const store = new HistoryStore({ ...limits, budgetBytes: budget }, () => now);
    let seq = 0;
    // ten minutes: a calm device once a second, a flooding one ten 30 KB readings a second (18 MB)
    for (let t = 0; t < 10 * MIN; t += 100) {
      now = t;
      if (t % 1000 === 0) store.record({ seq: ++seq, device: 'calm', ts: t, values: { v: t } });
      store.record({ seq: ++seq, device: 'flood', ts: t, values: wide(600, t) });
      expect(store.heldBytes).toBeLessThanOrEqual(budget);
    }
    const calm = store.query({ device: 'calm', from: 0, to: now, maxPoints: 100_000 });
    expect(calm.buckets).toEqual([]);
    expect(calm.points.map((p) => p.values.v)).toEqual(Array.from({ length: 600 }, (_, i) => i * 1000));
    // the flood lost resolution, not readings: its buckets count every one
    const flood = store.query({ device: 'flood', from: 0, to: now, maxPoints: 100_000 });
    expect(flood.buckets.reduce((n, b) => n + b.count, 0) + flood.points.length).toBe(6_000);
  });

  it('a dropped raw point is let go at once, not kept until the array is compacted (1,024 drops later)', () => {
    let now = 0;
    const budget = 1024 * 1024;
    const store = new HistoryStore({ ...limits, budgetBytes: budget }, () => now);
    for (let i = 0; i < 200; i++) {
      now = i * 100;
      store.record({ seq: i + 1, device: 'a', ts: now, values: wide(1200, i) });
    }
    // what the store still references, held or dropped: 200 × 60 KB = 12 MB before the fix
    const dev = (store as unknown as { byDevice: Map<string, { raw: { items: unknown[] } }> }).byDevice.get('a')!;
    const referenced = dev.raw.items.filter((p) => p !== undefined) as { values: Record<string, number> }[];
    expect(referenced.reduce((n, p) => n + pointBytes(p.values), 0)).toBeLessThanOrEqual(budget);
  });

  it('points waiting for the files stay within the budget too: the newest are written', () => {
    let now = 0;
    const budget = 1024 * 1024;
    const store = new HistoryStore({ ...limits, budgetBytes: budget }, () => now, true);
    for (let i = 0; i < 100; i++) {
      now = i * 100;
      store.record({ seq: i + 1, device: 'a', ts: now, values: wide(1200, i) });
    }
    const { points } = store.drain();
    expect(points.length * pointBytes(wide(1200, 0))).toBeLessThanOrEqual(budget);
    expect(points.at(-1)!.s).toBe(100);
    expect(points.map((p) => p.s)).toEqual(Array.from({ length: points.length }, (_, i) => 101 - points.length + i));
    // small points are all queued, in order
    store.record({ seq: 101, device: 'a', ts: 10_000, values: { v: 1 } });
    store.record({ seq: 102, device: 'a', ts: 10_100, values: { v: 2 } });
    expect(store.drain().points.map((p) => p.s)).toEqual([101, 102]);
  });

  it('over budget with no raw points left, the oldest bucket goes', () => {
    let now = 0;
    const store = new HistoryStore({ ...limits, rawWindowMs: MIN, retentionMs: 1000 * MIN, budgetBytes: 4096 }, () => now);
    for (let i = 0; i < 200; i++) {
      now = i * MIN;
      store.record({ seq: i + 1, device: 'a', ts: now, values: { v: i } });
      expect(store.heldBytes).toBeLessThanOrEqual(4096);
    }
    const a = store.query({ device: 'a', from: 0, to: now, maxPoints: 1000 });
    // ~192 B a bucket: about 21 fit, the newest ones
    expect(a.buckets[0]!.ts).toBeGreaterThan(170 * MIN);
    expect(a.buckets.at(-1)!.ts).toBe(199 * MIN);
  });
});

describe('the windows move once a second (HISTORY_SWEEP_MS), not at every reading', () => {
  it("another device's point leaves the raw window at the next sweep, at most a second late; the budget holds at every reading", () => {
    let now = 0;
    const budget = 1024;
    const store = new HistoryStore({ ...limits, rawWindowMs: MIN, budgetBytes: budget }, () => now);
    const rawOf = (d: string) => store.query({ device: d, from: 0, to: now, maxPoints: 10_000 }).points;
    let seq = 0;
    const loud = () => store.record({ seq: ++seq, device: 'loud', ts: now, values: wide(4, 1) });
    store.record({ seq: ++seq, device: 'quiet', ts: 0, values: { v: 1 } });
    // a sweep half a second before quiet's point is a window old: the next is half a second after
    now = MIN - 500;
    loud();
    let peak = 0;
    // 20 wide readings between two sweeps: more than the budget holds
    for (now = MIN + 20; now < MIN + 500; now += 20) {
      loud();
      peak = Math.max(peak, store.heldBytes);
    }
    expect(rawOf('quiet').map((p) => p.values.v)).toEqual([1]);
    now = MIN + 500;
    loud();
    expect(rawOf('quiet')).toEqual([]);
    expect(peak).toBeLessThanOrEqual(budget);
    // the budget took loud's raw points first (it holds the most); its bucket keeps them counted
    expect(store.query({ device: 'loud', from: 0, to: now, maxPoints: 10_000 }).buckets.length).toBeGreaterThan(0);
  });
});
