import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../src/client/backoff.js';

describe('Backoff', () => {
  it('doubles from minMs, is capped at maxMs, and resets', () => {
    const top = new Backoff({ minMs: 100, maxMs: 1_000, random: () => 0.999_999 });
    expect([1, 2, 3, 4, 5, 6].map(() => top.next())).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    top.reset();
    expect(top.next()).toBe(100);
  });

  it('jitters each step within [step/2, step]', () => {
    const low = new Backoff({ minMs: 100, maxMs: 1_000, random: () => 0 });
    expect([1, 2, 3, 4, 5].map(() => low.next())).toEqual([50, 100, 200, 400, 500]);
  });

  it('never overflows after many attempts', () => {
    const b = new Backoff({ minMs: 1, maxMs: 60_000, random: () => 0.5 });
    for (let i = 0; i < 2_000; i++) expect(b.next()).toBeLessThanOrEqual(60_000);
    expect(b.attempts).toBe(2_000);
  });

  it('refuses a backoff that cannot work', () => {
    expect(() => new Backoff({ minMs: 0, maxMs: 10 })).toThrow(RangeError);
    expect(() => new Backoff({ minMs: 100, maxMs: 10 })).toThrow('0 < minMs <= maxMs (got 100, 10)');
  });
});
