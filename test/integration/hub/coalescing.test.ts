/**
 * Coalescing end to end (startGateway, a real Mosquitto, a `ws` dashboard): a reading that
 * arrives while the gateway is quiet is not held for hub.coalesceMs, while readings that follow
 * a write within the window are batched into one write. The window is made huge (2 s) so that
 * "not held" and "held" differ by far more than a loaded machine's scheduling noise.
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
  it('a lone reading on a quiet gateway is delivered at once, the next ones within the window wait for it', async () => {
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

    // just written: the next reading waits for the rest of the window
    await publisher.publishAsync('probe/t', '{"v":2}');
    await new Promise((r) => setTimeout(r, WINDOW_MS / 4));
    expect(peer.of('reading')).toHaveLength(1);
    await peer.waitFor('the second reading', () => peer.of('reading').length === 2, WINDOW_MS * 2);
    expect(peer.of('reading').map((r) => r.values.v)).toEqual([1, 2]);
  });
});
