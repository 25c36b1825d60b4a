/**
 * A history answer as series, one per numeric field: buckets at their mean (at the middle of their
 * span), then the raw points; before them what the page already held from before the answer's
 * oldest entry (a gateway restarted without persistence remembers less than the page does), after
 * them what arrived live after its newest entry, so a reading that came both ways is drawn once.
 * Used by the detailed view's charts and the overview's sparklines alike.
 */
import type { HistoryMessage } from '../src/client/index.js';
import type { Series } from './series.js';

export interface Filled {
  series: Map<string, Series>;
  /** the newest raw point's time (0 when none) */
  newest: number;
}

export function fillFromHistory(h: HistoryMessage, make: () => Series, held: (field: string) => Series | undefined): Filled {
  const entries: { name: string; ts: number; v: number }[] = [];
  const add = (name: string, ts: number, v: unknown) => {
    if (typeof v === 'number' && Number.isFinite(v)) entries.push({ name, ts, v });
  };
  for (const b of h.buckets) for (const name in b.fields) add(name, b.ts + b.span / 2, b.fields[name]!.mean);
  let newest = 0;
  for (const p of h.points) {
    newest = Math.max(newest, p.ts);
    for (const name in p.values) add(name, p.ts, p.values[name]);
  }
  let oldest = Infinity;
  for (const e of entries) oldest = Math.min(oldest, e.ts);
  const series = new Map<string, Series>();
  for (const { name, ts, v } of entries) {
    let s = series.get(name);
    if (!s) {
      series.set(name, (s = make()));
      const [xs, ys] = held(name)?.view() ?? [[], []];
      for (let i = 0; i < xs.length && xs[i]! * 1000 < oldest; i++) s.push(xs[i]! * 1000, ys[i]!);
    }
    s.push(ts, v);
  }
  for (const [name, s] of series) {
    const [xs, ys] = held(name)?.view(newest + 1) ?? [[], []];
    for (let i = 0; i < xs.length; i++) s.push(xs[i]! * 1000, ys[i]!);
  }
  return { series, newest };
}
