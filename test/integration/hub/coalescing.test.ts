/**
 * Coalescing end to end (startGateway, a real Mosquitto, a `ws` dashboard): on a quiet gateway
 * (one dashboard: a pass over it takes microseconds) no reading is held for hub.coalesceMs, not
 * the first and not the ones that follow a write closely. The window is made huge (2 s) so that
 * "not held" and "held" differ by far more than a loaded machine's scheduling noise. Batching
 * under load (after passes that took long) is tested with a fake clock in
 * test/unit/hub/flush-scheduler.test.ts.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { gatewayOnBroker } from './broker-gateway.js';
import { Peer } from './peer.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const WINDOW_MS = 2_000;

describe('load-adaptive coalescing', () => {
  it('a quiet gateway delivers each reading at once, also one that follows the last write closely', async () => {
    const { gw, brokerUrl } = await gatewayOnBroker(cleanups, {
      id: 'quiet',
      hub: { coalesceMs: WINDOW_MS },
      devices: [{ id: 'probe', mqtt: { topic: 'probe/t' }, parser: { format: 'json' } }],
    });
    const publisher = await mqtt.connectAsync(brokerUrl);
    cleanups.push(() => publisher.endAsync());
    const peer = await Peer.open(`${gw.url.replace(/^http/, 'ws')}/ws`);
    cleanups.push(() => peer.ws.terminate());
    await peer.next('hello');
    await peer.waitFor(
      'probe up',
      () => peer.of('state').some((s) => s.device === 'probe' && s.state === 'up') || peer.of('hello')[0].devices[0]?.state === 'up',
      10_000,
    );
    // quiet: nothing written to this connection for a whole window
    await new Promise((r) => setTimeout(r, WINDOW_MS + 100));

    const t0 = performance.now();
    await publisher.publishAsync('probe/t', '{"v":1}');
    await peer.waitFor('the first reading', () => peer.of('reading').length === 1, WINDOW_MS);
    const first = performance.now() - t0;
    expect(first).toBeLessThan(WINDOW_MS / 2);

    // just written, and the next reading follows at once: still nothing to wait for
    const t1 = performance.now();
    await publisher.publishAsync('probe/t', '{"v":2}');
    await peer.waitFor('the second reading', () => peer.of('reading').length === 2, WINDOW_MS);
    expect(performance.now() - t1).toBeLessThan(WINDOW_MS / 2);
    expect(peer.of('reading').map((r) => r.values.v)).toEqual([1, 2]);
  });
});
