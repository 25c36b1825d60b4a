/** Federation over a real Mosquitto: readings out to <prefix>/<gw>/<device>/reading, commands in, acks out. */
import type mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { metrics } from '../../../src/metrics.js';
import { MAX_SOCKET_BACKLOG_BYTES } from '../../../src/bounds.js';
import type { MqttSource } from '../../../src/sources/mqtt/index.js';
import { CommandError, type DeviceCommand } from '../../../src/domain.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { device, mqttConfig, newSource, testClient, type RecordingSink } from './fixtures.js';
import { startSilentBroker } from './silent-broker.js';

let broker: Mosquitto | undefined;
let source: MqttSource | undefined;
let peer: mqtt.MqttClient | undefined;
afterEach(async () => {
  await peer?.endAsync(true);
  await source?.stop();
  await broker?.stop();
  peer = source = broker = undefined;
});

/** The other side of the fleet: records every message under sg/gw1/ */
async function fleetPeer(url: string): Promise<{ client: mqtt.MqttClient; got: [string, unknown][]; wait(n: number): Promise<void> }> {
  const client = await testClient(url);
  const got: [string, unknown][] = [];
  client.on('message', (t, p) => got.push([t, JSON.parse(p.toString())]));
  await client.subscribeAsync(['sg/gw1/+/reading', 'sg/gw1/+/ack'], { qos: 1 });
  const wait = async (n: number) => {
    for (let i = 0; i < 150 && got.length < n; i++) await new Promise((r) => setTimeout(r, 20));
    expect(got.length).toBeGreaterThanOrEqual(n);
  };
  return { client, got, wait };
}

const fed = (extra: Record<string, unknown> = {}) => ({ federation: { enabled: true, prefix: 'sg' }, ...extra });

async function started(url: string, extra: Record<string, unknown> = {}): Promise<{ source: MqttSource; sink: RecordingSink }> {
  // a device with "#" would see our own federation topics: they must never become its readings
  const made = newSource(mqttConfig(url, fed(extra)), [device({ id: 'all', mqtt: { topic: '#', payload: 'string' } })]);
  source = made.source;
  await made.source.start();
  await made.sink.waitState('all', 'up');
  return made;
}

describe('federation', () => {
  it('publishes readings to <prefix>/<gateway>/<device>/reading as JSON, and never reads them back', async () => {
    broker = await startMosquitto();
    const { source: s, sink } = await started(broker.url);
    const p = await fleetPeer(broker.url);
    peer = p.client;
    const reading = { seq: 7, device: 'bench1', ts: 1700000000000, values: { temp: 21.5 } };
    s.publishReading(reading);
    s.publishReading({ seq: 8, device: 'bench1', ts: 1700000000001, raw: 'x', error: 'json: bad' });
    await p.wait(2);
    expect(p.got).toEqual([
      ['sg/gw1/bench1/reading', reading],
      ['sg/gw1/bench1/reading', { seq: 8, device: 'bench1', ts: 1700000000001, raw: 'x', error: 'json: bad' }],
    ]);
    // a marker on another topic arrives; our own federation traffic did not become readings of "all"
    await p.client.publishAsync('other/topic', 'marker');
    await sink.waitFor('marker', () => sink.readings.some((r) => r.raw === 'marker'));
    expect(sink.readings.map((r) => r.raw)).toEqual(['marker']);
  });

  it('hands commands from <prefix>/<gateway>/<device>/command to the handler and publishes the ack', async () => {
    broker = await startMosquitto();
    const { source: s } = await started(broker.url);
    const calls: [string, DeviceCommand][] = [];
    s.onFederatedCommand(async (dev, cmd) => {
      calls.push([dev, cmd]);
      if (dev === 'busy1') throw new CommandError('busy', 'too many commands queued', dev);
      return dev === 'bench1' ? { reply: 'PONG' } : {};
    });
    const p = await fleetPeer(broker.url);
    peer = p.client;
    const send = (dev: string, body: string) => p.client.publishAsync(`sg/gw1/${dev}/command`, body, { qos: 1 });
    await send('bench1', '{"id":"c1","line":"PING"}');
    await p.wait(1);
    await send('lamp', '{"id":2,"payload":{"on":true}}');
    await p.wait(2);
    await send('busy1', '{"id":"c3","line":"X"}');
    await p.wait(3);
    await send('bench1', 'not json');
    await p.wait(4);
    await send('bench1', '{"id":"c5","line":"A","payload":1}');
    await p.wait(5);
    await send('bench1', '{"id":"c6","line":7}');
    await p.wait(6);
    await send('bench1', '[1]');
    await p.wait(7);
    expect(calls).toEqual([
      ['bench1', { line: 'PING' }],
      ['lamp', { payload: { on: true } }],
      ['busy1', { line: 'X' }],
    ]);
    expect(p.got).toEqual([
      ['sg/gw1/bench1/ack', { id: 'c1', ok: true, reply: 'PONG' }],
      ['sg/gw1/lamp/ack', { id: 2, ok: true }],
      ['sg/gw1/busy1/ack', { id: 'c3', ok: false, error: { code: 'busy', message: 'too many commands queued' } }],
      ['sg/gw1/bench1/ack', { id: null, ok: false, error: { code: 'invalid', message: expect.stringMatching(/^command is not JSON: /) } }],
      ['sg/gw1/bench1/ack', { id: 'c5', ok: false, error: { code: 'invalid', message: 'a command has exactly one of "line" or "payload"' } }],
      ['sg/gw1/bench1/ack', { id: 'c6', ok: false, error: { code: 'invalid', message: '"line" must be a string' } }],
      ['sg/gw1/bench1/ack', { id: null, ok: false, error: { code: 'invalid', message: 'command must be a JSON object' } }],
    ]);
  });

  it('readings published while the broker is away wait in the bounded queue (oldest dropped, counted)', async () => {
    broker = await startMosquitto();
    // slow first retry so the test peer is back on the restarted broker before the gateway
    const { source: s, sink } = await started(broker.url, { publishQueue: 3, reconnect: { minMs: 1500, maxMs: 1500 } });
    await broker.stop();
    await sink.waitState('all', 'down', 3000);
    const dropped = (await metrics.mqttPublishDropped.get()).values[0]?.value ?? 0;
    for (let seq = 1; seq <= 5; seq++) s.publishReading({ seq, device: 'd', ts: seq, values: { seq } });
    expect((await metrics.mqttPublishDropped.get()).values[0]?.value).toBe(dropped + 2);
    await broker.restart();
    const p = await fleetPeer(broker.url);
    peer = p.client;
    await sink.waitState('all', 'up', 6000);
    await p.wait(3);
    expect(p.got.map(([, r]) => (r as { seq: number }).seq)).toEqual([3, 4, 5]);
  });

  it('a connected broker that stops reading: readings are dropped and counted once our socket backlog passes the cap', async () => {
    const stuck = await startSilentBroker({ stopReading: true });
    try {
      const { source: s } = await started(stuck.url);
      const dropped = async () => (await metrics.mqttPublishDropped.get()).values[0]?.value ?? 0;
      const before = await dropped();
      const big = 'x'.repeat(60_000);
      // 30 MB offered: more than loopback socket buffers plus the 1 MiB cap can hold
      for (let seq = 1; seq <= 500; seq++) s.publishReading({ seq, device: 'd', ts: seq, raw: big });
      expect(await dropped()).toBeGreaterThan(before);
      const backlog = (s as unknown as { connection: { client: { stream: { writableLength: number } } } }).connection.client.stream.writableLength;
      expect(backlog).toBeLessThanOrEqual(MAX_SOCKET_BACKLOG_BYTES + 61_000);
    } finally {
      await source?.stop();
      source = undefined;
      await stuck.close();
    }
  });
});
