/** A device flooding its topic on a real Mosquitto: beyond its inputRate the payloads are dropped unparsed; another device loses nothing. */
import type mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { metrics } from '../../../src/metrics.js';
import type { MqttSource } from '../../../src/sources/mqtt/index.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { device, mqttConfig, newSource, startWithPublisher, stopAll, type RecordingSink } from './fixtures.js';

let broker: Mosquitto;
let source: MqttSource;
let sink: RecordingSink;
let pub: mqtt.MqttClient;

const devices = [
  // 1 byte/s after the burst: once its 4,000 bytes are spent nothing more passes during the test
  device({ id: 'flood', mqtt: { topic: 'flood/+' }, parser: { format: 'json' }, inputRate: { bytesPerSecond: 1, burstBytes: 4_000 } }),
  device({ id: 'calm', mqtt: { topic: 'calm' }, parser: { format: 'json' } }),
];

const dropped = async (id: string) => (await metrics.inputDropped.get()).values.find((v) => v.labels.device === id)?.value ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  broker = await startMosquitto();
  ({ source, sink } = newSource(mqttConfig(broker.url), devices));
  pub = await startWithPublisher(source, sink, devices, broker.url);
});

afterAll(() => stopAll(pub, source, broker));

it('payloads beyond the inputRate are dropped before parsing and counted; the other device gets every reading', async () => {
  // 200 payloads of exactly 100 bytes, with one for the calm device after every tenth
  for (let i = 0; i < 200; i++) {
    await pub.publishAsync('flood/a', JSON.stringify({ i, pad: '' }).padEnd(100, ' '));
    if (i % 10 === 9) await pub.publishAsync('calm', JSON.stringify({ n: (i + 1) / 10 }));
  }
  const flood = () => sink.readingsOf('flood').length;
  for (const deadline = Date.now() + 10_000; flood() + (await dropped('flood')) < 200 && Date.now() < deadline;) await sleep(20);
  await sink.waitFor('every calm reading', () => sink.readingsOf('calm').length === 20);
  // the burst is 40 payloads (a second of refill may add one), and they are the first 40
  const passed = sink.readingsOf('flood').map((r) => r.values?.['i']);
  expect(passed.slice(0, 40)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  expect(passed.length).toBeLessThanOrEqual(41);
  expect(await dropped('flood')).toBe(200 - passed.length);
  // dropped unparsed: none of them is a parse error or a reading with an error
  expect((await metrics.parseErrors.get()).values.find((v) => v.labels.device === 'flood')?.value ?? 0).toBe(0);
  expect(sink.readingsOf('calm').map((r) => r.values?.['n'])).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  expect(await dropped('calm')).toBe(0);
});
