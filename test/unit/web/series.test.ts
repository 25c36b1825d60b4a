import { describe, expect, it } from 'vitest';
import { Series } from '../../../web/series.js';
import { LineRing } from '../../../web/lines.js';

const arr = (a: Float64Array) => Array.from(a);

describe('Series (chart ring buffer)', () => {
  it('keeps the newest `capacity` points, oldest first, as contiguous views across wrap-around', () => {
    const s = new Series(4, 1);
    for (let i = 1; i <= 10; i++) s.push(i * 1000, i);
    const [xs, ys] = s.view();
    expect(arr(xs)).toEqual([7, 8, 9, 10]);
    expect(arr(ys)).toEqual([7, 8, 9, 10]);
    expect(s.length).toBe(4);
  });

  it('averages readings that fall into one bucket; x moves to the newest so it stays strictly increasing', () => {
    const s = new Series(10, 1000);
    s.push(1000, 1);
    s.push(1500, 3);
    s.push(1999, 5);
    s.push(2000, 10);
    const [xs, ys] = s.view();
    expect(arr(xs)).toEqual([1.999, 2]);
    expect(arr(ys)).toEqual([3, 10]);
  });

  it('refuses a reading older than the newest point and counts it', () => {
    const s = new Series(10, 1);
    expect(s.push(2000, 1)).toBe(true);
    expect(s.push(1000, 2)).toBe(false);
    expect(s.push(1999, 2)).toBe(false);
    expect(s.rejected).toBe(2);
    expect(arr(s.view()[1])).toEqual([1]);
  });

  it('readings with the same ts (one chunk from a port) share the newest point: averaged, x unchanged', () => {
    const s = new Series(10, 1);
    expect(s.push(2000, 1)).toBe(true);
    expect(s.push(2000, 3)).toBe(true);
    expect(s.push(2000, 5)).toBe(true);
    expect(s.rejected).toBe(0);
    const [xs, ys] = s.view();
    expect(arr(xs)).toEqual([2]);
    expect(arr(ys)).toEqual([3]);
  });

  it('view(since) cuts off points older than the window', () => {
    const s = new Series(100, 1);
    for (let i = 1; i <= 50; i++) s.push(i * 1000, i);
    expect(arr(s.view(45_000)[0])).toEqual([45, 46, 47, 48, 49, 50]);
    expect(arr(s.view(99_000)[0])).toEqual([]);
    expect(new Series(3, 1).view()[0].length).toBe(0);
  });

  it('memory is fixed: a million readings leave capacity points', () => {
    const s = new Series(1200, 250);
    for (let i = 0; i < 1_000_000; i++) s.push(i, i % 7);
    expect(s.length).toBe(1200);
    const xs = arr(s.view()[0]);
    for (let i = 1; i < xs.length; i++) expect(xs[i]).toBeGreaterThan(xs[i - 1]!);
  });

  it('flags new data for the chart until it is viewed', () => {
    const s = new Series(4, 1);
    expect(s.changed).toBe(false);
    s.push(1, 1);
    expect(s.changed).toBe(true);
    s.view();
    expect(s.changed).toBe(false);
  });
});

describe('LineRing (console)', () => {
  it('keeps the last lines, oldest first', () => {
    const r = new LineRing(3);
    expect(r.text()).toBe('');
    r.push('a');
    r.push('b');
    expect(r.text()).toBe('a\nb');
    for (const l of ['c', 'd', 'e']) r.push(l);
    expect(r.text()).toBe('c\nd\ne');
  });
});
