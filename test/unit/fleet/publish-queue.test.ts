/** The fleet's store-and-forward queue: bounded in messages and bytes, oldest dropped and reported. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PublishQueue, type QueuedPublish } from '../../../src/fleet/publish-queue.js';

const msg = (n: number, payload = String(n)): QueuedPublish => ({ topic: `t/${n}`, payload, qos: 0 });
const size = (m: QueuedPublish) => Buffer.byteLength(m.topic) + Buffer.byteLength(m.payload);

describe('PublishQueue', () => {
  it('keeps the newest `capacity` messages in order, drops and reports the oldest', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.nat(60), (capacity, n) => {
        const dropped: number[] = [];
        const q = new PublishQueue(capacity, 1e9, (m) => dropped.push(Number(m.payload)));
        for (let i = 0; i < n; i++) q.push(msg(i));
        expect(q.size).toBe(Math.min(n, capacity));
        const all = Array.from({ length: n }, (_, i) => i);
        expect(dropped).toEqual(all.slice(0, Math.max(0, n - capacity)));
        expect(q.drain().map((m) => Number(m.payload))).toEqual(all.slice(Math.max(0, n - capacity)));
        expect(q.size).toBe(0);
        expect(q.bytes).toBe(0);
        expect(q.drain()).toEqual([]);
      }),
    );
  });

  it('never holds more than maxBytes: the oldest go first, every drop is reported once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 200 }), fc.array(fc.string({ maxLength: 40 }), { maxLength: 50 }), (maxBytes, payloads) => {
        const dropped: QueuedPublish[] = [];
        const q = new PublishQueue(1000, maxBytes, (m) => dropped.push(m));
        const pushed = payloads.map((p, i) => msg(i, p));
        for (const m of pushed) {
          q.push(m);
          expect(q.bytes).toBeLessThanOrEqual(maxBytes);
        }
        const kept = q.drain();
        // what is kept is the newest suffix that fits, minus any single message bigger than the bound
        expect([...dropped, ...kept].map((m) => m.topic).sort()).toEqual(pushed.map((m) => m.topic).sort());
        expect(kept.reduce((s, m) => s + size(m), 0)).toBeLessThanOrEqual(maxBytes);
        const order = kept.map((m) => Number(m.topic.slice(2)));
        expect(order).toEqual([...order].sort((x, y) => x - y));
      }),
    );
  });

  it('works again after a drain', () => {
    const q = new PublishQueue(2, 1000);
    q.push(msg(1));
    q.push(msg(2));
    q.push(msg(3));
    q.drain();
    q.push(msg(4));
    expect(q.drain()).toEqual([msg(4)]);
  });
});
