/**
 * Slow consumers and many consumers, end to end: an MQTT device fed by a test publisher through
 * a real Mosquitto, `ws` dashboards.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import { startGateway, type Gateway } from '../../../src/gateway.js';
import { registry } from '../../../src/metrics.js';
import { silentLogger } from '../../../src/log.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { Peer } from './peer.js';

let broker: Mosquitto;
let gw: Gateway;
let ws: string;
let publisher: mqtt.MqttClient;

const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
  const m = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return m.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
};

/**
 * Publishes `n` readings with a `blob` of `size` characters in batches, each once the gateway
 * has taken the previous one (QoS 0 through a broker drops what a busy subscriber cannot take).
 */
async function publish(n: number, size: number, from = 0): Promise<void> {
  const blob = 'x'.repeat(size);
  const start = gw.hub.stats().seq;
  for (let i = from; i < from + n; i += 50) {
    const end = Math.min(i + 50, from + n);
    for (let j = i; j < end; j++) publisher.publish('fanout/big', JSON.stringify({ i: j, blob }));
    const deadline = Date.now() + 5_000;
    while (gw.hub.stats().seq < start + end - from && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  }
}

beforeAll(async () => {
  broker = await startMosquitto();
  gw = await startGateway(
    configSchema.parse({
      server: {
        port: 0,
        echo: true,
        limits: {
          sendSoftLimitBytes: 16 * 1024,
          sendHardLimitBytes: 256 * 1024,
          maxConnections: 1100,
          maxConnectionsPerAddress: 1100,
          closeTimeoutMs: 1_000,
        },
      },
      mqtt: { url: broker.url },
      hub: { stallTimeoutMs: 1_500 },
      // a publisher faster than any sensor, on purpose: these tests are about what leaves, not the input budget
      devices: [
        { id: 'big', mqtt: { topic: 'fanout/big' }, parser: { format: 'json' }, inputRate: { bytesPerSecond: 1 << 30, burstBytes: 1 << 30 } },
      ],
    }),
    silentLogger(),
  );
  ws = gw.url.replace('http', 'ws') + '/ws';
  publisher = await mqtt.connectAsync(broker.url);
  const p = await Peer.open(ws);
  await p.waitFor(
    'big up',
    () => [...p.of('hello')[0].devices, ...p.of('state')].some((d: any) => (d.id ?? d.device) === 'big' && d.state === 'up'),
    10_000,
  );
  await p.close();
});

afterAll(async () => {
  await publisher?.endAsync();
  await gw?.stop();
  await broker?.stop();
});

describe('a client that stops reading', () => {
  it('is coalesced, then closed with 1013, while another keeps getting every reading and memory stays bounded', async () => {
    const fast = await Peer.open(ws);
    const slow = await Peer.open(ws);
    await slow.next('hello');
    // the kernel stops reading for it: our queue is the only place readings could pile up
    (slow.ws as any)._socket.pause();
    const drops = await metric('serialgate_readings_dropped_total');
    const closes1013 = await metric('serialgate_ws_closes_total', { code: '1013' });
    const rss = process.memoryUsage().rss;

    const n = 3000;
    await publish(n, 4000); // 12 MB: far beyond socket buffers, soft and hard limits
    await fast.waitFor(`all ${n} readings`, () => fast.of('reading').filter((m) => m.device === 'big').length >= n, 20_000);
    const got = fast
      .of('reading')
      .filter((m) => m.device === 'big')
      .map((m) => m.values.i);
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(fast.of('gap')).toEqual([]);

    expect(await metric('serialgate_readings_dropped_total')).toBeGreaterThan(drops);
    const deadline = Date.now() + 5_000;
    while ((await metric('serialgate_ws_closes_total', { code: '1013' })) === closes1013 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await metric('serialgate_ws_closes_total', { code: '1013' })).toBe(closes1013 + 1);
    // 12 MB went to the slow client's subscription; the gateway kept at most its limits of it (the
    // bound is loose: this worker's RSS also carries garbage not yet collected and the resume ring)
    expect(process.memoryUsage().rss - rss).toBeLessThan(96 * 1024 * 1024);
    expect(gw.hub.stats().connections).toBe(1);
    (slow.ws as any)._socket.resume();
    await fast.close();
  }, 40_000);
});

describe('composition', () => {
  it('server.echo adds /echo next to the hub endpoint; url reports the ephemeral port', async () => {
    expect(gw.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new URL(gw.url).port).not.toBe('0');
    const echo = await Peer.open(gw.url.replace('http', 'ws') + '/echo');
    echo.ws.send('{"type":"ping-through-echo"}');
    await echo.next('ping-through-echo');
    await echo.close();
    await expect(Peer.open(gw.url.replace('http', 'ws') + '/nope')).rejects.toThrow('404');
  });
});

describe('1,000 clients', () => {
  it('every client receives every reading', async () => {
    const peers: Peer[] = [];
    try {
      for (let i = 0; i < 1000; i += 50) {
        peers.push(...(await Promise.all(Array.from({ length: 50 }, () => Peer.open(ws)))));
      }
      await Promise.all(peers.map((p) => p.next('hello')));
      const n = 40;
      await publish(n, 20, 10_000);
      const count = (p: Peer) => p.of('reading').filter((m) => m.device === 'big' && m.values.i >= 10_000).length;
      await Promise.all(peers.map((p) => p.waitFor(`${n} readings`, () => count(p) >= n, 20_000)));
      expect(peers.reduce((a, p) => a + count(p), 0)).toBe(1000 * n);
      expect(
        peers.every((p) =>
          p
            .of('reading')
            .filter((m) => m.values.i >= 10_000)
            .every((m, i) => m.values.i === 10_000 + i),
        ),
      ).toBe(true);
    } finally {
      await Promise.all(peers.map((p) => p.close()));
    }
  }, 60_000);
});
