/**
 * What may become a reading, from a real Mosquitto (issue 9): never a command topic (points 8),
 * never an oversized payload (12), and a message whose handling throws takes its device down with
 * the reason instead of escaping into mqtt.js, and the device comes back with its next good
 * message (1). Every "nothing arrived" is checked after a marker that did arrive.
 */
import type mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics } from '../../../src/metrics.js';
import { createLogger } from '../../../src/log.js';
import { MqttSource } from '../../../src/sources/mqtt/index.js';
import type { ReadingInput } from '../../../src/domain.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { device, mqttConfig, RecordingSink, startWithPublisher, stopAll } from './fixtures.js';

/** A consumer with a bug: it throws on every reading that has a "boom" value. */
class FragileSink extends RecordingSink {
  override reading(r: ReadingInput): void {
    if (r.values && 'boom' in r.values) throw new Error('consumer bug');
    super.reading(r);
  }
}

const devices = [
  // the shipped example: the device's own command topic lies inside its own filter
  device({ id: 'greenhouse', mqtt: { topic: 'sensors/greenhouse/#', commandTopic: 'sensors/greenhouse/cmd' }, parser: { format: 'json' } }),
  // another device's command topic inside this one's filter
  device({ id: 'house', mqtt: { topic: 'house/#', payload: 'string' } }),
  device({ id: 'lamp', mqtt: { topic: 'lamp/state', commandTopic: 'house/lamp/set', payload: 'string' } }),
  device({ id: 'fragile', mqtt: { topic: 'fragile/#' } }),
];

let broker: Mosquitto;
let source: MqttSource;
let pub: mqtt.MqttClient;
const sink = new FragileSink();
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  broker = await startMosquitto();
  const logger = createLogger('info', { destination: { write: (line: string) => void logLines.push(JSON.parse(line)) } });
  source = new MqttSource(mqttConfig(broker.url, { maxPayloadBytes: 1024 }), devices, sink, logger, 'gw1');
  pub = await startWithPublisher(source, sink, devices, broker.url);
});

afterAll(() => stopAll(pub, source, broker));

const byId = (id: string) => source.devices().find((d) => d.id === id)!;
const parseErrors = async (id: string) => (await metrics.parseErrors.get()).values.find((v) => v.labels.device === id)?.value ?? 0;
const sourceFaults = async () => (await metrics.faults.get()).values.find((v) => v.labels.boundary === 'source')?.value ?? 0;

/** Publish a marker that is a reading of `id` and wait for it: everything published before has been handled. */
async function settle(topic: string, id: string): Promise<void> {
  const marker = `marker-${Math.random().toString(16).slice(2)}`;
  await pub.publishAsync(topic, JSON.stringify({ marker }), { qos: 1 });
  await sink.waitFor(`marker on ${topic}`, () => sink.readingsOf(id).some((r) => r.values?.marker === marker || r.raw?.includes(marker)));
}

describe('MQTT command topics are never readings', () => {
  it("a device's own commandTopic inside its filter: the gateway's command and anyone else's give no reading", async () => {
    const before = sink.readings.length;
    await expect(byId('greenhouse').command({ payload: { fan: 'on' } })).resolves.toEqual({});
    await pub.publishAsync('sensors/greenhouse/cmd', '{"fan":"off"}', { qos: 1 });
    await pub.publishAsync('sensors/greenhouse/temp', '{"t":21}', { qos: 1 });
    await settle('sensors/greenhouse/x', 'greenhouse');
    const got = sink.readings.slice(before).map((r) => ({ ...r.values }));
    expect(got).toEqual([{ t: 21 }, { marker: expect.any(String) }]);
  });

  it("another device's commandTopic inside a filter gives no reading either", async () => {
    const before = sink.readings.length;
    await expect(byId('lamp').command({ payload: 'ON' })).resolves.toEqual({});
    await pub.publishAsync('house/lamp/set', 'OFF', { qos: 1 });
    await settle('house/hall', 'house');
    expect(sink.readings.slice(before).map((r) => r.raw)).toEqual([expect.stringMatching(/^\{"marker":/)]);
  });
});

describe('MQTT payloads over mqtt.maxPayloadBytes', () => {
  it('are counted as parse errors and logged, never a reading (not even one with only an error)', async () => {
    const before = sink.readings.length;
    const errors = await parseErrors('greenhouse');
    await pub.publishAsync('sensors/greenhouse/big', JSON.stringify({ big: 'x'.repeat(2000) }), { qos: 1 });
    await settle('sensors/greenhouse/x', 'greenhouse');
    expect(sink.readings.slice(before).map((r) => Object.keys(r.values ?? {}))).toEqual([['marker']]);
    expect((await parseErrors('greenhouse')) - errors).toBe(1);
    expect(logLines).toContainEqual(
      expect.objectContaining({
        device: 'greenhouse',
        topic: 'sensors/greenhouse/big',
        error: 'payload of 2010 bytes exceeds mqtt.maxPayloadBytes (1024): dropped',
      }),
    );
  });
});

describe('MQTT payloads too big to hold', () => {
  // 4 MiB: over mqtt.maxPayloadBytes (1 KiB) plus the topic and properties we allow for (128 KiB)
  const huge = Buffer.alloc(4 * 1024 * 1024, 0x41);

  it('never reach the gateway: the broker drops them for us (MQTT 5 Maximum Packet Size); the connection stays up', async () => {
    const before = sink.readings.length;
    const errors = await parseErrors('greenhouse');
    const lost = sink.states.filter((s) => s.state === 'down').length;
    await pub.publishAsync('sensors/greenhouse/huge', huge, { qos: 1 });
    // what the broker sends after it arrives after it: had it come, it was counted by now
    await settle('sensors/greenhouse/x', 'greenhouse');
    expect(sink.readings.slice(before).map((r) => Object.keys(r.values ?? {}))).toEqual([['marker']]);
    expect((await parseErrors('greenhouse')) - errors).toBe(0);
    expect(sink.states.filter((s) => s.state === 'down').length).toBe(lost);
    expect(source.brokerState()).toBe('up');
  });

  it('a retained one is not delivered at connect either, so it cannot take the source down at every reconnect', async () => {
    await pub.publishAsync('huge/retained', huge, { qos: 1, retain: true });
    const devs = [device({ id: 'hugeonly', mqtt: { topic: 'huge/#' } })];
    const own = new RecordingSink();
    const second = new MqttSource(mqttConfig(broker.url, { maxPayloadBytes: 1024 }), devs, own, createLogger('silent'), 'gw2');
    try {
      await second.start();
      await own.waitState('hugeonly', 'up');
      const marker = `marker-${Math.random().toString(16).slice(2)}`;
      await pub.publishAsync('huge/x', JSON.stringify({ marker }), { qos: 1 });
      await own.waitFor('the marker', () => own.readingsOf('hugeonly').some((r) => r.raw?.includes(marker) || r.values?.marker === marker));
      expect(own.readingsOf('hugeonly')).toHaveLength(1);
      expect((await parseErrors('hugeonly')) ?? 0).toBe(0);
      expect(own.states.filter((st) => st.state === 'down' && st.id === 'hugeonly').length).toBeLessThanOrEqual(1); // the one before the first connect
      expect(second.brokerState()).toBe('up');
    } finally {
      await second.stop();
      await pub.publishAsync('huge/retained', '', { qos: 1, retain: true });
    }
  });
});

describe('MQTT source fault boundary', () => {
  it('a throwing reading consumer: device down with the reason, counted, logged once; up again with the next good message', async () => {
    const faults = await sourceFaults();
    await pub.publishAsync('fragile/a', '{"boom":1}', { qos: 1 });
    await sink.waitState('fragile', 'down', 5000, 'handling a message from "fragile/a" failed: consumer bug');
    await pub.publishAsync('fragile/a', '{"boom":2}', { qos: 1 });
    // the other devices and the client go on
    await settle('house/hall', 'house');
    expect(source.brokerState()).toBe('up');
    expect(byId('fragile').status().state).toBe('down');
    expect((await sourceFaults()) - faults).toBe(2);
    const faultLines = logLines.filter((l) => l.code === 'SG_ERR_SOURCE_FAULT');
    expect(faultLines).toEqual([expect.objectContaining({ device: 'fragile', topic: 'fragile/a', level: 50 })]);

    await settle('fragile/b', 'fragile');
    await sink.waitState('fragile', 'up');
    expect(byId('fragile').status()).toEqual({ id: 'fragile', source: 'mqtt', state: 'up' });
  });
});
