/**
 * The source fault boundary with a throwing parser (issue 9, point 1), from a real Mosquitto: the
 * payload decoder is wrapped so that it throws on one payload, like a parser bug would. The
 * exception must not escape into mqtt.js's packet loop (it would end the process); the device goes
 * down with the reason, the other device and the broker connection go on, and the next good
 * payload brings the device up again.
 */
import type mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { metrics } from '../../../src/metrics.js';
import type { MqttSource } from '../../../src/sources/mqtt/index.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { device, mqttConfig, newSource, plain, startWithPublisher, stopAll, type RecordingSink } from './fixtures.js';

vi.mock('../../../src/sources/mqtt/payload.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/sources/mqtt/payload.js')>();
  return {
    ...real,
    createPayloadDecoder: (...args: Parameters<typeof real.createPayloadDecoder>) => {
      const decode = real.createPayloadDecoder(...args);
      return (payload: Uint8Array) => {
        if (Buffer.from(payload).toString() === 'parser-bug') throw new TypeError('parser bug');
        return decode(payload);
      };
    },
  };
});

const devices = [
  device({ id: 'probe', mqtt: { topic: 'probe/#', payload: 'number' } }),
  device({ id: 'other', mqtt: { topic: 'other', payload: 'number' } }),
];

let broker: Mosquitto;
let source: MqttSource;
let sink: RecordingSink;
let pub: mqtt.MqttClient;

beforeAll(async () => {
  broker = await startMosquitto();
  ({ source, sink } = newSource(mqttConfig(broker.url), devices));
  pub = await startWithPublisher(source, sink, devices, broker.url);
});

afterAll(() => stopAll(pub, source, broker));

describe('MQTT source fault boundary: a throwing parser', () => {
  it('device down with the reason, counted; the rest goes on; up again with the next good payload', async () => {
    const faults = (await metrics.faults.get()).values.find((v) => v.labels.boundary === 'source')?.value ?? 0;
    await pub.publishAsync('probe/1', 'parser-bug', { qos: 1 });
    await sink.waitState('probe', 'down', 5000, 'handling a message from "probe/1" failed: parser bug');
    await pub.publishAsync('other', '7', { qos: 1 });
    await sink.waitFor('a reading of other', () => sink.readingsOf('other').length === 1);
    expect(source.brokerState()).toBe('up');
    expect((await metrics.faults.get()).values.find((v) => v.labels.boundary === 'source')?.value).toBe(faults + 1);

    await pub.publishAsync('probe/1', '21.5', { qos: 1 });
    await sink.waitState('probe', 'up');
    expect(sink.readingsOf('probe').map((r) => plain(r.values))).toEqual([{ value: 21.5 }]);
  });
});
