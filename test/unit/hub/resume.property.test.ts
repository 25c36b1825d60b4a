import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Hub } from '../../../src/hub/hub.js';
import { silentLogger } from '../../../src/log.js';
import { FakeConn, FakeDevice, testConfig } from './fakes.js';

const DEVICES = ['a', 'b', 'm'];
const op = fc.oneof(
  fc.record({ kind: fc.constant('reading' as const), device: fc.constantFrom(...DEVICES) }),
  fc.record({ kind: fc.constant('subscribe' as const), devices: fc.oneof(fc.constant(['*']), fc.subarray(DEVICES)) }),
);

describe('resume (property)', () => {
  it('after subscribe {"*", since}, every reading after since arrives exactly once, whatever happened before', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...DEVICES), { maxLength: 30 }),
        fc.array(op, { maxLength: 15 }),
        fc.nat(),
        fc.array(fc.constantFrom(...DEVICES), { maxLength: 10 }),
        (before, during, sinceSeed, after) => {
          const hub = new Hub(testConfig({ hub: { coalesceMs: 0, resumeBuffer: 1000 } }), silentLogger());
          hub.setDevices(DEVICES.map((id) => new FakeDevice(id, id === 'm' ? 'mqtt' : 'serial')));
          let ts = 0;
          for (const d of before) hub.reading({ device: d, ts: ts++ });
          const c = new FakeConn();
          c.settle = () => hub.flushQueued();
          hub.attach(c, { role: 'viewer' });
          for (const o of during) {
            if (o.kind === 'reading') hub.reading({ device: o.device, ts: ts++ });
            else c.sendJson({ type: 'subscribe', devices: o.devices });
          }
          const seq = hub.stats().seq;
          const since = sinceSeed % (seq + 1);
          c.sendJson({ type: 'subscribe', devices: ['*'], since, epoch: hub.epoch });
          for (const d of after) hub.reading({ device: d, ts: ts++ });

          const got = c
            .of('reading')
            .map((r) => r.seq)
            .filter((s) => s > since)
            .sort((x, y) => x - y);
          const final = hub.stats().seq;
          expect(got).toEqual(Array.from({ length: final - since }, (_, i) => since + 1 + i));
          expect(c.of('gap')).toEqual([]);
          expect(c.of('reset')).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
