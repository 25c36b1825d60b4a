/** Broker loss and return with a real Mosquitto: down within seconds, up again, resubscribed. */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { metrics } from '../../../src/metrics.js';
import type { MqttSource } from '../../../src/sources/mqtt/index.js';
import { CommandError } from '../../../src/domain.js';
import { freePort, startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { device, mqttConfig, newSource, testClient, type RecordingSink } from './fixtures.js';

let broker: Mosquitto | undefined;
let source: MqttSource | undefined;
let pub: mqtt.MqttClient | undefined;

afterEach(async () => {
  await pub?.endAsync(true);
  await source?.stop();
  await broker?.stop();
  pub = source = broker = undefined;
});

const devs = [
  device({ id: 'a', mqtt: { topic: 'r/+/a', payload: 'json', commandTopic: 'r/cmd' } }),
  device({ id: 'b', mqtt: { topic: 'r/b', payload: 'number' } }),
];

async function reconnects(): Promise<number> {
  return (await metrics.reconnects.get()).values.find((v) => v.labels.source === 'mqtt')?.value ?? 0;
}

async function expectFlow(sink: RecordingSink, url: string, n: number): Promise<void> {
  pub = await testClient(url);
  await pub.publishAsync('r/x/a', JSON.stringify({ n }));
  await pub.publishAsync('r/b', String(n));
  await sink.waitFor(`reading ${n}`, () => sink.readingsOf('a').some((r) => (r.values as { n?: number }).n === n));
  await sink.waitFor(`number ${n}`, () => sink.readingsOf('b').some((r) => (r.values as { value?: number }).value === n));
  await pub.endAsync();
  pub = undefined;
}

describe('MqttSource broker loss', () => {
  it('broker killed mid-stream → every device down with the reason; restarted → up, resubscribed, readings flow again', async () => {
    broker = await startMosquitto();
    const made = newSource(mqttConfig(broker.url), devs);
    source = made.source;
    const sink = made.sink;
    await source.start();
    await sink.waitState('a', 'up');
    await sink.waitState('b', 'up');
    await expectFlow(sink, broker.url, 1);

    // a sensor keeps publishing while the broker dies under it
    const streamer = await testClient(broker.url);
    streamer.on('error', () => {});
    let sent = 0;
    const stream = setInterval(() => {
      if (streamer.connected) streamer.publish('r/s/a', JSON.stringify({ s: sent++ }));
    }, 10);
    await sink.waitFor('streamed readings', () => sink.readingsOf('a').length > 5);
    const before = await reconnects();
    await broker.stop('SIGKILL');
    clearInterval(stream);
    streamer.end(true);
    await sink.waitState('a', 'down', 3000);
    await sink.waitState('b', 'down', 3000);
    expect(source.brokerState()).toBe('down');
    expect(sink.lastState('a')!.reason).toMatch(/^(connection to the MQTT broker lost|broker unreachable: ECONNREFUSED 127\.0\.0\.1:\d+)$/);
    // the retries find nobody listening, and the reason says so
    const refused = `broker unreachable: ECONNREFUSED 127.0.0.1:${broker.port}`;
    await sink.waitState('a', 'down', 3000, refused);
    expect(source.devices().map((d) => d.status())).toEqual([
      { id: 'a', source: 'mqtt', state: 'down', reason: refused },
      { id: 'b', source: 'mqtt', state: 'down', reason: refused },
    ]);

    // a command while the broker is away fails at once, not after a timeout
    const err = await source
      .devices()[0]!
      .command({ payload: 'LED ON' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ code: 'device_unavailable', message: `MQTT broker is down: ${refused}`, device: 'a' });

    await broker.restart();
    await sink.waitState('a', 'up', 5000);
    await sink.waitState('b', 'up', 5000);
    expect(source.brokerState()).toBe('up');
    expect(await reconnects()).toBeGreaterThan(before);
    // a fresh broker knows no subscriptions: readings arriving proves we subscribed again
    await expectFlow(sink, broker.url, 2);
    // reported on every change of state or reason, never repeated on every retry
    const b = sink.states.filter((s) => s.id === 'b');
    expect(b.map((s) => s.state).filter((s, i, all) => s !== all[i - 1])).toEqual(['up', 'down', 'up']);
    expect(b.every((s, i) => i === 0 || s.state !== b[i - 1]!.state || s.reason !== b[i - 1]!.reason)).toBe(true);
  });

  /** the source back on a new connection after another client took its client id over */
  async function reconnected(sink: RecordingSink, url: string, clientId: string): Promise<void> {
    const ups = () => sink.states.filter((s) => s.id === 'b' && s.state === 'up').length;
    const before = ups();
    const thief = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId });
    await thief.endAsync(true);
    await sink.waitFor('b up on a new connection', () => ups() > before, 10_000);
  }

  it('a retained message is a reading once: a reconnect that delivers it again adds none; a new retained value is one', async () => {
    broker = await startMosquitto();
    pub = await testClient(broker.url);
    await pub.publishAsync('r/b', '7', { retain: true, qos: 1 });
    await pub.endAsync();
    pub = undefined;
    const made = newSource(mqttConfig(broker.url, { clientId: 'sg-retained-test' }), devs);
    source = made.source;
    const sink = made.sink;
    await source.start();
    const values = () => sink.readingsOf('b').map((r) => (r.values as { value: number }).value);
    await sink.waitFor('the retained value at the first subscribe', () => values().length === 1);
    expect(sink.lastState('b')?.state).toBe('up');
    expect(values()).toEqual([7]);

    // a new connection (its client id taken over, as by a second gateway run by mistake): the
    // broker delivers the retained message again at the new subscribe
    await reconnected(sink, broker.url, 'sg-retained-test');
    await expectFlow(sink, broker.url, 1); // the new subscription delivers: the retained 7 came before this
    expect(values()).toEqual([7, 1]);

    // a live retained update is a reading; delivered again after the next reconnect, it is not
    pub = await testClient(broker.url);
    await pub.publishAsync('r/b', '8', { retain: true, qos: 1 });
    await pub.endAsync();
    pub = undefined;
    await sink.waitFor('the retained update', () => values().length === 3);
    await reconnected(sink, broker.url, 'sg-retained-test');
    await expectFlow(sink, broker.url, 2);
    expect(values()).toEqual([7, 1, 8, 2]);
  }, 30_000);

  it('an empty payload (a retained message cleared) is no reading and no error; the value retained again later is news at the next subscribe', async () => {
    broker = await startMosquitto();
    pub = await testClient(broker.url);
    await pub.publishAsync('r/b', '7', { retain: true, qos: 1 });
    const made = newSource(mqttConfig(broker.url, { clientId: 'sg-cleared-test' }), devs);
    source = made.source;
    const sink = made.sink;
    await source.start();
    const values = () => sink.readingsOf('b').map((r) => (r.values as { value: number }).value);
    await sink.waitFor('the retained value at the first subscribe', () => values().length === 1);
    const parseErrors = async () => (await metrics.parseErrors.get()).values.find((v) => v.labels.device === 'b')?.value ?? 0;
    const errorsBefore = await parseErrors();

    // cleared, as MQTT clears a retained message: the broker passes the empty payload on
    await pub.publishAsync('r/b', '', { retain: true, qos: 1 });
    await pub.publishAsync('r/x/a', '{"after":1}', { qos: 1 });
    await sink.waitFor('a message after the clear', () => sink.readingsOf('a').length === 1);
    expect(sink.readingsOf('b')).toHaveLength(1);
    expect(await parseErrors()).toBe(errorsBefore);
    expect(sink.lastState('b')?.state).toBe('up');

    // while the gateway is away (its client id taken over), 7 is retained again: at the new
    // subscribe it is the topic's new value, not the one delivered before the clear
    const thief = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, clientId: 'sg-cleared-test', protocolVersion: 5 });
    await sink.waitState('b', 'down', 5_000);
    await thief.publishAsync('r/b', '7', { retain: true, qos: 1 });
    await thief.endAsync();
    await sink.waitFor('the value retained again', () => values().length === 2, 10_000);
    expect(values()).toEqual([7, 7]);
  }, 30_000);

  it('a retained message delivered before the SUBACK is handled is a reading of a device already up', async () => {
    broker = await startMosquitto();
    pub = await testClient(broker.url);
    // several retained topics: the broker sends them in the chunk of the SUBACK, and mqtt.js
    // runs the subscribe callback only microtasks later, after it emitted them
    for (let i = 0; i < 10; i++) await pub.publishAsync(`o/${i}`, String(i), { retain: true, qos: 1 });
    await pub.publishAsync('o/b', '7', { retain: true, qos: 1 });
    await pub.endAsync();
    pub = undefined;
    // `all` is subscribed first: its retained o/b also matches `one`, whose own SUBACK comes later
    const overlapping = [
      device({ id: 'all', mqtt: { topic: 'o/#', payload: 'number' } }),
      device({ id: 'one', mqtt: { topic: 'o/b', payload: 'number' } }),
    ];
    const made = newSource(mqttConfig(broker.url), overlapping);
    source = made.source;
    const sink = made.sink;
    const stateAtReading: string[] = [];
    const record = sink.reading.bind(sink);
    sink.reading = (r) => {
      stateAtReading.push(`${r.device} ${sink.lastState(r.device)?.state ?? 'down (never announced)'}`);
      record(r);
    };
    await source.start();
    await sink.waitFor('every retained message', () => sink.readingsOf('all').length === 11 && sink.readingsOf('one').length === 1);
    expect([...stateAtReading].sort()).toEqual([...Array<string>(11).fill('all up'), 'one up']);
    // each up once, not again when its SUBACK arrives
    expect(sink.states).toEqual([
      { id: 'all', source: 'mqtt', state: 'up' },
      { id: 'one', source: 'mqtt', state: 'up' },
    ]);
  });

  it('a connection taken over right after each CONNACK is reconnected ever more slowly, not at the first step each time', async () => {
    broker = await startMosquitto();
    // steps of 100, 200, 400, 800, 1600 ms; only a connection that lasts 1.6 s restarts them
    const made = newSource(mqttConfig(broker.url, { clientId: 'sg-taken-over', reconnect: { minMs: 100, maxMs: 1_600 } }), devs);
    source = made.source;
    const sink = made.sink;
    await source.start();
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      await sink.waitState('b', 'up', 5_000);
      // a second gateway started with the same mqtt.clientId by mistake: it takes the session over
      const thief = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, clientId: 'sg-taken-over', protocolVersion: 5 });
      await sink.waitState('b', 'down', 5_000);
      const lostAt = performance.now();
      await thief.endAsync(true);
      // (Mosquitto 2.0 closes the old connection without a DISCONNECT that would say why)
      expect(sink.lastState('b')!.reason).toBe('connection to the MQTT broker lost');
      await sink.waitState('b', 'up', 5_000);
      waits.push(performance.now() - lostAt);
    }
    // the fifth wait is at least half of its 1,600 ms step (50 ms of slack: the timer starts just
    // before the state is reported); a backoff restarted at every CONNACK waited 50-100 ms each time
    expect(waits[4]).toBeGreaterThanOrEqual(750);
  }, 30_000);

  it('starting while the broker is not there: down with the reason, then up when it appears', async () => {
    const port = await freePort();
    const made = newSource(mqttConfig(`mqtt://127.0.0.1:${port}`), devs);
    source = made.source;
    const sink = made.sink;
    expect(source.devices()[0]!.status()).toEqual({ id: 'a', source: 'mqtt', state: 'down', reason: 'connecting to the MQTT broker' });
    await source.start();
    await sink.waitState('a', 'down', 3000, `broker unreachable: ECONNREFUSED 127.0.0.1:${port}`);
    broker = await startMosquitto({ port });
    await sink.waitState('a', 'up', 5000);
    await expectFlow(sink, broker.url, 3);
  });

  it('stop() ends the client: no more reconnects, commands refused with shutting_down', async () => {
    const port = await freePort();
    const made = newSource(mqttConfig(`mqtt://127.0.0.1:${port}`), devs);
    source = made.source;
    await source.start();
    await made.sink.waitFor('a first failure', () => made.sink.states.length > 0, 3000);
    await source.stop();
    const n = await reconnects();
    await new Promise((r) => setTimeout(r, 600)); // longer than the 400 ms backoff cap of the test config
    expect(await reconnects()).toBe(n);
    await expect(source.devices()[0]!.command({ payload: 'x' })).rejects.toMatchObject({ code: 'shutting_down' });
  });
});
