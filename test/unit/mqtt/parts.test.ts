/** The small sans-I/O parts of the MQTT source: offline queue, error reasons. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PublishQueue, type QueuedPublish } from '../../../src/sources/mqtt/publish-queue.js';
import { describeError, isAuthFailure } from '../../../src/sources/mqtt/reasons.js';

const msg = (n: number): QueuedPublish => ({ topic: `t/${n}`, payload: String(n), qos: 0 });

describe('PublishQueue', () => {
  it('keeps the newest `capacity` messages in order, drops and reports the oldest', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.nat(60), (capacity, n) => {
        const dropped: number[] = [];
        const q = new PublishQueue(capacity, (m) => dropped.push(Number(m.payload)));
        for (let i = 0; i < n; i++) q.push(msg(i));
        expect(q.size).toBe(Math.min(n, capacity));
        const all = Array.from({ length: n }, (_, i) => i);
        expect(dropped).toEqual(all.slice(0, Math.max(0, n - capacity)));
        expect(q.drain().map((m) => Number(m.payload))).toEqual(all.slice(Math.max(0, n - capacity)));
        expect(q.size).toBe(0);
        expect(q.drain()).toEqual([]);
      }),
    );
  });

  it('works again after a drain', () => {
    const q = new PublishQueue(2);
    q.push(msg(1));
    q.push(msg(2));
    q.push(msg(3));
    q.drain();
    q.push(msg(4));
    expect(q.drain()).toEqual([msg(4)]);
  });
});

describe('describeError / isAuthFailure', () => {
  const withCode = (message: string, code: unknown) => Object.assign(new Error(message), { code });
  it.each([
    [withCode('connect ECONNREFUSED 127.0.0.1:1883', 'ECONNREFUSED'), 'broker unreachable: ECONNREFUSED 127.0.0.1:1883', false],
    [withCode('getaddrinfo ENOTFOUND broker.lan', 'ENOTFOUND'), 'broker unreachable: ENOTFOUND broker.lan', false],
    [withCode('read ECONNRESET', 'ECONNRESET'), 'broker unreachable: ECONNRESET', false],
    [withCode('Connection refused: Not authorized', 5), 'not authorized', true],
    [withCode('Connection refused: Bad username or password', 4), 'not authorized: bad username or password', true],
    [withCode('Connection refused: Not authorized', 0x87), 'not authorized', true],
    [withCode('Connection refused: Bad User Name or Password', 0x86), 'not authorized: bad username or password', true],
    [withCode('Connection refused: Server unavailable', 3), 'broker refused the connection: Server unavailable', false],
    [withCode('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'), 'broker connection failed: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)', false],
    [new Error('connack timeout'), 'broker did not answer CONNECT in time', false],
    [new Error('Keepalive timeout'), 'broker stopped answering (keepalive timeout)', false],
    [new Error('something else'), 'broker connection failed: something else', false],
    ['a string', 'broker connection failed: a string', false],
  ])('%s → %s', (err, reason, auth) => {
    expect(describeError(err)).toBe(reason);
    expect(isAuthFailure(err)).toBe(auth);
  });
});
