/**
 * Two Fleet links in this process on a real Mosquitto (the multi-process tests are in
 * fleet.test.ts): presence, remote readings and states, remote commands, hostile payloads.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { mqttSchema } from '../../../src/config/schema.js';
import { Fleet } from '../../../src/fleet/fleet.js';
import { silentLogger } from '../../../src/log.js';
import { CommandError, type Device, type DeviceCommand, type DeviceStatus } from '../../../src/domain.js';
import { metrics } from '../../../src/metrics.js';
import { startMosquitto, type Mosquitto, type MosquittoOptions } from '../../helpers/mosquitto.js';
import { RecordingSink } from '../../helpers/recording-sink.js';

let broker: Mosquitto | undefined;
const links: Fleet[] = [];
let raw: mqtt.MqttClient | undefined;
afterEach(async () => {
  await raw?.endAsync(true);
  for (const l of links.splice(0)) await l.stop();
  await broker?.stop();
  raw = broker = undefined;
});

function link(url: string, gatewayId: string, extra: Record<string, unknown> = {}) {
  const sink = new RecordingSink();
  const calls: [string, DeviceCommand][] = [];
  /** the requesting gateway of each routed command */
  const origins: string[] = [];
  let status: DeviceStatus = { id: 'd', source: 'serial', state: 'up' };
  const local: Device = { id: 'd', source: 'serial', status: () => status, command: async () => ({}) };
  const config = mqttSchema.parse({
    url,
    keepaliveSeconds: 1,
    reconnect: { minMs: 100, maxMs: 200 },
    federation: { enabled: true, prefix: 'f', commandTimeoutMs: 1500, ...extra },
  });
  let changes = 0;
  const fleet = new Fleet({
    config,
    gatewayId,
    sink,
    logger: silentLogger(),
    localDevices: () => [local],
    devicesChanged: () => changes++,
    route: async (device, cmd, from) => {
      calls.push([device, cmd]);
      origins.push(from);
      if (cmd.line === 'NO') throw new CommandError('forbidden', 'line not allowed by commands.allow', device);
      return { reply: `OK ${cmd.line}` };
    },
  });
  links.push(fleet);
  const setStatus = (s: DeviceStatus) => {
    status = s;
    fleet.publishState(s);
  };
  return { fleet, sink, calls, origins, setStatus, changes: () => changes };
}

/** A broker and two gateways, X and Y, each with the other's device up. */
async function pair(opts: MosquittoOptions = {}) {
  broker = await startMosquitto(opts);
  const x = link(broker.url, 'X');
  const y = link(broker.url, 'Y');
  await Promise.all([x.fleet.start(), y.fleet.start()]);
  await y.sink.waitState('X/d', 'up');
  await x.sink.waitState('Y/d', 'up');
  return { x, y };
}

describe('Fleet (in process, real broker)', () => {
  it('presence, readings, states and commands between two gateways; a stop is a will with its reason', async () => {
    const { x, y } = await pair();
    expect(y.sink.lastState('X/d')).toEqual({ id: 'X/d', source: 'serial', gateway: 'X', state: 'up' });
    expect(y.sink.presences.at(-1)).toEqual({ id: 'X', state: 'online' });
    expect(y.fleet.devices().map((d) => d.id)).toEqual(['X/d']);
    expect(y.changes()).toBeGreaterThan(0);

    // ts as X's clock gave them (the two clocks agree: Y takes them as they are)
    const t = Date.now() - 50;
    x.fleet.publishReading({ seq: 5, device: 'd', ts: t, values: { t: 1 } });
    x.fleet.publishReading({ seq: 6, device: 'Y/d', ts: t + 1, values: { t: 2 } }); // a remote one: never published again
    x.fleet.publishReading({ seq: 7, device: 'd', ts: t + 2, raw: 'r', error: 'e' });
    await y.sink.waitFor('two readings', () => y.sink.readingsOf('X/d').length === 2);
    expect(y.sink.readingsOf('X/d')).toEqual([
      { device: 'X/d', ts: t, values: { t: 1 } },
      { device: 'X/d', ts: t + 2, raw: 'r', error: 'e' },
    ]);
    expect(y.sink.readings.filter((r) => r.device !== 'X/d')).toEqual([]);

    x.setStatus({ id: 'd', source: 'serial', state: 'down', reason: 'unplugged' });
    await y.sink.waitState('X/d', 'down', 5_000, 'unplugged');
    x.setStatus({ id: 'd', source: 'serial', state: 'up' });
    await y.sink.waitState('X/d', 'up');

    const remote = y.fleet.devices()[0]!;
    await expect(remote.command({ line: 'LED ON' })).resolves.toEqual({ reply: 'OK LED ON' });
    await expect(remote.command({ line: 'NO' })).rejects.toMatchObject({
      code: 'forbidden',
      message: 'gateway X: line not allowed by commands.allow',
    });
    expect(x.calls).toEqual([
      ['d', { line: 'LED ON' }],
      ['d', { line: 'NO' }],
    ]);

    await x.fleet.stop();
    await y.sink.waitState('X/d', 'down', 5_000, 'gateway X is offline: stopped');
    expect(y.sink.presences.at(-1)).toEqual({ id: 'X', state: 'offline', reason: 'stopped' });
    await expect(remote.command({ line: 'LED ON' })).rejects.toMatchObject({ code: 'device_unavailable' });
  });

  // A duplicate's will is fixed at CONNECT, before its probe tells it that it is one: killed while it
  // waited, its will replaced the live gateway's retained birth, and a gateway started afterwards
  // took the live one for offline ("connection lost") and did not list its devices.
  it('a duplicate id killed while it waits: a gateway started afterwards sees the live one online, with its devices', async () => {
    const { x } = await pair();
    raw = await mqtt.connectAsync(broker!.url, { protocolVersion: 5 });
    await raw.subscribeAsync('f/X/+');
    const dup = link(broker!.url, 'X');
    const seen = (what: (topic: string, body: string) => boolean) =>
      new Promise<void>((resolve) => raw!.on('message', (t, p) => what(t, p.toString()) && resolve()));
    const probed = seen((t, body) => t === 'f/X/probe' && body === dup.fleet.instance);
    const will = seen((t, body) => t === 'f/X/status' && body.includes(`"instance":"${dup.fleet.instance}"`));
    await dup.fleet.start();
    await probed;
    await new Promise((r) => setTimeout(r, 300)); // its probe came back: it waits for a will that does not come
    // kill -9: no DISCONNECT, so the broker publishes the duplicate's will, retained
    links.splice(links.indexOf(dup.fleet), 1);
    (dup.fleet as unknown as { client: mqtt.MqttClient }).client.end(true);
    await will;

    const z = link(broker!.url, 'Z');
    await z.fleet.start();
    await z.sink.waitState('X/d', 'up');
    await x.sink.waitState('Z/d', 'up'); // Z is live
    expect(z.sink.presences.filter((p) => p.id === 'X').at(-1)).toEqual({ id: 'X', state: 'online' });
    expect(z.fleet.devices().map((d) => d.id)).toContain('X/d');
    await expect(
      z.fleet
        .devices()
        .find((d) => d.id === 'X/d')!
        .command({ line: 'PING' }),
    ).resolves.toEqual({ reply: 'OK PING' });
    expect(x.calls).toEqual([['d', { line: 'PING' }]]);
  }, 15_000);

  it('the owner routes each remote command with its requesting gateway (per-origin rate limits)', async () => {
    broker = await startMosquitto();
    const x = link(broker.url, 'X');
    const y = link(broker.url, 'Y');
    const z = link(broker.url, 'Z');
    await Promise.all([x.fleet.start(), y.fleet.start(), z.fleet.start()]);
    // each is live once the others have its birth
    await y.sink.waitState('X/d', 'up');
    await z.sink.waitState('X/d', 'up');
    await x.sink.waitState('Y/d', 'up');
    await x.sink.waitState('Z/d', 'up');
    await expect(
      y.fleet
        .devices()
        .find((d) => d.id === 'X/d')!
        .command({ line: 'A' }),
    ).resolves.toEqual({ reply: 'OK A' });
    await expect(
      z.fleet
        .devices()
        .find((d) => d.id === 'X/d')!
        .command({ line: 'B' }),
    ).resolves.toEqual({ reply: 'OK B' });
    expect(x.origins).toEqual(['Y', 'Z']);
  });

  it('hostile or foreign payloads are dropped; an unanswered command times out; include filters remote devices', async () => {
    broker = await startMosquitto();
    const y = link(broker.url, 'Y', { include: '^X/' });
    await y.fleet.start();
    raw = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    const pub = (t: string, p: string, retain = false) => raw!.publishAsync(t, p, { qos: 1, retain });
    // a fake owner X that never answers, and a gateway Z the include filter hides
    await pub(
      'f/X/status',
      JSON.stringify({
        state: 'online',
        instance: 'i1',
        version: '1',
        devices: [
          { id: 'd', source: 'mqtt' },
          { id: 'bad/id', source: 'serial' },
          { id: 'e', source: 'x' },
        ],
      }),
      true,
    );
    await pub('f/X/d/state', JSON.stringify({ state: 'up' }), true);
    await pub('f/Z/status', JSON.stringify({ state: 'online', instance: 'z', devices: [{ id: 'd', source: 'serial' }] }), true);
    await y.sink.waitState('X/d', 'up');
    expect(y.fleet.devices().map((d) => d.id)).toEqual(['X/d']);
    for (const [t, p] of [
      ['f/X/status', '{'],
      ['f/X/status', '[]'],
      ['f/X/d/state', '{"state":"sideways"}'],
      ['f/X/d/reading', 'nope'],
      ['f/X/d/reading', '{"seq":"1","ts":1}'],
      ['f/X/d/reading', '{"seq":1,"ts":1,"values":[1]}'],
      ['f/X/d/reading', '{"seq":1,"ts":1,"values":{"a":{"b":1}}}'],
      ['f/X/d/reading', '{"seq":1,"ts":1,"values":{"v":1e400,"w":-1e400}}'],
      ['f/X/d/reading', '{"seq":1,"ts":1e300,"values":{"v":1}}'],
      ['f/X/d/ack', '{"id":"unknown","ok":true}'],
      ['f/X/d/ack', 'null'],
      ['f/X/a/b/c', '{}'],
    ] as const) {
      await pub(t, p);
    }
    await pub('f/X/d/reading', '{"seq":2,"ts":9,"values":{"__proto__":1,"ok":true}}');
    await pub('f/X/d/reading', '{"seq":2,"ts":9,"values":{"dup":true}}'); // not newer: shown once
    await y.sink.waitFor('the good reading', () => y.sink.readingsOf('X/d').length === 1);
    const values = y.sink.readingsOf('X/d')[0]!.values!;
    expect(Object.getPrototypeOf(values)).toBeNull();
    expect({ ...values }).toEqual({ ['__proto__']: 1, ok: true });

    const started = Date.now();
    await expect(y.fleet.devices()[0]!.command({ payload: { on: true } })).rejects.toMatchObject({ code: 'timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);

    // the will of X: its device goes down with the reason
    await pub('f/X/status', JSON.stringify({ state: 'offline', instance: 'i1', reason: 'connection lost' }), true);
    await y.sink.waitState('X/d', 'down', 5_000, 'gateway X is offline: connection lost');
    // an empty retained status (cleared): down as well, no throw
    await pub('f/X/status', '', true);
  });

  it('whatever is published on the fleet topics, a gateway holds its bounds: input per gateway, packet size, gateways, devices', async () => {
    broker = await startMosquitto();
    const y = link(broker.url, 'Y', { inputRate: { bytesPerSecond: 2_000, burstBytes: 4_000 } });
    await y.fleet.start();
    raw = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    const pub = (t: string, p: string | Buffer, qos: 0 | 1 = 1) => raw!.publishAsync(t, p, { qos });
    const birth = (instance: string, devices: string[], extra: object = {}) =>
      JSON.stringify({ state: 'online', instance, version: '1', devices: devices.map((id) => ({ id, source: 'mqtt' })), ...extra });
    const known = () => new Set(y.sink.presences.map((p) => p.id));

    // X floods readings of 2 KB: past its burst and rate they are dropped unparsed
    await pub('f/X/status', birth('x1', ['d']));
    await y.sink.waitFor('X', () => known().has('X'));
    const started = Date.now();
    for (let seq = 1; seq <= 200; seq++) await pub('f/X/d/reading', JSON.stringify({ seq, ts: seq, values: { pad: 'p'.repeat(2_000) } }), 0);
    // W, another gateway, has a budget of its own: its reading arrives after X's flood
    await pub('f/W/status', birth('w1', ['d']));
    await pub('f/W/d/reading', JSON.stringify({ seq: 1, ts: 1, values: { calm: true } }));
    await y.sink.waitFor("W's reading", () => y.sink.readingsOf('W/d').length === 1);
    const seconds = Math.ceil((Date.now() - started) / 1000);
    const shown = y.sink.readingsOf('X/d').length;
    expect(shown).toBeGreaterThanOrEqual(1);
    expect(shown).toBeLessThanOrEqual(2 + seconds);

    // a message over FLEET_MAX_MESSAGE_BYTES never reaches us (MQTT 5 Maximum Packet Size): H's
    // 2 MiB birth would pass its fresh budget and be parsed; the small birth after it arrives alone
    await pub('f/H/status', birth('h1', ['d'], { pad: 'p'.repeat(2 * 1024 * 1024) }));
    await pub('f/H2/status', birth('h2', ['d']));
    await y.sink.waitFor('H2', () => known().has('H2'));
    expect(known().has('H')).toBe(false);

    // births of 4 × 1,024 devices: the remote devices stop at FLEET_MAX_REMOTE_DEVICES (4,096)
    const many = Array.from({ length: 1024 }, (_, i) => `d${i}`);
    for (const g of ['B0', 'B1', 'B2', 'B3']) await pub(`f/${g}/status`, birth(g, many));
    await y.sink.waitFor('B3', () => known().has('B3'));
    expect(y.fleet.devices()).toHaveLength(4096);
    expect(y.fleet.devices().filter((d) => d.id.startsWith('B3/'))).toHaveLength(4096 - 3 - 3 * 1024);

    // 300 more gateways: at most FLEET_MAX_GATEWAYS (256) are kept track of, the later ones are ignored
    const room = 256 - known().size;
    for (let i = 0; i < 300; i++) await pub(`f/G${i}/status`, birth(`g${i}`, []), 0);
    await pub('f/Last/status', birth('last', []));
    // a marker from a known gateway, delivered after all of them: every G and Last was handled by then
    await pub('f/W/d/reading', JSON.stringify({ seq: 2, ts: 2, values: { calm: true } }));
    await y.sink.waitFor("W's marker", () => y.sink.readingsOf('W/d').length === 2);
    expect(known().has(`G${room - 1}`)).toBe(true);
    expect(known().size).toBe(256);
    expect(known().has(`G${room}`)).toBe(false);
    expect(known().has('Last')).toBe(false);
  });

  // Mosquitto 2.0 answers a PUBLISH over message_size_limit with a PUBACK of 0x95, which MQTT 5 does
  // not define for a PUBACK; mqtt-packet refuses it and then finds no packet again. Before, the link
  // was deaf until its keepalive gave up, and the persistent session replayed the refused message at
  // every reconnect: deaf again.
  it("a reading over the broker's message_size_limit is dropped once: the link reconnects without it and reads again", async () => {
    const { x, y } = await pair({ messageSizeLimit: 2000 });
    const dropped = async () => (await metrics.mqttPublishDropped.get()).values[0]?.value ?? 0;
    const before = await dropped();
    const offline = () => y.sink.presences.filter((p) => p.id === 'X' && p.state === 'offline').length;

    x.fleet.publishReading({ seq: 1, device: 'd', ts: 1, raw: 'r'.repeat(3000) });
    await y.sink.waitFor('X seen offline (the link ended) and online again', () => offline() === 1 && y.sink.presences.at(-1)?.state === 'online');
    x.fleet.publishReading({ seq: 2, device: 'd', ts: 2, raw: 's'.repeat(3100) }); // larger still: not sent
    const t = Date.now() - 50;
    x.fleet.publishReading({ seq: 3, device: 'd', ts: t, values: { t: 3 } });
    for (let i = 0; i < 5; i++) y.fleet.publishReading({ seq: 10 + i, device: 'd', ts: 10 + i, values: { n: i } });
    await x.sink.waitFor("Y's five readings", () => x.sink.readingsOf('Y/d').length === 5);
    await y.sink.waitFor("X's small reading", () => y.sink.readingsOf('X/d').length === 1);
    expect(y.sink.readingsOf('X/d')).toEqual([{ device: 'X/d', ts: t, values: { t: 3 } }]);
    // longer than 1.5 × the keepalive (1 s): the refused message was not replayed, the link did not end again
    await new Promise((r) => setTimeout(r, 2_500));
    expect(offline()).toBe(1);
    expect((await dropped()) - before).toBe(2);
  }, 20_000);

  it("a remote command over the fleet broker's message_size_limit is answered at once; one as large is never sent", async () => {
    const { x, y } = await pair({ messageSizeLimit: 2000 });
    const offline = () => y.sink.presences.filter((p) => p.id === 'X' && p.state === 'offline').length;
    const remote = () => x.fleet.devices().find((d) => d.id === 'Y/d')!;

    // the link's commandTimeoutMs is 1.5 s: a timeout would say so, and come later
    const refused = await remote()
      .command({ line: 'x'.repeat(2500) })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'device_unavailable',
      message: expect.stringMatching(/^the fleet broker refused the command \(\d+ bytes\) as too large/),
    });
    await y.sink.waitFor('X back online after its link ended', () => offline() === 1 && y.sink.presences.at(-1)?.state === 'online');
    await x.sink.waitState('Y/d', 'up');
    await expect(remote().command({ line: 'y'.repeat(2600) })).rejects.toMatchObject({
      code: 'device_unavailable',
      message: expect.stringMatching(/^the fleet broker refused a message of \d+ bytes as too large \(its message_size_limit\): not sent$/),
    });
    await expect(remote().command({ line: 'PING' })).resolves.toEqual({ reply: 'OK PING' });
    expect(y.calls.map(([, c]) => c.line)).toEqual(['PING']);
    expect(offline()).toBe(1);
  }, 20_000);

  // stop() publishes its 'stopped' status and waits for the PUBACK, then ends the client: messages
  // the broker delivers meanwhile must not reach the hub, which has left the fleet (a reload out of it)
  it('nothing of the fleet reaches the hub once stop() has begun, though the broker goes on delivering', async () => {
    const { x, y } = await pair();
    let seq = 0;
    const flood = setInterval(() => {
      for (let i = 0; i < 20; i++) x.fleet.publishReading({ seq: ++seq, device: 'd', ts: seq, values: { n: seq } });
    }, 2);
    try {
      await y.sink.waitFor('readings flowing', () => y.sink.readingsOf('X/d').length >= 50);
      const seen = { readings: y.sink.readings.length, states: y.sink.states.length, presences: y.sink.presences.length };
      const sentBefore = seq;
      await y.fleet.stop();
      expect(seq - sentBefore).toBeGreaterThan(0); // X kept publishing while Y stopped
      await new Promise((r) => setTimeout(r, 200));
      expect({ readings: y.sink.readings.length, states: y.sink.states.length, presences: y.sink.presences.length }).toEqual(seen);
    } finally {
      clearInterval(flood);
    }
  }, 20_000);
});
