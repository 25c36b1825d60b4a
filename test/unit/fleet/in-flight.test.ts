/** The fleet's unacknowledged QoS 1 publishes, oldest first (the one an unreadable PUBACK answered). */
import { describe, expect, it } from 'vitest';
import { InFlight } from '../../../src/fleet/in-flight.js';

describe('InFlight', () => {
  it('names the oldest unacknowledged publish; a replay moves to the back; a new connection starts empty', () => {
    const f = new InFlight();
    expect(f.oldest()).toBeUndefined();
    f.written(7, 100);
    f.written(8, 3000);
    f.written(9, 50);
    f.acknowledged(7);
    expect(f.oldest()).toEqual({ messageId: 8, bytes: 3000, correlation: undefined });
    f.acknowledged(42); // not ours: nothing changes
    f.written(8, 3000); // replayed after the others on a new connection
    expect(f.oldest()).toEqual({ messageId: 9, bytes: 50, correlation: undefined });
    f.acknowledged(9);
    f.written(10, 2500, 'i1:7'); // a remote command: its correlation names the request
    f.acknowledged(8);
    expect(f.oldest()).toEqual({ messageId: 10, bytes: 2500, correlation: 'i1:7' });
    f.reset();
    expect(f.oldest()).toBeUndefined();
  });
});
