/** A broker that refuses our credentials: down with "not authorized", retried at the slow auth pace. */
import { afterEach, describe, expect, it } from 'vitest';
import { metrics } from '../../../src/metrics.js';
import type { MqttSource } from '../../../src/sources/mqtt/index.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { device, mqttConfig, newSource } from './fixtures.js';

let broker: Mosquitto | undefined;
let source: MqttSource | undefined;
afterEach(async () => {
  await source?.stop();
  await broker?.stop();
  source = broker = undefined;
});

const devs = [device({ id: 's', mqtt: { topic: 's/#' } })];

async function reconnects(): Promise<number> {
  return (await metrics.reconnects.get()).values.find((v) => v.labels.source === 'mqtt')?.value ?? 0;
}

describe('MqttSource authentication failure', () => {
  it('wrong password → down "not authorized…", retried every authRetryMs (not the fast backoff), up once the broker accepts', async () => {
    broker = await startMosquitto({ users: { alice: 'right' } });
    // backoff would retry every 100-400 ms; the auth pace is 1 s
    const cfg = mqttConfig(broker.url, { username: 'alice', password: 'wrong', authRetryMs: 1000 });
    const made = newSource(cfg, devs);
    source = made.source;
    const sink = made.sink;
    const before = await reconnects();
    await source.start();
    await sink.waitFor('a refusal', () => sink.lastState('s')?.reason?.startsWith('not authorized') === true, 3000);
    expect(source.brokerState()).toBe('down');
    expect(sink.lastState('s')).toEqual({
      id: 's',
      source: 'mqtt',
      state: 'down',
      reason: expect.stringMatching(/^not authorized(: bad username or password)?$/),
    });
    await new Promise((r) => setTimeout(r, 1500));
    // within 1.5 s: one or two retries at the 1 s pace; the 100-400 ms backoff would have made 4 or more
    const retries = (await reconnects()) - before;
    expect(retries).toBeGreaterThanOrEqual(1);
    expect(retries).toBeLessThanOrEqual(2);
    expect(sink.states.filter((s) => s.id === 's').length).toBe(1); // the same refusal is not re-reported

    // the operator fixes the broker side: the next slow retry gets in
    const port = broker.port;
    await broker.stop();
    broker = await startMosquitto({ port, users: { alice: 'wrong' } });
    await sink.waitState('s', 'up', 5000);
  });

  it('anonymous client on a broker that requires users → down "not authorized"', async () => {
    broker = await startMosquitto({ users: { alice: 'right' } });
    const made = newSource(mqttConfig(broker.url, { authRetryMs: 60_000 }), devs);
    source = made.source;
    await source.start();
    await made.sink.waitState('s', 'down', 3000, 'not authorized');
  });
});
