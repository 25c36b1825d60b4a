/** The fleet's unacknowledged QoS 1 publishes, oldest first (the one an unreadable PUBACK answered). */
import type { IPublishPacket } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { InFlight } from '../../../src/fleet/in-flight.js';

const publish = (messageId: number, payload: string): IPublishPacket & { messageId: number } => ({
  cmd: 'publish',
  qos: 1,
  dup: false,
  retain: false,
  topic: 't',
  payload,
  messageId,
});

describe('InFlight', () => {
  it('names the oldest unacknowledged publish; a replay moves to the back; a new connection starts empty', () => {
    const f = new InFlight();
    expect(f.oldest()).toBeUndefined();
    const [a, b, c] = [publish(7, 'a'), publish(8, 'b'.repeat(3000)), publish(9, 'c')];
    f.written(a);
    f.written(b);
    f.written(c);
    f.acknowledged(7);
    expect(f.oldest()).toBe(b);
    f.acknowledged(42); // not ours: nothing changes
    f.written(b); // replayed after the others on a new connection
    expect(f.oldest()).toBe(c);
    f.reset();
    expect(f.oldest()).toBeUndefined();
  });
});
