/**
 * A reload that changes MQTT topics, end to end: startGateway with a real Mosquitto, a real
 * publisher and `ws` dashboards. Derived ids the new filter cannot yield leave the snapshot; a
 * removed device leaves /metrics.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../../src/config/schema.js';
import { startGateway } from '../../../src/gateway.js';
import { silentLogger } from '../../../src/log.js';
import { startMosquitto } from '../../helpers/mosquitto.js';
import { Peer } from './peer.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function config(brokerUrl: string, roomTopic: string, withDoor: boolean): Config {
  return configSchema.parse({
    gateway: { id: 'reloadtest' },
    server: { host: '127.0.0.1', port: 0 },
    mqtt: { url: brokerUrl },
    devices: [
      { id: 'room', mqtt: { topic: roomTopic, idFromTopicSegment: 1 }, parser: { format: 'json' } },
      ...(withDoor ? [{ id: 'door', mqtt: { topic: 'door/state' }, parser: { format: 'json' } }] : []),
    ],
  });
}

/** the devices of a new dashboard's snapshot (it comes in the hello's write) */
async function snapshot(ws: string): Promise<string[]> {
  const p = await Peer.open(ws);
  cleanups.push(() => p.ws.terminate());
  await p.next('hello');
  await new Promise((r) => setTimeout(r, 100));
  return p
    .of('reading')
    .map((r) => r.device)
    .sort();
}

/** A broker, a gateway with room (sensors/+/temp) and door, a publisher and a watching dashboard. */
async function running() {
  const broker = await startMosquitto();
  cleanups.push(() => broker.stop());
  const gw = await startGateway(config(broker.url, 'sensors/+/temp', true), silentLogger());
  cleanups.push(() => gw.stop());
  const ws = `${gw.url.replace(/^http/, 'ws')}/ws`;
  const publisher = await mqtt.connectAsync(broker.url);
  cleanups.push(() => publisher.endAsync());
  const watcher = await Peer.open(ws);
  cleanups.push(() => watcher.ws.terminate());
  return { broker, gw, ws, publisher, watcher };
}

describe('reload with changed MQTT topics', () => {
  it('derived ids the new filter cannot yield leave the snapshot, the others stay; a removed device leaves /metrics', async () => {
    const { broker, gw, ws, publisher, watcher } = await running();
    await watcher.waitFor(
      'room and door up',
      () =>
        watcher.of('state').filter((s) => s.state === 'up').length + watcher.of('hello')[0]?.devices.filter((d: any) => d.state === 'up').length >= 2,
      10_000,
    );
    for (const t of ['sensors/kitchen/temp', 'sensors/cellar/temp', 'door/state']) await publisher.publishAsync(t, '{"v":1}');
    await watcher.waitFor('three readings', () => watcher.of('reading').length >= 3, 10_000);
    expect(await snapshot(ws)).toEqual(['door', 'room-cellar', 'room-kitchen']);
    expect(await (await fetch(`${gw.url}/metrics`)).text()).toMatch(/serialgate_readings_total\{device="door"\} 1/);

    await gw.reload(config(broker.url, 'sensors/kitchen/temp', false));
    expect(await snapshot(ws)).toEqual(['room-kitchen']);
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).not.toMatch(/device="door"/);
    expect(text).toMatch(/serialgate_readings_total\{device="room"\} 2/);
  });
});

describe('a reload the sources refuse', () => {
  it('an unreadable mqtt.tls.ca: the reload fails whole; the MQTT client, its device and the auth rules stay as they were', async () => {
    const { broker, gw, ws, publisher, watcher } = await running();
    const up = () =>
      watcher.of('state').some((s) => s.device === 'door' && s.state === 'up') ||
      watcher.of('hello')[0]?.devices.some((d: any) => d.id === 'door' && d.state === 'up');
    await watcher.waitFor('door up', up, 10_000);

    const next = config(broker.url, 'sensors/+/temp', true);
    next.mqtt!.tls = { ca: '/nonexistent/ca.pem', rejectUnauthorized: true };
    next.auth.anonymous = 'none';
    await expect(gw.reload(next)).rejects.toThrow(/mqtt\.tls\.ca.*cannot read "\/nonexistent\/ca\.pem"/);

    // the same client still delivers: no state change, the reading arrives
    await publisher.publishAsync('door/state', '{"open":1}');
    await watcher.waitFor('a door reading after the refused reload', () => watcher.of('reading').some((r) => r.device === 'door'), 10_000);
    expect(watcher.of('state').filter((s) => s.state === 'down')).toEqual([]);
    // the auth of the refused config is not in force: an anonymous dashboard is still a viewer
    const anon = await Peer.open(ws);
    cleanups.push(() => anon.ws.terminate());
    expect((await anon.next('hello')).role).toBe('viewer');
  });
});
