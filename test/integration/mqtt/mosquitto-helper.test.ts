/** The broker helper itself: others rely on it starting, restarting on the same port, and stopping. */
import mqtt from 'mqtt';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';

let broker: Mosquitto | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

function connect(url: string, opts: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, ...opts });
    c.once('connect', () => resolve(c));
    c.once('error', (err) => (c.end(true), reject(err)));
  });
}

async function roundTrip(url: string): Promise<string> {
  const c = await connect(url);
  try {
    await c.subscribeAsync('t/#');
    const got = new Promise<string>((resolve) => c.once('message', (_t, p) => resolve(p.toString())));
    await c.publishAsync('t/a', 'hello');
    return await got;
  } finally {
    await c.endAsync();
  }
}

describe('startMosquitto', () => {
  it('starts on a free port, restarts on the same port, and stops', async () => {
    broker = await startMosquitto();
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    expect(await roundTrip(broker.url)).toBe('hello');
    const port = broker.port;
    await broker.restart();
    expect(broker.port).toBe(port);
    expect(await roundTrip(broker.url)).toBe('hello');
    await broker.stop();
    expect(await portOpen(port)).toBe(false);
    await broker.restart(); // after a stop, too
    expect(await roundTrip(broker.url)).toBe('hello');
  });

  it('with users, refuses anonymous and wrong passwords, accepts the right one', async () => {
    broker = await startMosquitto({ users: { alice: 's3cret' } });
    await expect(connect(broker.url)).rejects.toThrow(/Not authorized/i);
    await expect(connect(broker.url, { username: 'alice', password: 'wrong' })).rejects.toThrow(/Not authorized|Bad User Name or Password/i);
    const ok = await connect(broker.url, { username: 'alice', password: 's3cret' });
    await ok.endAsync();
  });
});
