/**
 * A history answer as series, one per numeric field: buckets at their mean (at the middle of their
 * span) and the raw points, merged by time with what the page already held, so that the page never
 * erases a reading it has drawn and a reading that came both ways is drawn once.
 *
 * A held point stays unless the answer covers it: a raw point of the same field at the same ts (the
 * same reading, held and answered: joined by ts, since a point of an earlier stream has no seq), or
 * a bucket with that field whose span, up to the answer's `to`, holds its ts (the bucket counts that
 * reading in its mean). So what arrived live after the answer's newest entry is kept, and so is what
 * a gateway restarted without persistence (a crash loses the unflushed tail) no longer remembers,
 * before the answer's oldest entry or between two of its entries alike.
 * Used by the detailed view's charts and the overview's sparklines alike.
 */
import type { HistoryMessage } from '../src/client/index.js';
import type { Series } from './series.js';

export interface Filled {
  series: Map<string, Series>;
  /** the newest raw point's time (0 when none) */
  newest: number;
}

interface Field {
  entries: { ts: number; v: number }[];
  /** ts of the answer's raw points with this field */
  points: Set<number>;
  /** [start, end) of the answer's buckets with this field, oldest first */
  spans: [number, number][];
}

/**
 * `keep` is asked once per field the answer names, in the order they come, and a field it refuses
 * gets no series: a view shows only so many (a tile 4, the detailed view DASHBOARD_FIELDS), and a
 * device may send thousands.
 */
export function fillFromHistory(
  h: HistoryMessage,
  make: () => Series,
  held: (field: string) => Series | undefined,
  keep: (field: string) => boolean = () => true,
): Filled {
  const fields = new Map<string, Field | undefined>();
  const field = (name: string): Field | undefined => {
    if (fields.has(name)) return fields.get(name);
    const f = keep(name) ? { entries: [], points: new Set<number>(), spans: [] } : undefined;
    fields.set(name, f);
    return f;
  };
  const usable = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  for (const b of h.buckets) {
    for (const name in b.fields) {
      const mean = b.fields[name]!.mean;
      if (!usable(mean)) continue;
      const f = field(name);
      if (!f) continue;
      f.entries.push({ ts: b.ts + b.span / 2, v: mean });
      // a bucket still filling when the answer was made holds nothing after `to`
      f.spans.push([b.ts, Math.min(b.ts + b.span, h.to + 1)]);
    }
  }
  let newest = 0;
  for (const p of h.points) {
    newest = Math.max(newest, p.ts);
    for (const name in p.values) {
      const v = p.values[name];
      if (!usable(v)) continue;
      const f = field(name);
      if (!f) continue;
      f.entries.push({ ts: p.ts, v });
      f.points.add(p.ts);
    }
  }
  const series = new Map<string, Series>();
  for (const [name, f] of fields) {
    if (!f) continue;
    const merged = f.entries;
    const [xs, ys] = held(name)?.view() ?? [[], []];
    // both oldest first: one pass over the spans
    let j = 0;
    for (let i = 0; i < xs.length; i++) {
      // x is in seconds: back to the integer ms the reading had
      const ts = Math.round(xs[i]! * 1000);
      while (j < f.spans.length && f.spans[j]![1] <= ts) j++;
      const inBucket = j < f.spans.length && f.spans[j]![0] <= ts;
      if (inBucket || f.points.has(ts)) continue;
      merged.push({ ts, v: ys[i]! });
    }
    // stable: at an equal ts the answer's entry comes first, as it did before the merge
    merged.sort((a, b) => a.ts - b.ts);
    const s = make();
    for (const { ts, v } of merged) s.push(ts, v);
    series.set(name, s);
  }
  return { series, newest };
}
