/**
 * A small in-memory history for tests of the wire, the client, the export and the dashboard,
 * behind the same seam as the real store (src/domain.ts): raw points for the last
 * `rawWindowMs` before `to`, older readings averaged into equal buckets, at most maxPoints in all.
 */
import type { FieldStats, HistoryAnswer, HistoryBucket, HistoryPoint, HistoryQuery, HistoryReader, HistoryWriter } from '../../src/domain.js';
import type { Reading } from '../../src/domain.js';

export class MemoryHistory implements HistoryReader, HistoryWriter {
  private readonly byDevice = new Map<string, HistoryPoint[]>();
  /** every query asked, for assertions */
  readonly queries: HistoryQuery[] = [];

  constructor(private readonly rawWindowMs = 60_000) {}

  record(r: Reading): void {
    if (r.values === undefined) return;
    let list = this.byDevice.get(r.device);
    if (!list) this.byDevice.set(r.device, (list = []));
    list.push({ seq: r.seq, ts: r.ts, values: r.values });
  }

  devices(): string[] {
    return [...this.byDevice.keys()];
  }

  query(q: HistoryQuery): HistoryAnswer {
    this.queries.push(q);
    const all = (this.byDevice.get(q.device) ?? []).filter((p) => p.ts >= q.from && p.ts <= q.to);
    const rawFrom = q.to - this.rawWindowMs;
    let points = all.filter((p) => p.ts >= rawFrom);
    const old = all.filter((p) => p.ts < rawFrom);
    // the raw window takes what it needs (newest first), buckets get the rest of maxPoints
    if (points.length > q.maxPoints) points = points.slice(points.length - q.maxPoints);
    const slots = q.maxPoints - points.length;
    const buckets: HistoryBucket[] = [];
    if (old.length > 0 && slots > 0) {
      const span = Math.max(1, Math.ceil((rawFrom - q.from) / slots));
      for (const p of old) {
        const ts = q.from + Math.floor((p.ts - q.from) / span) * span;
        let b = buckets[buckets.length - 1];
        if (!b || b.ts !== ts) buckets.push((b = { ts, span, count: 0, fields: {} }));
        b.count++;
        for (const [k, v] of Object.entries(p.values)) {
          if (typeof v !== 'number') continue;
          const f: FieldStats = (b.fields[k] ??= { min: v, max: v, mean: 0, count: 0 });
          f.min = Math.min(f.min, v);
          f.max = Math.max(f.max, v);
          f.count++;
          f.mean += (v - f.mean) / f.count;
        }
      }
    }
    return { device: q.device, from: q.from, to: q.to, buckets, points };
  }
}
