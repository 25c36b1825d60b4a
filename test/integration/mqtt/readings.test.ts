/** Readings from a real Mosquitto: wildcard filters, the three payload formats, derived ids, garbage. */
import type mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics } from '../../../src/metrics.js';
import type { MqttSource } from '../../../src/sources/mqtt/index.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { device, mqttConfig, newSource, plain, startWithPublisher, stopAll, type RecordingSink } from './fixtures.js';

let broker: Mosquitto;
let source: MqttSource;
let sink: RecordingSink;
let pub: mqtt.MqttClient;

const devices = [
  device({ id: 'greenhouse', mqtt: { topic: 'sensors/+/temp', idFromTopicSegment: 1, payload: 'number' } }),
  device({ id: 'climate', mqtt: { topic: 'site/climate/#', payload: 'json' } }),
  device({ id: 'line', mqtt: { topic: 'raw/line', payload: 'string' }, parser: { format: 'kv' } }),
  device({ id: 'strict', mqtt: { topic: 'strict/+', payload: 'json' }, parser: { format: 'raw', onError: 'drop' } }),
  device({ id: 'text', mqtt: { topic: 'text/#', payload: 'string' } }),
];

async function count(metric: typeof metrics.parseErrors, id: string): Promise<number> {
  return (await metric.get()).values.find((v) => v.labels.device === id)?.value ?? 0;
}
const parseErrors = (id: string) => count(metrics.parseErrors, id);

/** Publish, then a marker on the same topic family, and wait for the marker: everything before it arrived. */
async function publishAndSettle(items: [string, string | Buffer][]): Promise<void> {
  const before = sink.readings.length;
  for (const [t, p] of items) await pub.publishAsync(t, p);
  const marker = `marker-${Math.random()}`;
  await pub.publishAsync('text/marker', marker);
  await sink.waitFor(`marker ${marker}`, () => sink.readings.slice(before).some((r) => r.raw === marker));
}

beforeAll(async () => {
  broker = await startMosquitto();
  ({ source, sink } = newSource(mqttConfig(broker.url, { maxPayloadBytes: 1024 }), devices));
  pub = await startWithPublisher(source, sink, devices, broker.url);
});

afterAll(() => stopAll(pub, source, broker));

describe('MqttSource readings', () => {
  it('reports the broker up and every device up with no reason', async () => {
    expect(source.brokerState()).toBe('up');
    expect(source.devices().map((d) => d.status())).toEqual(devices.map((d) => ({ id: d.id, source: 'mqtt', state: 'up' })));
    // to its sink and nowhere else: serialgate_device_up is derived by the hub (test/unit/hub/command-path.test.ts)
    expect((await metrics.deviceUp.get()).values.filter((v) => devices.some((d) => d.id === v.labels.device))).toEqual([]);
  });

  it('json payloads from a # filter become values (numbers stay numbers, nested keys dotted)', async () => {
    const counted = await count(metrics.readings, 'climate');
    await publishAndSettle([
      ['site/climate/a', '{"temp":21.5,"hum":40,"ok":true,"pos":{"x":1}}'],
      ['site/climate', '{"temp":22}'], // "#" matches the parent level too
    ]);
    const got = sink.readingsOf('climate');
    expect(got.map((r) => plain(r.values))).toEqual([{ temp: 21.5, hum: 40, ok: true, 'pos.x': 1 }, { temp: 22 }]);
    expect(got.every((r) => typeof r.ts === 'number' && r.raw === undefined && r.error === undefined)).toBe(true);
    expect((await count(metrics.readings, 'climate')) - counted).toBe(2);
  });

  it('number payloads become { value } under the id derived from the + level', async () => {
    await publishAndSettle([
      ['sensors/kitchen/temp', '21.5'],
      ['sensors/cellar/temp', ' -3 \n'],
      ['sensors/kitchen/humidity', '50'], // not matched by sensors/+/temp
    ]);
    expect(sink.readingsOf('greenhouse-kitchen').map((r) => plain(r.values))).toEqual([{ value: 21.5 }]);
    expect(sink.readingsOf('greenhouse-cellar').map((r) => plain(r.values))).toEqual([{ value: -3 }]);
    expect(sink.readings.some((r) => r.device.startsWith('greenhouse') && (r.values as { value?: number } | undefined)?.value === 50)).toBe(false);
  });

  it('string payloads go through the device parser (kv) or stay raw', async () => {
    await publishAndSettle([
      ['raw/line', 'temp=21.5 hum=40'],
      ['text/a', 'hello world'],
    ]);
    expect(sink.readingsOf('line').map((r) => plain(r.values))).toEqual([{ temp: 21.5, hum: 40 }]);
    expect(sink.readingsOf('text').some((r) => r.raw === 'hello world' && r.values === undefined)).toBe(true);
  });

  it('malformed payloads are counted, forwarded raw with the error, never fatal; good ones after still parse', async () => {
    const climateBefore = await parseErrors('climate');
    const greenBefore = await parseErrors('greenhouse');
    const before = sink.readings.length;
    await publishAndSettle([
      ['site/climate/x', '{"temp": 21.5'],
      ['site/climate/x', '[1,2,3]'],
      ['site/climate/x', '"just a string"'],
      ['site/climate/x', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])], // invalid UTF-8
      ['site/climate/x', '{"big":"' + 'x'.repeat(2000) + '"}'], // over maxPayloadBytes (1024): counted, no reading
      ['sensors/kitchen/temp', 'abc'],
      ['sensors/kitchen/temp', '0x10'],
      ['sensors/kitchen/temp', '1e400'],
      ['sensors/kitchen/temp', ' '],
      ['sensors/kitchen/temp', ''], // a retained message cleared: no reading, no error
      ['sensors/bad id!/temp', '1'], // derived id would be invalid
      ['site/climate/x', '{"temp":23}'],
      ['sensors/kitchen/temp', '24'],
    ]);
    const after = sink.readings.slice(before);
    const errors = after.filter((r) => r.error !== undefined).map((r) => [r.device, r.error, r.raw]);
    expect(errors).toEqual([
      ['climate', expect.stringMatching(/^json: /), '{"temp": 21.5'],
      ['climate', 'json: expected an object, got an array', '[1,2,3]'],
      ['climate', 'json: expected an object, got a string', '"just a string"'],
      ['climate', 'payload is not valid UTF-8', expect.any(String)],
      ['greenhouse-kitchen', 'number: expected a number, got "abc"', 'abc'],
      ['greenhouse-kitchen', 'number: expected a number, got "0x10"', '0x10'],
      ['greenhouse-kitchen', 'number: "1e400" is out of the range of a double', '1e400'],
      ['greenhouse-kitchen', 'number: expected a number, got ""', ' '],
      ['greenhouse', '"greenhouse-bad id!" (from topic level 1) is not a valid device id (1-64 of A-Z a-z 0-9 _ . -)', undefined],
    ]);
    expect(after.filter((r) => r.error === undefined && r.device !== 'text').map((r) => [r.device, plain(r.values)])).toEqual([
      ['climate', { temp: 23 }],
      ['greenhouse-kitchen', { value: 24 }],
    ]);
    expect((await parseErrors('climate')) - climateBefore).toBe(5);
    expect((await parseErrors('greenhouse')) - greenBefore).toBe(5);
    expect(source.brokerState()).toBe('up');
  });

  it('"__proto__" in a JSON payload is data, not a prototype', async () => {
    await publishAndSettle([['site/climate/p', '{"__proto__":{"polluted":1},"constructor":2,"t":1}']]);
    const r = sink.readingsOf('climate').at(-1)!;
    expect(Object.getPrototypeOf(r.values)).toBe(null);
    expect(Object.keys(r.values!)).toEqual(['__proto__.polluted', 'constructor', 't']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('onError: drop counts the broken payload and forwards nothing', async () => {
    const before = await parseErrors('strict');
    await publishAndSettle([
      ['strict/a', 'not json'],
      ['strict/a', '{"ok":1}'],
    ]);
    expect(sink.readingsOf('strict').map((r) => [plain(r.values), r.error])).toEqual([[{ ok: 1 }, undefined]]);
    expect((await parseErrors('strict')) - before).toBe(1);
  });

  it('a consumer that throws does not stop the source: later messages still arrive', async () => {
    const made = newSource(mqttConfig(broker.url), [device({ id: 'boom', mqtt: { topic: 'boom/#', payload: 'string' } })]);
    const seen: string[] = [];
    const reading = made.sink.reading.bind(made.sink);
    made.sink.reading = (r) => {
      seen.push(r.raw!);
      if (r.raw === 'throw') throw new Error('consumer bug');
      reading(r);
    };
    try {
      await made.source.start();
      await made.sink.waitState('boom', 'up');
      await pub.publishAsync('boom/a', 'throw');
      await pub.publishAsync('boom/a', 'after');
      await made.sink.waitFor('the reading after the throw', () => made.sink.readings.some((r) => r.raw === 'after'));
      expect(seen).toEqual(['throw', 'after']);
      expect(made.source.brokerState()).toBe('up');
    } finally {
      await made.source.stop();
    }
  });
});
