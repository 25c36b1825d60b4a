/**
 * Federated commands take the dashboards' one path, end to end: startGateway with a real
 * Mosquitto, commands published by a fleet peer to <prefix>/<gateway>/<device>/command, acks read
 * back. The same codes as a dashboard's ack, and the router's rate limit (hub.commandRate).
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { gatewayOnBroker } from './broker-gateway.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('federated commands through the gateway', () => {
  it('unknown_device, forbidden, rate_limited like a dashboard; counted in serialgate_commands_total', async () => {
    const { gw, brokerUrl } = await gatewayOnBroker(cleanups, {
      id: 'gw1',
      mqtt: { federation: { enabled: true, prefix: 'sg' } },
      hub: { commandRate: { perSecond: 0.001, burst: 2 } },
      devices: [{ id: 'lamp', mqtt: { topic: 'lamp/state', commandTopic: 'lamp/set' }, commands: { allow: '^(on|off)$' } }],
    });
    const peer = await mqtt.connectAsync(brokerUrl);
    cleanups.push(() => peer.endAsync(true));
    const acks = new Map<string, any>();
    peer.on('message', (_t, p) => {
      const ack = JSON.parse(p.toString());
      acks.set(ack.id, ack);
    });
    await peer.subscribeAsync('sg/gw1/+/ack', { qos: 1 });
    const ackOf = async (id: string) => {
      for (let i = 0; i < 250 && !acks.has(id); i++) await new Promise((r) => setTimeout(r, 20));
      return acks.get(id);
    };
    // wait for the gateway's broker connection (its command subscription) before publishing
    const up = async () => (await (await fetch(`${gw.url}/metrics`)).text()).includes('serialgate_device_up{device="lamp"} 1');
    for (let i = 0; i < 250 && !(await up()); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await up()).toBe(true);

    await peer.publishAsync('sg/gw1/nope/command', JSON.stringify({ id: 'c1', payload: 'on' }), { qos: 1 });
    expect(await ackOf('c1')).toEqual({ id: 'c1', ok: false, error: { code: 'unknown_device', message: 'no device "nope"' } });
    await peer.publishAsync('sg/gw1/lamp/command', JSON.stringify({ id: 'c2', payload: 'blink' }), { qos: 1 });
    expect(await ackOf('c2')).toEqual({ id: 'c2', ok: false, error: { code: 'forbidden', message: 'payload not allowed by commands.allow' } });
    // the burst of 2 is spent (c1 and c2 took a token each): the router refuses the next one
    await peer.publishAsync('sg/gw1/lamp/command', JSON.stringify({ id: 'c3', payload: 'on' }), { qos: 1 });
    expect(await ackOf('c3')).toMatchObject({ id: 'c3', ok: false, error: { code: 'rate_limited' } });

    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).toMatch(/serialgate_commands_total\{device="lamp",result="forbidden"\} 1/);
    expect(text).toMatch(/serialgate_commands_total\{device="lamp",result="rate_limited"\} 1/);
  });
});
