/**
 * No attacker-chosen metric labels: a real gateway is flooded with distinct hostile values for
 * everything that reaches a label (close codes, client message types, command targets, refused
 * handshakes, MQTT topic levels that derive device ids), and /metrics must still hold a small,
 * fixed number of series.
 */
import type mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import { startGateway, type Gateway } from '../../../src/gateway.js';
import { closeCodeLabel } from '../../../src/metrics.js';
import { silentLogger } from '../../../src/log.js';
import { Opcode } from '../../../src/ws/constants.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { testClient } from '../mqtt/fixtures.js';
import { clientFrame, rawHttp, RawPeer, upgradeRequest } from './raw-peer.js';

let broker: Mosquitto;
let pub: mqtt.MqttClient;
let gw: Gateway;
let port: number;

beforeAll(async () => {
  broker = await startMosquitto();
  gw = await startGateway(
    configSchema.parse({
      server: { host: '127.0.0.1', port: 0 },
      auth: { anonymous: 'operator' },
      hub: { badMessageLimit: 1_000 },
      mqtt: { url: broker.url },
      // every first topic level names a device of its own ("fleet-<level>"): input-derived ids
      devices: [{ id: 'fleet', mqtt: { topic: 'flood/+/v', idFromTopicSegment: 1, payload: 'number' }, parser: { format: 'raw' } }],
    }),
    silentLogger(),
  );
  port = Number(new URL(gw.url).port);
  pub = await testClient(broker.url);
});
afterAll(async () => {
  await pub?.endAsync();
  await gw?.stop();
  await broker?.stop();
});

/** series per metric family in the Prometheus text, e.g. { serialgate_ws_closes_total: 3 } */
async function seriesPerFamily(): Promise<Map<string, string[]>> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const families = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const brace = line.indexOf('{');
    if (!line.startsWith('serialgate_') || brace < 0) continue;
    const name = line.slice(0, brace);
    families.set(name, [...(families.get(name) ?? []), line.slice(brace, line.lastIndexOf('}') + 1)]);
  }
  return families;
}

/** runs `task(i)` for i < count, `width` at a time (bounded load on a shared machine) */
async function inBatches(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < count; i += width) {
    await Promise.all(Array.from({ length: Math.min(width, count - i) }, (_, j) => task(i + j)));
  }
}

const FLOOD = 200;

describe('metric labels stay bounded under hostile input', () => {
  it('closeCodeLabel: registered codes keep their number, everything else is "other"', () => {
    expect([1000, 1001, 1006, 1011, 1013, 1015].map(closeCodeLabel)).toEqual(['1000', '1001', '1006', '1011', '1013', '1015']);
    expect([1004, 1016, 2999, 3000, 3008, 4000, 4999, 0, 65535].map(closeCodeLabel)).toEqual(Array(9).fill('other'));
  });

  it(`${FLOOD} distinct close codes, message types, command targets, refused handshakes and MQTT-derived ids → a fixed number of series`, async () => {
    await inBatches(FLOOD, 20, async (i) => {
      const peer = await RawPeer.open(port, { path: '/ws' });
      await peer.waitUntil(() => peer.events.some((e) => e.type === 'message')); // hello
      peer.send(clientFrame(Opcode.Text, JSON.stringify({ type: `hostile-${i}` })));
      peer.send(clientFrame(Opcode.Text, JSON.stringify({ type: 'command', id: `c${i}`, device: `nodevice-${i}`, line: 'x' })));
      const code = Buffer.alloc(2);
      code.writeUInt16BE(3000 + i * 9); // 3000…4791, all valid private/registered-range codes
      peer.send(clientFrame(Opcode.Close, code));
      await peer.closed;
    });
    await inBatches(FLOOD, 20, async (i) => {
      // a different wrong path, version or Host each time
      const request = [
        upgradeRequest(`/nope-${i}`),
        upgradeRequest('/ws').replace('Sec-WebSocket-Version: 13', `Sec-WebSocket-Version: v${i}`),
        upgradeRequest('/ws').replace('Host: 127.0.0.1', `Host: evil-${i}.example`),
      ][i % 3]!;
      expect((await rawHttp(port, [request])).status).toBeGreaterThanOrEqual(400);
    });

    // more distinct derived ids than the source keeps (256), half of them with a payload that fails to parse
    for (let i = 0; i < 300; i++) await pub.publishAsync(`flood/d${i}/v`, i % 2 ? String(i) : 'not a number');
    // every publish arrived (a bad payload or an id over the cap still counts as a reading of "fleet")
    await expect
      .poll(async () => /^serialgate_readings_total\{device="fleet"\} (\d+)/m.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1], {
        timeout: 10_000,
      })
      .toBe('300');

    const families = await seriesPerFamily();
    const closes = families.get('serialgate_ws_closes_total') ?? [];
    expect(closes).toContain('{code="other"}');
    // everything the flood could reach: a handful of series, not hundreds
    for (const [name, series] of families) expect(series.length, `${name}: ${series.join(' ')}`).toBeLessThanOrEqual(16);
    expect(families.get('serialgate_client_errors_total')).toEqual(['{code="unknown_type"}']);
    expect(families.get('serialgate_commands_total')).toEqual(['{device="",result="unknown_device"}']);
    // derived ids name readings, never a series: the label is the configured device
    expect(families.get('serialgate_readings_total')).toEqual(['{device="fleet"}']);
    expect(families.get('serialgate_parse_errors_total')).toEqual(['{device="fleet"}']);
  });
});
