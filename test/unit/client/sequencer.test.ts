import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Sequencer, type ResetInfo } from '../../../src/client/sequencer.js';
import type { ReadingMessage } from '../../../src/protocol/messages.js';

const E1 = 'epoch-one';
const E2 = 'epoch-two';
const r = (seq: number, device = 'd1'): ReadingMessage => ({ type: 'reading', seq, device, ts: 1_000 + seq, values: { v: seq } });

function harness() {
  const out: number[] = [];
  const gaps: [number, number][] = [];
  const resets: ResetInfo[] = [];
  const s = new Sequencer({
    reading: (x) => out.push(x.seq),
    gap: (g) => gaps.push([g.from, g.to]),
    reset: (x) => resets.push(x),
  });
  const feed = (...seqs: number[]) => seqs.forEach((n) => s.reading(r(n)));
  return { s, out, gaps, resets, feed };
}

describe('Sequencer: first session', () => {
  it('delivers the snapshot in whatever device order it comes, then live readings in order', () => {
    const h = harness();
    expect(h.s.hello(10, E1)).toBeUndefined();
    h.feed(10, 7, 9, 11, 12);
    expect(h.out).toEqual([10, 7, 9, 11, 12]);
    expect(h.s.lastSeq).toBe(12);
  });

  it('drops a repeated seq, in the snapshot and after it', () => {
    const h = harness();
    h.s.hello(5, E1);
    h.feed(5, 3, 5, 6, 6, 4, 7);
    expect(h.out).toEqual([5, 3, 6, 7]);
    expect(h.s.stats).toMatchObject({ received: 7, delivered: 4, duplicates: 3 });
  });
});

describe('Sequencer: resume after a reconnect', () => {
  it('asks for since = last seq and releases snapshot + replay + live in seq order, each once', () => {
    const h = harness();
    h.s.hello(0, E1);
    h.feed(1, 2, 3);
    expect(h.s.hello(8, E1)).toEqual({ since: 3, epoch: E1 });
    // snapshot (device order), a live reading, then the replay the subscribe asked for
    h.feed(8, 6, 9, 4, 5, 6, 7, 8);
    expect(h.out).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(h.s.resuming).toBe(false);
    expect(h.s.stats.duplicates).toBe(2);
    h.feed(9, 10);
    expect(h.out.at(-1)).toBe(10);
  });

  it('holds nothing when nothing was missed: the snapshot is all duplicates', () => {
    const h = harness();
    h.s.hello(0, E1);
    h.feed(1, 2);
    expect(h.s.hello(2, E1)).toEqual({ since: 2, epoch: E1 });
    expect(h.s.resuming).toBe(false);
    h.feed(2, 1, 3);
    expect(h.out).toEqual([1, 2, 3]);
  });

  it('a gap completes the window: what the buffer no longer holds is surfaced, the rest delivered', () => {
    const h = harness();
    h.s.hello(0, E1);
    h.feed(1);
    h.s.hello(100, E1);
    h.feed(100, 60); // snapshot
    h.s.gap({ type: 'gap', from: 2, to: 90 });
    expect(h.s.resuming).toBe(true);
    for (let n = 91; n <= 100; n++) h.s.reading(r(n));
    expect(h.s.resuming).toBe(false);
    expect(h.gaps).toEqual([[2, 90]]);
    expect(h.out).toEqual([1, 60, ...Array.from({ length: 10 }, (_, i) => 91 + i)]);
    expect(h.s.stats.missed).toBe(89);
  });

  it('flush() releases a window that cannot complete (a subscription narrower than "*")', () => {
    const h = harness();
    h.s.hello(0, E1);
    h.feed(1);
    h.s.hello(10, E1);
    h.feed(9, 4);
    expect(h.out).toEqual([1]);
    h.s.flush();
    expect(h.out).toEqual([1, 4, 9]);
    h.feed(5, 11);
    expect(h.out).toEqual([1, 4, 9, 11]);
  });

  it('a connection lost mid-window delivers what it held before the next session starts', () => {
    const h = harness();
    h.s.hello(0, E1);
    h.feed(1);
    h.s.hello(10, E1);
    h.feed(3, 2);
    h.s.hello(12, E1);
    expect(h.out).toEqual([1, 2, 3]);
  });
});

describe('Sequencer: stream identity (epoch)', () => {
  it('a new epoch whose seq stays below ours: reported, our pair sent back, the new run delivered from 1', () => {
    const h = harness();
    h.s.hello(0, E1);
    h.feed(1, 2, 3, 4, 5);
    expect(h.s.hello(2, E2)).toEqual({ since: 5, epoch: E1 });
    expect(h.resets).toEqual([{ previousEpoch: E1, previousSeq: 5, epoch: E2, seq: 2 }]);
    expect(h.s.epoch).toBe(E2);
    // snapshot, the gateway's reset (expected: not a second restart), the replay
    h.feed(2);
    h.s.reset(E2);
    h.feed(1, 2, 3);
    expect(h.out).toEqual([1, 2, 3, 4, 5, 1, 2, 3]);
    expect(h.s.stats.resets).toBe(1);
  });

  it('a new epoch whose seq passed ours: nothing of the new run is taken for already seen', () => {
    const h = harness();
    h.s.hello(0, E1);
    h.feed(1, 2, 3);
    expect(h.s.hello(9, E2)).toEqual({ since: 3, epoch: E1 });
    expect(h.resets).toEqual([{ previousEpoch: E1, previousSeq: 3, epoch: E2, seq: 9 }]);
    h.feed(9, 7);
    h.s.reset(E2);
    h.feed(1, 2, 3, 4, 5, 6, 7, 8, 10);
    expect(h.out).toEqual([1, 2, 3, ...Array.from({ length: 10 }, (_, i) => i + 1)]);
    expect(h.s.stats).toMatchObject({ resets: 1, duplicates: 1 });
  });

  it('the same epoch counting below our seq cannot continue it: a restart too', () => {
    const h = harness();
    h.s.hello(0, E1);
    h.feed(1, 2, 3, 4);
    expect(h.s.hello(2, E1)).toEqual({ since: 4, epoch: E1 });
    expect(h.resets).toHaveLength(1);
    h.s.reset(E1);
    h.feed(1, 2);
    expect(h.out).toEqual([1, 2, 3, 4, 1, 2]);
    expect(h.s.stats.resets).toBe(1);
  });

  it('an unforeseen reset (hello named our epoch) is a restart: the replay that follows is delivered', () => {
    const h = harness();
    h.s.hello(0, E1);
    h.feed(1, 2, 3);
    expect(h.s.hello(5, E1)).toEqual({ since: 3, epoch: E1 });
    h.feed(5);
    h.s.reset(E1);
    expect(h.resets).toEqual([{ previousEpoch: E1, previousSeq: 5, epoch: E1, seq: 5 }]);
    // what the window held was released; then the new stream from what the gateway holds
    expect(h.out).toEqual([1, 2, 3, 5]);
    h.feed(1, 2, 3, 4, 6);
    expect(h.out).toEqual([1, 2, 3, 5, 1, 2, 3, 4, 6]);
  });
});

describe('Sequencer: gap while live (slow consumer)', () => {
  it('accepts the latest values inside the gap once, in any order, then continues in order', () => {
    const h = harness();
    h.s.hello(0, E1);
    h.feed(1, 2);
    h.s.gap({ type: 'gap', from: 3, to: 20 });
    h.feed(20, 17, 17, 21, 18);
    expect(h.out).toEqual([1, 2, 20, 17, 21]);
    expect(h.gaps).toEqual([[3, 20]]);
  });
});

describe('Sequencer: property', () => {
  it('whatever mix of snapshot, replay, duplicates and live a resume brings, delivery is each seq once, ascending after the window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 50 }),
        fc.array(fc.integer({ min: 1, max: 120 }), { maxLength: 40 }),
        (before, missed, noise) => {
          const h = harness();
          h.s.hello(0, E1);
          for (let n = 1; n <= before; n++) h.s.reading(r(n));
          const helloSeq = before + missed;
          h.s.hello(helloSeq, E1);
          // snapshot/noise first (any order, duplicates, old seqs), then the replay, then live
          for (const n of noise) if (n <= helloSeq) h.s.reading(r(n));
          for (let n = before + 1; n <= helloSeq + 5; n++) h.s.reading(r(n));
          expect(h.s.resuming).toBe(false);
          expect(h.out).toEqual(Array.from({ length: helloSeq + 5 }, (_, i) => i + 1));
        },
      ),
      { numRuns: 300 },
    );
  });
});
