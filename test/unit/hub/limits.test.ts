import { describe, expect, it } from 'vitest';
import { WindowCounter } from '../../../src/hub/limits.js';
import { TokenBucket } from '../../../src/token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst, then refills at the rate', () => {
    let now = 0;
    const b = new TokenBucket(20, 3, () => now);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    now += 49;
    expect(b.take()).toBe(false);
    now += 1; // 50 ms at 20/s = one token
    expect(b.take()).toBe(true);
    now += 10_000; // refill caps at the burst
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
  });
});

describe('WindowCounter', () => {
  it('trips above the limit within the window, forgets what is older', () => {
    let now = 0;
    const w = new WindowCounter(3, 10_000, () => now);
    expect([w.hit(), w.hit(), w.hit()]).toEqual([false, false, false]);
    now = 9_999;
    expect(w.hit()).toBe(true);
    now = 20_000;
    expect(w.hit()).toBe(false);
  });
});
