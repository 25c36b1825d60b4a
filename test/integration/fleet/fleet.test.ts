/**
 * Fleet mode end to end: three real gateway processes on one real Mosquitto, each with its own
 * firmware-mock device; dashboards are real `ws` clients. The tests of one describe share the
 * fleet and run in order (the kill -9 ones last).
 */
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { ensureBuilt, until, type Dashboard } from '../daemon/daemon-helpers.js';
import { Fleet, VIEWER, type RunningGateway } from './fleet-helpers.js';

beforeAll(ensureBuilt, 200_000);

const stateOf = (d: Dashboard, device: string) =>
  d
    .of('state')
    .filter((m) => m.device === device)
    .at(-1);
const ackOf = (d: Dashboard, id: string) => d.of('ack').find((m) => m.id === id);
const readingsOf = (d: Dashboard, device: string) => d.of('reading').filter((m) => m.device === device);

describe('fleet: three gateways on one broker', () => {
  let broker: Mosquitto;
  let fleet: Fleet;
  let a: RunningGateway;
  let b: RunningGateway;
  let c: RunningGateway;
  let spy: mqtt.MqttClient;
  const published: string[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    fleet = new Fleet();
    spy = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    spy.on('message', (t) => published.push(t));
    await spy.subscribeAsync('fleet/#');
    [a, b, c] = await Promise.all([
      fleet.gateway({ id: 'A', brokerUrl: broker.url }),
      fleet.gateway({ id: 'B', brokerUrl: broker.url, allow: '^LED (ON|OFF)$' }),
      fleet.gateway({ id: 'C', brokerUrl: broker.url }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await spy?.endAsync(true);
    await fleet?.stop();
    await broker?.stop();
  });

  it("(a) a dashboard on A sees every device of the fleet and drives C's device, with C's reply in its ack", async () => {
    const d = await fleet.dashboard(a.ws);
    for (const id of ['B/dev', 'C/dev']) await until(`${id} up on A`, () => stateOf(d, id)?.state === 'up' || hasUp(d, id));
    for (const id of ['dev', 'B/dev', 'C/dev']) await until(`readings of ${id} on A`, () => readingsOf(d, id).length >= 3);
    // a later dashboard learns them from hello, each with its owning gateway and source
    const late = await fleet.dashboard(a.ws);
    const hello = late.of('hello')[0] as { devices: Record<string, unknown>[]; seq: number };
    expect(hello.devices).toEqual(
      expect.arrayContaining([
        { id: 'dev', source: 'serial', state: 'up' },
        { id: 'B/dev', source: 'serial', gateway: 'B', state: 'up' },
        { id: 'C/dev', source: 'serial', gateway: 'C', state: 'up' },
      ]),
    );
    // remote readings count in A's stream: one seq sequence, strictly increasing
    const seqs = d.of('reading').map((m) => m.seq as number);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);

    d.send({ type: 'command', id: 'led', device: 'C/dev', line: 'LED ON' });
    await until('the ack', () => !!ackOf(d, 'led'));
    expect(ackOf(d, 'led')).toEqual({ type: 'ack', id: 'led', ok: true, reply: 'OK LED ON' });
    expect(c.mock.commands.filter((l) => l === 'LED ON')).toHaveLength(1);
    expect(b.mock.commands).not.toContain('LED ON');
  }, 30_000);

  it('no loops, no echoes: a gateway publishes readings of its own devices only', () => {
    const readingTopics = new Set(published.filter((t) => t.endsWith('/reading')));
    expect([...readingTopics].sort()).toEqual(['fleet/A/dev/reading', 'fleet/B/dev/reading', 'fleet/C/dev/reading']);
  });

  it("(g) a viewer on A cannot command B's device; an operator on A cannot send what B's allow forbids", async () => {
    const viewer = await fleet.dashboard(a.ws, VIEWER);
    viewer.send({ type: 'command', id: 'v1', device: 'B/dev', line: 'LED ON' });
    const op = await fleet.dashboard(a.ws);
    await until('B/dev up on A', () => hasUp(op, 'B/dev') || stateOf(op, 'B/dev')?.state === 'up');
    op.send({ type: 'command', id: 'o1', device: 'B/dev', line: 'PING' });
    await until('both acks', () => !!ackOf(viewer, 'v1') && !!ackOf(op, 'o1'));
    expect(ackOf(viewer, 'v1')).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(ackOf(op, 'o1')).toMatchObject({ ok: false, error: { code: 'forbidden', message: expect.stringContaining('commands.allow') } });
    expect(b.mock.commands).toEqual([]);
  }, 20_000);

  it('(f) a second gateway with an id already online refuses federation and says why', async () => {
    const twin = await fleet.gateway({ id: 'A', brokerUrl: broker.url });
    const line = await twin.daemon.waitLog(/another gateway with id "A" is online/, 10_000);
    expect(line).toMatchObject({ code: 'SG_ERR_FLEET_DUPLICATE_ID', gateway: 'A' });
    // the first A goes on: its readings still reach B
    const d = await fleet.dashboard(b.ws);
    const before = readingsOf(d, 'A/dev').length;
    await until('A/dev readings on B', () => readingsOf(d, 'A/dev').length > before + 2);
    expect(twin.daemon.log('fleet federation live')).toBeUndefined();
    await twin.daemon.stop();
  }, 30_000);

  it('(e) a command in flight when its owner hangs: timeout at the origin, and the owner never runs it after', async () => {
    const d = await fleet.dashboard(a.ws);
    await until('B/dev up on A', () => hasUp(d, 'B/dev') || stateOf(d, 'B/dev')?.state === 'up');
    // B stops reading its socket: the broker still delivers the request into it (until the keepalive)
    b.daemon.proc.kill('SIGSTOP');
    try {
      d.send({ type: 'command', id: 'hung', device: 'B/dev', line: 'LED OFF' });
      await until('the ack', () => !!ackOf(d, 'hung'), 8_000);
      expect(ackOf(d, 'hung')).toMatchObject({ ok: false, error: { code: 'timeout' } });
    } finally {
      b.daemon.proc.kill('SIGCONT');
    }
    // B wakes up, reads the request it was sent, past its deadline: dropped, never executed
    await b.daemon.waitLog(/arrived after its deadline/, 10_000);
    // B is back and takes commands again; the one that timed out never ran
    await until('B/dev up on A', () => stateOf(d, 'B/dev')?.state !== 'down', 10_000);
    d.send({ type: 'command', id: 'after', device: 'B/dev', line: 'LED ON' });
    await until('the ack', () => !!ackOf(d, 'after'), 10_000);
    expect(ackOf(d, 'after')).toMatchObject({ ok: true, reply: 'OK LED ON' });
    expect(b.mock.commands).toEqual(['LED ON']);
  }, 40_000);

  it("(c) kill -9 of B: A sees B's device down within the keepalive window, up again when B restarts", async () => {
    const d = await fleet.dashboard(a.ws);
    await until('B/dev up on A', () => hasUp(d, 'B/dev') || stateOf(d, 'B/dev')?.state === 'up');
    b.daemon.proc.kill('SIGKILL');
    const killed = Date.now();
    // keepalive 1 s: the broker gives up after 1.5 s and publishes the will
    await until('B/dev down on A', () => stateOf(d, 'B/dev')?.state === 'down', 5_000);
    expect(Date.now() - killed).toBeLessThan(5_000);
    expect(stateOf(d, 'B/dev')?.reason).toMatch(/gateway B is offline/);

    // (e) a command to it now: device_unavailable, and never executed once B is back
    d.send({ type: 'command', id: 'late', device: 'B/dev', line: 'LED ON' });
    await until('the ack', () => !!ackOf(d, 'late'));
    expect(ackOf(d, 'late')).toMatchObject({ ok: false, error: { code: 'device_unavailable' } });

    await b.restart();
    await until('B/dev up again on A', () => stateOf(d, 'B/dev')?.state === 'up', 10_000);
    const n = readingsOf(d, 'B/dev').length;
    await until('B/dev readings again', () => readingsOf(d, 'B/dev').length > n + 2);
    await new Promise((r) => setTimeout(r, 500));
    expect(b.mock.commands).toEqual(['LED ON']); // the one of the test before, not 'late'
  }, 40_000);
});

describe('fleet: leaving it by a reload', () => {
  let broker: Mosquitto;
  let fleet: Fleet;

  beforeAll(async () => {
    broker = await startMosquitto();
    fleet = new Fleet();
  });
  afterAll(async () => {
    await fleet?.stop();
    await broker?.stop();
  });

  it("federation turned off on A: A's dashboards see B go offline and its device removed; a new one's hello has neither", async () => {
    const [a] = await Promise.all([fleet.gateway({ id: 'A', brokerUrl: broker.url }), fleet.gateway({ id: 'B', brokerUrl: broker.url })]);
    const d = await fleet.dashboard(a.ws);
    await until('B/dev up on A', () => stateOf(d, 'B/dev')?.state === 'up' || hasUp(d, 'B/dev'));
    await until('B online on A', () => d.of('presence').some((m) => m.gateway === 'B' && m.state === 'online') || helloGateway(d, 'B') === 'online');

    a.reload({ federation: false });
    await until('B offline on A', () => d.of('presence').some((m) => m.gateway === 'B' && m.state === 'offline'));
    expect(d.of('presence').at(-1)).toEqual({ type: 'presence', gateway: 'B', state: 'offline', reason: 'federation turned off on this gateway' });
    await until('B/dev removed on A', () => stateOf(d, 'B/dev')?.reason === 'removed from the configuration');
    expect(d.closed).toBeUndefined();
    const late = await fleet.dashboard(a.ws);
    const hello = late.of('hello')[0] as { devices: { id: string }[]; gateways?: unknown };
    expect(hello.gateways).toBeUndefined();
    expect(hello.devices.map((x) => x.id)).toEqual(['dev']);
  }, 30_000);
});

describe('fleet: two brokers joined by a bridge', () => {
  let brokers: Mosquitto[] = [];
  let fleet: Fleet;
  afterAll(async () => {
    await fleet?.stop();
    for (const b of brokers.reverse()) await b.stop();
  });

  it('(b) A on one broker, B on the other: readings, states and a command with its reply cross the bridge', async () => {
    const one = await startMosquitto();
    const two = await startMosquitto({ bridge: { port: one.port, topic: 'fleet' } });
    brokers = [one, two];
    fleet = new Fleet();
    const [a, b] = await Promise.all([fleet.gateway({ id: 'A', brokerUrl: one.url }), fleet.gateway({ id: 'B', brokerUrl: two.url })]);
    const onA = await fleet.dashboard(a.ws);
    const onB = await fleet.dashboard(b.ws);
    await until('B/dev readings on A', () => readingsOf(onA, 'B/dev').length >= 3, 15_000);
    await until('A/dev readings on B', () => readingsOf(onB, 'A/dev').length >= 3, 15_000);
    onA.send({ type: 'command', id: 'x', device: 'B/dev', line: 'LED ON' });
    await until('the ack', () => !!ackOf(onA, 'x'), 10_000);
    expect(ackOf(onA, 'x')).toEqual({ type: 'ack', id: 'x', ok: true, reply: 'OK LED ON' });
    expect(b.mock.commands).toEqual(['LED ON']);
    // B's death crosses the bridge too (its will, published by broker two)
    b.daemon.proc.kill('SIGKILL');
    await until('B/dev down on A', () => stateOf(onA, 'B/dev')?.state === 'down', 10_000);
  }, 60_000);
});

describe('fleet: the shipped Mosquitto ACL (systemd/mosquitto-fleet.acl)', () => {
  let broker: Mosquitto;
  let fleet: Fleet;
  let intruder: mqtt.MqttClient | undefined;
  afterAll(async () => {
    await intruder?.endAsync(true);
    await fleet?.stop();
    await broker?.stop();
  });

  it('each gateway writes only its own subtree and commands the others; a forged status or reading of B by A is refused', async () => {
    const acl = readFileSync(new URL('../../../systemd/mosquitto-fleet.acl', import.meta.url), 'utf8').replaceAll('serialgate/', 'fleet/');
    broker = await startMosquitto({ users: { A: 'pw-A', B: 'pw-B' }, acl });
    fleet = new Fleet();
    const [a, b] = await Promise.all([
      fleet.gateway({ id: 'A', brokerUrl: broker.url, username: 'A' }),
      fleet.gateway({ id: 'B', brokerUrl: broker.url, username: 'B' }),
    ]);
    const onA = await fleet.dashboard(a.ws);
    await until('B/dev readings on A', () => readingsOf(onA, 'B/dev').length >= 3, 15_000);
    onA.send({ type: 'command', id: 'x', device: 'B/dev', line: 'LED ON' });
    await until('the ack', () => !!ackOf(onA, 'x'), 10_000);
    expect(ackOf(onA, 'x')).toEqual({ type: 'ack', id: 'x', ok: true, reply: 'OK LED ON' });
    expect(b.mock.commands).toEqual(['LED ON']);

    // logged in as A, forge B's will and a reading of B: the broker drops both
    intruder = await mqtt.connectAsync(broker.url, { username: 'A', password: 'pw-A', protocolVersion: 5 });
    const forge = (topic: string, body: object, retain = false) => intruder!.publishAsync(topic, JSON.stringify(body), { qos: 1, retain });
    await expect(forge('fleet/B/status', { state: 'offline', instance: 'x', reason: 'forged' }, true)).rejects.toThrow(/Not authorized/);
    await expect(forge('fleet/B/dev/reading', { seq: 1e9, device: 'dev', ts: 1, values: { forged: 1 } })).rejects.toThrow(/Not authorized/);
    await forge('fleet/A/probe', {}); // its own subtree: allowed
    const n = readingsOf(onA, 'B/dev').length;
    await until('more B/dev readings', () => readingsOf(onA, 'B/dev').length > n + 3);
    expect(stateOf(onA, 'B/dev')?.state ?? 'up').toBe('up');
    expect(readingsOf(onA, 'B/dev').some((r) => (r.values as Record<string, unknown>).forged !== undefined)).toBe(false);
  }, 60_000);
});

describe('fleet: store and forward through a 10 s broker outage', () => {
  let broker: Mosquitto;
  let fleet: Fleet;
  afterAll(async () => {
    await fleet?.stop();
    await broker?.stop();
  });

  it('(d) A gets every reading B buffered, in order, none twice; with a small queue the drops are exactly what is missing', async () => {
    // persistence: the sessions (and what is queued in them) survive the broker restart, like the shipped config
    broker = await startMosquitto({ persistence: true });
    fleet = new Fleet();
    const [a, b, c] = await Promise.all([
      fleet.gateway({ id: 'A', brokerUrl: broker.url }),
      fleet.gateway({ id: 'B', brokerUrl: broker.url }),
      fleet.gateway({ id: 'C', brokerUrl: broker.url, queueMessages: 20 }),
    ]);
    const d = await fleet.dashboard(a.ws);
    // what B and C produced: their own dashboards see every line of their devices
    const [onB, onC] = await Promise.all([fleet.dashboard(b.ws), fleet.dashboard(c.ws)]);
    const produced = (own: Dashboard) => Math.max(...readingsOf(own, 'dev').map(counter));
    for (const id of ['B/dev', 'C/dev']) await until(`readings of ${id} on A`, () => readingsOf(d, id).length >= 3, 15_000);
    const bBefore = produced(onB);

    await broker.restart(10_000);
    // ~100 lines each during the outage (one per 100 ms): B's queue holds them all, C's only the last 20
    const bAfter = produced(onB);
    expect(bAfter - bBefore).toBeGreaterThan(60);
    await until('B caught up on A', () => readingsOf(d, 'B/dev').some((r) => counter(r) >= bAfter), 20_000);
    await until('C caught up on A', () => readingsOf(d, 'C/dev').some((r) => counter(r) >= produced(onC) - 5), 20_000);

    const bSeen = readingsOf(d, 'B/dev').map(counter);
    expect(bSeen).toEqual(range(bSeen[0]!, bSeen.at(-1)!));
    expect(await dropped(b.ws)).toBe(0);

    const cSeen = readingsOf(d, 'C/dev').map(counter);
    // in order and none twice; what is missing is exactly what C counted as dropped
    expect(cSeen).toEqual([...new Set(cSeen)].sort((x, y) => x - y));
    const missing = cSeen.at(-1)! - cSeen[0]! + 1 - cSeen.length;
    expect(missing).toBeGreaterThan(0);
    expect(await dropped(c.ws)).toBe(missing);
  }, 90_000);
});

describe('fleet: a gateway gone while the broker was away', () => {
  let broker: Mosquitto;
  let fleet: Fleet;
  afterAll(async () => {
    await fleet?.stop();
    await broker?.stop();
  });

  it('its devices stay down, but not "the fleet broker is unreachable" once the broker is back', async () => {
    // no persistence: the restarted broker has lost C's retained birth, and C's will was never published
    broker = await startMosquitto();
    fleet = new Fleet();
    const [a, c] = await Promise.all([fleet.gateway({ id: 'A', brokerUrl: broker.url }), fleet.gateway({ id: 'C', brokerUrl: broker.url })]);
    const d = await fleet.dashboard(a.ws);
    await until('C/dev readings on A', () => readingsOf(d, 'C/dev').length > 0, 15_000);
    await broker.stop('SIGKILL');
    await until('C/dev down on A', () => stateOf(d, 'C/dev')?.state === 'down');
    expect(stateOf(d, 'C/dev')?.reason).toBe('gateway C is offline: the fleet broker is unreachable from this gateway');
    await c.daemon.stop();
    await broker.restart();
    await until('A live again', () => a.daemon.logs.filter((l) => l.msg === 'fleet federation live').length === 2, 15_000);
    await until('C/dev says why', () => stateOf(d, 'C/dev')?.reason !== 'gateway C is offline: the fleet broker is unreachable from this gateway');
    expect(stateOf(d, 'C/dev')).toEqual({
      type: 'state',
      device: 'C/dev',
      state: 'down',
      reason: 'gateway C is offline: no status of it on the fleet broker since this gateway reconnected',
    });
    expect(d.of('presence').at(-1)).toEqual({
      type: 'presence',
      gateway: 'C',
      state: 'offline',
      reason: 'no status of it on the fleet broker since this gateway reconnected',
    });
  }, 60_000);
});

const counter = (r: Record<string, unknown>) => (r.values as { count: number }).count;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function dropped(ws: string): Promise<number> {
  const text = await (await fetch(ws.replace('ws', 'http').replace(/\/ws$/, '/metrics'))).text();
  return Number(/^serialgate_mqtt_publish_dropped_total (\d+)/m.exec(text)?.[1]);
}

function hasUp(d: Dashboard, id: string): boolean {
  const hello = d.of('hello')[0] as { devices: { id: string; state: string }[] } | undefined;
  return !stateOf(d, id) && hello?.devices.some((x) => x.id === id && x.state === 'up') === true;
}

/** the state of `gateway` in the dashboard's hello (fleet mode lists the other gateways) */
function helloGateway(d: Dashboard, gateway: string): string | undefined {
  const hello = d.of('hello')[0] as { gateways?: { id: string; state: string }[] } | undefined;
  return hello?.gateways?.find((g) => g.id === gateway)?.state;
}
