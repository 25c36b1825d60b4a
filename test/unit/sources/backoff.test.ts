import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, JITTER } from '../../../src/sources/backoff.js';

const cfgArb = fc
  .tuple(fc.integer({ min: 0, max: 60_000 }), fc.integer({ min: 0, max: 600_000 }))
  .map(([a, b]) => ({ minMs: Math.min(a, b), maxMs: Math.max(a, b) }));
const rand = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('backoffDelay', () => {
  it('doubles from minMs up to maxMs without jitter', () => {
    const cfg = { minMs: 1000, maxMs: 30_000 };
    const delays = Array.from({ length: 8 }, (_, i) => backoffDelay(i, cfg, () => 0));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('adds up to JITTER of the step on top', () => {
    const cfg = { minMs: 1000, maxMs: 30_000 };
    expect(backoffDelay(0, cfg, () => 0.5)).toBe(1000 + 1000 * JITTER * 0.5);
    expect(backoffDelay(10, cfg, () => 0.999)).toBe(Math.round(30_000 * (1 + JITTER * 0.999)));
  });

  it('is bounded: minMs ≤ delay ≤ maxMs × (1 + JITTER), for any attempt (even huge ones)', () => {
    fc.assert(
      fc.property(cfgArb, fc.nat({ max: 1e6 }), rand, (cfg, attempt, r) => {
        const d = backoffDelay(attempt, cfg, () => r);
        expect(Number.isFinite(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(cfg.minMs);
        expect(d).toBeLessThanOrEqual(Math.ceil(cfg.maxMs * (1 + JITTER)));
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
    expect(backoffDelay(20, cfg, () => 0)).toBe(10_000);
    expect(backoffDelay(1e6, cfg, () => 0)).toBe(10_000);
  });

  it('is jittered: with Math.random, repeated delays of one attempt differ', () => {
    const cfg = { minMs: 1000, maxMs: 30_000 };
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(3, cfg)));
    expect(seen.size).toBeGreaterThan(10);
    for (const d of seen) expect(d >= 8000 && d <= 12000).toBe(true);
  });

  it('tolerates a misconfigured maxMs < minMs and random() outside [0, 1)', () => {
    expect(backoffDelay(5, { minMs: 2000, maxMs: 100 }, () => 0)).toBe(2000);
    expect(backoffDelay(0, { minMs: 1000, maxMs: 1000 }, () => 7)).toBe(1500);
    expect(backoffDelay(0, { minMs: 1000, maxMs: 1000 }, () => -1)).toBe(1000);
  });
});
