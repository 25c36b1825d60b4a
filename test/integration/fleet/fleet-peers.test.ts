/**
 * Fleet mode against a hostile peer: a plain MQTT 5 client on the broker (no ACL, or any gateway's
 * credentials under the shipped one: every gateway may write `<prefix>/+/+/command`) publishing
 * on a real gateway's command topics. The gateway is a real process with a firmware-mock device.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { ensureBuilt, until } from '../daemon/daemon-helpers.js';
import { Fleet, type RunningGateway } from './fleet-helpers.js';

beforeAll(ensureBuilt, 200_000);

interface SeenAck {
  body: { id?: unknown; ok?: unknown; error?: { code?: unknown; message?: unknown }; reply?: unknown };
  correlation: Buffer | undefined;
}

describe("fleet: a peer publishing on a gateway's command topics", () => {
  let broker: Mosquitto;
  let fleet: Fleet;
  let peer: mqtt.MqttClient;
  const acks: SeenAck[] = [];
  const ackOf = (id: string) => acks.filter((a) => a.body.id === id);

  beforeAll(async () => {
    broker = await startMosquitto();
    fleet = new Fleet();
    peer = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    peer.on('message', (_t, payload, packet) => {
      acks.push({ body: JSON.parse(payload.toString()) as SeenAck['body'], correlation: packet.properties?.correlationData });
    });
    await peer.subscribeAsync('fleet/+/+/ack', { qos: 1 });
  }, 60_000);

  afterAll(async () => {
    await peer?.endAsync(true);
    await fleet?.stop();
    await broker?.stop();
  });

  const command = (gateway: string, id: string, correlation: Buffer, extra: object = {}) =>
    peer.publishAsync(`fleet/${gateway}/dev/command`, JSON.stringify({ id, from: 'peer', line: 'PING', deadline: Date.now() + 60_000, ...extra }), {
      qos: 1,
      properties: { correlationData: correlation },
    });

  it('correlation data longer than FLEET_MAX_CORRELATION_BYTES: acked invalid without it, never run; a short one runs', async () => {
    // the owner remembers each correlation until its deadline: 4,096 of 65,535 bytes held ~600 MB before
    const a = await fleet.gateway({ id: 'A', brokerUrl: broker.url });
    await a.daemon.waitLog('fleet federation live');
    await command('A', 'long', Buffer.alloc(65_535, 7));
    await until('the ack of the long one', () => ackOf('long').length > 0);
    expect(ackOf('long')).toEqual([
      {
        body: { id: 'long', ok: false, error: { code: 'invalid', message: expect.stringContaining('correlation data of 65535 bytes') } },
        correlation: undefined,
      },
    ]);

    await command('A', 'short', Buffer.from('0d5e6b1c-3f0a-4c1e-9d2b-7a8f9e0c1b2a'));
    await until('the ack of the short one', () => ackOf('short').length > 0);
    expect(ackOf('short')).toEqual([
      { body: { id: 'short', ok: true, reply: 'PONG' }, correlation: Buffer.from('0d5e6b1c-3f0a-4c1e-9d2b-7a8f9e0c1b2a') },
    ]);
    expect(a.mock.commands).toEqual(['PING']);
  }, 30_000);

  it('commands to a gateway beyond mqtt.federation.inputRate are dropped unparsed and counted, all origins together', async () => {
    // a small budget: the burst takes about one of these commands, the rest of a quick burst is over it
    const b: RunningGateway = await fleet.gateway({ id: 'B', brokerUrl: broker.url, inputRate: { bytesPerSecond: 1024, burstBytes: 4096 } });
    await b.daemon.waitLog('fleet federation live');
    const padding = 'x'.repeat(3000); // ignored by the owner: each command is answered once parsed
    const sent = 20;
    for (let i = 0; i < sent; i++) await command('B', `f${i}`, Buffer.from(`c${i}`), { padding });
    const answered = () => acks.filter((x) => String(x.body.id).startsWith('f')).length;
    await until('every command answered or dropped', async () => answered() + (await droppedCommands(b)) === sent);
    expect(await droppedCommands(b)).toBeGreaterThan(0);
    expect(answered()).toBeLessThan(sent);
    expect(b.daemon.log(/input over mqtt\.federation\.inputRate \(commands to this gateway\)/)).toMatchObject({
      code: 'SG_ERR_INPUT_RATE',
      device: '*/command',
    });
  }, 30_000);

  it("another gateway's device states and births cost FLEET_STATE_COST_BYTES a device against its inputRate, however small", async () => {
    // each state may be a message to every dashboard: 40-byte ones flipping up and down, 26,000 a
    // second within the default 1 MiB/s, held the loop for seconds
    const c = await fleet.gateway({ id: 'C', brokerUrl: broker.url, inputRate: { bytesPerSecond: 1024, burstBytes: 16_384 } });
    await c.daemon.waitLog('fleet federation live');
    const d = await fleet.dashboard(c.ws);
    const birth = (devices: string[]) =>
      JSON.stringify({ state: 'online', instance: 'i1', version: 'x', devices: devices.map((id) => ({ id, source: 'serial' })) });
    await peer.publishAsync('fleet/F/status', birth(['d0', 'd1', 'd2', 'd3']), { qos: 1 });
    await until('F/d3 listed on C', () => d.of('state').some((m) => m.device === 'F/d3'));
    const sent = 40;
    // each one a change: d0 up, d1 up, …, d0 down, …
    for (let k = 0; k < sent; k++)
      await peer.publishAsync(`fleet/F/d${k % 4}/state`, JSON.stringify({ state: (k >> 2) % 2 ? 'down' : 'up' }), { qos: 1 });
    const shown = () => d.of('state').filter((m) => String(m.device).startsWith('F/') && m.reason === undefined).length;
    await until('every state shown or dropped', async () => shown() + (await dropped(c, 'F/*')) === sent);
    expect(await dropped(c, 'F/*')).toBeGreaterThan(0);

    // births alternating two lists: each lists 8 devices, 8 KiB at least
    for (let k = 0; k < 10; k++) await peer.publishAsync('fleet/G/status', birth(Array.from({ length: 8 }, (_, i) => `l${k % 2}-${i}`)), { qos: 1 });
    await until('some births of G dropped', async () => (await dropped(c, 'G/*')) > 0);

    // a gateway without devices going online and offline: each is a `presence` message to every dashboard
    for (let k = 0; k < 20; k++) {
      const body = k % 2 ? { state: 'offline', instance: 'i1', reason: 'x' } : { state: 'online', instance: 'i1', version: 'x', devices: [] };
      await peer.publishAsync('fleet/H/status', JSON.stringify(body), { qos: 1 });
    }
    await until('some presences of H dropped', async () => (await dropped(c, 'H/*')) > 0);
    expect(c.daemon.proc.exitCode).toBeNull();
  }, 30_000);
});

async function dropped(g: RunningGateway, device: string): Promise<number> {
  const text = await (await fetch(g.ws.replace('ws', 'http').replace(/\/ws$/, '/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith(`serialgate_input_dropped_total{device="${device}"} `));
  return Number(line?.split(' ')[1] ?? 0);
}

async function droppedCommands(g: RunningGateway): Promise<number> {
  const text = await (await fetch(g.ws.replace('ws', 'http').replace(/\/ws$/, '/metrics'))).text();
  return Number(/^serialgate_input_dropped_total\{device="\*\/command"\} (\d+)/m.exec(text)?.[1] ?? 0);
}
