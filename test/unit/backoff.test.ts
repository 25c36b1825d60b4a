import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay } from '../../src/backoff.js';

const cfgArb = fc
  .tuple(fc.integer({ min: 0, max: 60_000 }), fc.integer({ min: 0, max: 600_000 }))
  .map(([a, b]) => ({ minMs: Math.min(a, b), maxMs: Math.max(a, b) }));
const rand = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('backoffDelay', () => {
  it('doubles from minMs up to maxMs at the top of the jitter', () => {
    const cfg = { minMs: 1000, maxMs: 30_000 };
    const delays = Array.from({ length: 8 }, (_, i) => backoffDelay(i, cfg, () => 1));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('jitters each step within [step/2, step]', () => {
    const cfg = { minMs: 1000, maxMs: 30_000 };
    expect(backoffDelay(0, cfg, () => 0.5)).toBe(750);
    expect(backoffDelay(0, cfg, () => 0)).toBe(500);
    expect(backoffDelay(10, cfg, () => 0)).toBe(15_000);
  });

  it('is bounded: minMs/2 ≤ delay ≤ maxMs (a hard cap), for any attempt (even huge ones)', () => {
    fc.assert(
      fc.property(cfgArb, fc.nat({ max: 1e6 }), rand, (cfg, attempt, r) => {
        const d = backoffDelay(attempt, cfg, () => r);
        expect(Number.isFinite(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(Math.floor(cfg.minMs / 2));
        expect(d).toBeLessThanOrEqual(cfg.maxMs);
      }),
    );
  });

  it('never decreases with the attempt number for the same jitter', () => {
    fc.assert(
      fc.property(cfgArb, fc.nat({ max: 100 }), rand, (cfg, attempt, r) => {
        expect(backoffDelay(attempt + 1, cfg, () => r)).toBeGreaterThanOrEqual(backoffDelay(attempt, cfg, () => r));
      }),
    );
  });

  it('is capped: far attempts all have the same step, spread only by jitter', () => {
    const cfg = { minMs: 500, maxMs: 10_000 };
    expect(backoffDelay(20, cfg, () => 1)).toBe(10_000);
    expect(backoffDelay(1e6, cfg, () => 1)).toBe(10_000);
    expect(backoffDelay(1e6, cfg, () => 0)).toBe(5_000);
  });

  it('is jittered: with Math.random, repeated delays of one attempt differ', () => {
    const cfg = { minMs: 1000, maxMs: 30_000 };
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(3, cfg)));
    expect(seen.size).toBeGreaterThan(10);
    for (const d of seen) expect(d >= 4000 && d <= 8000).toBe(true);
  });

  it('tolerates a misconfigured maxMs < minMs and random() outside [0, 1)', () => {
    expect(backoffDelay(5, { minMs: 2000, maxMs: 100 }, () => 1)).toBe(2000);
    expect(backoffDelay(0, { minMs: 1000, maxMs: 1000 }, () => 7)).toBe(1000);
    expect(backoffDelay(0, { minMs: 1000, maxMs: 1000 }, () => -1)).toBe(500);
  });
});

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
