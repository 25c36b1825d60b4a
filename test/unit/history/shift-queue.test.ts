import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShiftQueue } from '../../../src/history/shift-queue.js';

const item = (n: number) => ({ n });

describe('ShiftQueue', () => {
  it('is first in, first out; empty answers undefined', () => {
    const q = new ShiftQueue<{ n: number }>();
    expect([q.size, q.first(), q.shift()]).toEqual([0, undefined, undefined]);
    for (let n = 0; n < 3; n++) q.push(item(n));
    expect(q.shift()).toEqual(item(0));
    expect([q.size, q.first(), q.toArray()]).toEqual([2, item(1), [item(1), item(2)]]);
    expect(q.takeAll()).toEqual([item(1), item(2)]);
    expect([q.size, q.toArray()]).toEqual([0, []]);
  });

  it('lets go of a dropped item at once, not at the next compaction', () => {
    const q = new ShiftQueue<{ n: number }>();
    for (let n = 0; n < 10; n++) q.push(item(n));
    q.shift();
    // the slot itself: the queue's whole job is to hold no reference to what it dropped
    expect((q as unknown as { items: unknown[] }).items).not.toContainEqual(item(0));
  });

  it('behaves as an array with shift() across compactions (any interleaving of push, shift, takeAll)', () => {
    const op = fc.oneof(
      { arbitrary: fc.integer({ min: 1, max: 3_000 }).map((k) => ({ push: k })), weight: 3 },
      { arbitrary: fc.integer({ min: 1, max: 3_000 }).map((k) => ({ shift: k })), weight: 3 },
      { arbitrary: fc.constant({ takeAll: true }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
        const q = new ShiftQueue<{ n: number }>();
        let model: { n: number }[] = [];
        let next = 0;
        for (const o of ops) {
          if ('push' in o) {
            for (let i = 0; i < o.push; i++) {
              const it = item(next++);
              q.push(it);
              model.push(it);
            }
          } else if ('shift' in o) {
            // one expect per op, not per item: vitest's expect costs µs, and 200 runs of up to
            // 36,000 shifts made this test brush its timeout on a loaded machine
            const got: unknown[] = [];
            const want: unknown[] = [];
            for (let i = 0; i < o.shift; i++) {
              got.push(q.shift());
              want.push(model.shift());
            }
            expect(got.every((g, i) => g === want[i])).toBe(true);
          } else {
            expect(q.takeAll()).toEqual(model);
            model = [];
          }
          expect([q.size, q.first()]).toEqual([model.length, model[0]]);
        }
        expect(q.toArray()).toEqual(model);
      }),
      { numRuns: 200 },
    );
  });
});
