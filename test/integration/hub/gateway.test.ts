/**
 * The hub end to end: startGateway with the firmware mock on a real PTY, a real Mosquitto for an
 * MQTT device, and `ws` dashboards.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Encoder, decode } from 'cbor-x';
import { startMock, type MockDevice } from '../../../firmware-mock/index.js';
import { configSchema, type Config } from '../../../src/config/schema.js';
import { startGateway, type Gateway } from '../../../src/gateway.js';
import { silentLogger } from '../../../src/log.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { uniqueLink } from '../../helpers/mock.js';
import { Peer } from './peer.js';

const OPERATOR = 'operator-token-for-hub-tests';
const VIEWER = 'viewer-token-for-hub-tests-xx';

let broker: Mosquitto;
let mock: MockDevice;
let gw: Gateway;
let ws: string;
let publisher: mqtt.MqttClient;

function config(link: string, brokerUrl: string): Config {
  return configSchema.parse({
    gateway: { id: 'hubtest' },
    server: { host: '127.0.0.1', port: 0, path: '/ws' },
    auth: {
      tokens: [
        { token: OPERATOR, role: 'operator' },
        { token: VIEWER, role: 'viewer' },
      ],
      anonymous: 'viewer',
    },
    mqtt: { url: brokerUrl },
    hub: { resumeBuffer: 20 },
    devices: [
      {
        id: 'mock1',
        serial: { path: link, baudRate: 115200 },
        parser: { format: 'kv' },
        // generous: a loaded CI machine must not turn a slow reply into a timeout
        commands: { reply: { match: '^(OK|ERR|PONG)', timeoutMs: 1500 } },
      },
      { id: 'green', mqtt: { topic: 'hubtest/green', commandTopic: 'hubtest/green/cmd' }, parser: { format: 'json' } },
    ],
  });
}

const op = () => Peer.open(ws, { headers: { authorization: `Bearer ${OPERATOR}` } });

beforeAll(async () => {
  broker = await startMosquitto();
  mock = await startMock({ link: uniqueLink(), format: 'kv', intervalMs: 40 });
  gw = await startGateway(config(mock.link, broker.url), silentLogger());
  ws = gw.url.replace('http', 'ws') + '/ws';
  publisher = await mqtt.connectAsync(broker.url);
  const p = await op();
  await p.waitFor(
    'mock1 and green up',
    () => {
      const states = new Map<string, string>(p.of('hello')[0].devices.map((d: any) => [d.id, d.state]));
      for (const s of p.of('state')) states.set(s.device, s.state);
      return states.get('mock1') === 'up' && states.get('green') === 'up';
    },
    10_000,
  );
  await p.close();
});

afterAll(async () => {
  await publisher?.endAsync();
  await gw?.stop();
  await mock?.stop();
  await broker?.stop();
});

describe('readings', () => {
  it('hello, then the last value of each device, then live readings (JSON)', async () => {
    await publisher.publishAsync('hubtest/green', JSON.stringify({ temp: 19.5 }));
    await new Promise((r) => setTimeout(r, 100));
    const p = await Peer.open(ws);
    await p.waitFor('live mock readings', () => p.of('reading').filter((m) => m.device === 'mock1').length >= 3);
    const hello = p.messages[0];
    expect(hello).toMatchObject({ type: 'hello', protocol: 1, gateway: 'hubtest', role: 'viewer' });
    expect(hello.devices).toEqual([
      { id: 'mock1', source: 'serial', state: 'up' },
      { id: 'green', source: 'mqtt', state: 'up' },
    ]);
    // the snapshot: the last value of each device, with seq ≤ hello.seq
    const snapshot = p.messages.slice(1, 3);
    expect(snapshot.map((m) => m.device).sort()).toEqual(['green', 'mock1']);
    expect(snapshot.every((m) => m.type === 'reading' && m.seq <= hello.seq)).toBe(true);
    expect(snapshot.find((m) => m.device === 'green').values).toEqual({ temp: 19.5 });
    const live = p.of('reading').filter((m) => m.seq > hello.seq);
    expect(live.length).toBeGreaterThan(0);
    expect(typeof live[0].values.temp).toBe('number');
    await p.close();
  });

  it('CBOR: binary frames that cbor-x decodes to the same readings', async () => {
    const raw: Buffer[] = [];
    const p = await Peer.open(ws, { protocols: ['serialgate.v1.cbor'] });
    expect(p.ws.protocol).toBe('serialgate.v1.cbor');
    p.ws.on('message', (data: Buffer, binary: boolean) => {
      expect(binary).toBe(true);
      raw.push(data);
    });
    await publisher.publishAsync('hubtest/green', JSON.stringify({ temp: 20.25, label: 'north' }));
    const r = await p.next('reading', (m) => m.device === 'green' && m.values.temp === 20.25);
    expect(r.values).toEqual({ temp: 20.25, label: 'north' });
    await p.waitFor('a live mock1 reading', () => raw.map((b) => decode(b)).some((m) => m.device === 'mock1'));
    expect(raw.map((b) => decode(b)).some((m) => m.device === 'mock1' && typeof m.values.temp === 'number')).toBe(true);
    await p.close();
  });

  it('a payload that does not parse reaches the dashboard as raw with its error; the next one parses', async () => {
    const p = await Peer.open(ws);
    await publisher.publishAsync('hubtest/green', '{"temp": 21.5,');
    await publisher.publishAsync('hubtest/green', JSON.stringify({ temp: 22.75 }));
    const bad = await p.next('reading', (m) => m.device === 'green' && m.raw === '{"temp": 21.5,');
    expect(bad.values).toBeUndefined();
    expect(typeof bad.error).toBe('string');
    expect(bad.error.length).toBeGreaterThan(0);
    const good = await p.next('reading', (m) => m.device === 'green' && m.values?.temp === 22.75);
    expect(good.seq).toBeGreaterThan(bad.seq);
    expect(good.error).toBeUndefined();
    await p.close();
  });

  it('JSON subprotocol is negotiated when offered; unknown-only protocols are refused', async () => {
    const p = await Peer.open(ws, { protocols: ['serialgate.v1.json'] });
    expect(p.ws.protocol).toBe('serialgate.v1.json');
    await p.close();
    await expect(Peer.open(ws, { protocols: ['mqtt'] })).rejects.toThrow('400');
  });
});

describe('commands', () => {
  it('LED ON → ack ok with the device reply "OK LED ON"', async () => {
    const p = await op();
    p.send({ type: 'command', id: 'led1', device: 'mock1', line: 'LED ON' });
    expect(await p.next('ack')).toEqual({ type: 'ack', id: 'led1', ok: true, reply: 'OK LED ON' });
    expect(mock.commands).toContain('LED ON');
    await p.close();
  });

  it('CBOR: a command in a binary frame is answered in CBOR; a text frame is bad_encoding', async () => {
    const p = await Peer.open(ws, { protocols: ['serialgate.v1.cbor', `bearer.${OPERATOR}`] });
    const encoder = new Encoder({ useRecords: false });
    p.ws.send(encoder.encode({ type: 'command', id: 'cb1', device: 'mock1', line: 'LED OFF' }));
    expect(await p.next('ack')).toEqual({ type: 'ack', id: 'cb1', ok: true, reply: 'OK LED OFF' });
    p.ws.send('{"type":"subscribe","devices":["*"]}');
    expect((await p.next('error')).error.code).toBe('bad_encoding');
    await p.close();
  });

  it('a command to the MQTT device arrives on its command topic', async () => {
    const sub = await mqtt.connectAsync(broker.url);
    const got = new Promise<string>((resolve) => sub.on('message', (_t, payload) => resolve(payload.toString())));
    await sub.subscribeAsync('hubtest/green/cmd', { qos: 1 });
    const p = await op();
    p.send({ type: 'command', id: 'g1', device: 'green', payload: { fan: 'on' } });
    expect(await p.next('ack')).toMatchObject({ type: 'ack', id: 'g1', ok: true });
    expect(JSON.parse(await got)).toEqual({ fan: 'on' });
    await sub.endAsync();
    await p.close();
  });

  it('viewer → forbidden', async () => {
    // the token rides along with a real protocol: clients fail a handshake where none was selected
    const p = await Peer.open(ws, { protocols: ['serialgate.v1.json', `bearer.${VIEWER}`] });
    expect((await p.next('hello')).role).toBe('viewer');
    p.send({ type: 'command', id: 'v1', device: 'mock1', line: 'LED ON' });
    expect(await p.next('ack')).toEqual({
      type: 'ack',
      id: 'v1',
      ok: false,
      error: { code: 'forbidden', message: 'commands need an operator token' },
    });
    // a viewer's refused commands cost acks as an operator's do: the same rate limit (burst 40)
    const reached = mock.commands.length;
    for (let i = 0; i < 60; i++) p.send({ type: 'command', id: `f${i}`, device: 'mock1', line: 'LED ON' });
    await p.waitFor('61 acks', () => p.of('ack').length === 61);
    const codes: string[] = p
      .of('ack')
      .slice(1)
      .map((a) => a.error.code);
    expect(codes.slice(0, 30)).toEqual(Array(30).fill('forbidden'));
    expect(codes.filter((c) => c === 'rate_limited').length).toBeGreaterThan(0);
    expect(new Set(codes)).toEqual(new Set(['forbidden', 'rate_limited']));
    expect(mock.commands.length).toBe(reached);
    await p.close();
  });

  it('a silent device → timeout', async () => {
    const p = await op();
    mock.setSilent(true);
    try {
      p.send({ type: 'command', id: 's1', device: 'mock1', line: 'PING' });
      expect(await p.next('ack')).toMatchObject({ type: 'ack', id: 's1', ok: false, error: { code: 'timeout' } });
    } finally {
      mock.setSilent(false);
    }
    await p.close();
  });

  it('unplugged → state down, then a command → device_unavailable at once; replug → up', async () => {
    const p = await op();
    await p.next('hello');
    await mock.unplug();
    try {
      await p.next('state', (m) => m.device === 'mock1' && m.state === 'down', 5_000);
      p.send({ type: 'command', id: 'u1', device: 'mock1', line: 'PING' });
      const ack = await p.next('ack');
      expect(ack).toMatchObject({ type: 'ack', id: 'u1', ok: false, error: { code: 'device_unavailable' } });
    } finally {
      await mock.replug();
    }
    await p.next('state', (m) => m.device === 'mock1' && m.state === 'up', 15_000);
    await p.close();
  });
});

describe('handshake security', () => {
  it('wrong token → 401 (header, subprotocol)', async () => {
    await expect(Peer.open(ws, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).rejects.toThrow('401');
    await expect(Peer.open(ws, { protocols: ['serialgate.v1.json', 'bearer.wrong-token-wrong'] })).rejects.toThrow('401');
  });

  it("a reverse proxy's Basic login in Authorization is not the gateway's: the bearer.<token> next to it counts, without one the anonymous role", async () => {
    const basic = { authorization: `Basic ${Buffer.from('alice:proxy-password').toString('base64')}` };
    const withToken = await Peer.open(ws, { headers: basic, protocols: ['serialgate.v1.json', `bearer.${OPERATOR}`] });
    expect((await withToken.next('hello')).role).toBe('operator');
    await withToken.close();
    const anonymous = await Peer.open(ws, { headers: basic });
    expect((await anonymous.next('hello')).role).toBe('viewer');
    await anonymous.close();
  });

  it('bearer.<token> is never echoed back', async () => {
    const p = await Peer.open(ws, { protocols: ['serialgate.v1.json', `bearer.${OPERATOR}`] });
    expect(p.ws.protocol).toBe('serialgate.v1.json');
    expect((await p.next('hello')).role).toBe('operator');
    await p.close();
  });

  it('foreign Origin → 403; same origin passes', async () => {
    await expect(Peer.open(ws, { headers: { origin: 'https://evil.example' } })).rejects.toThrow('403');
    const same = await Peer.open(ws, { headers: { origin: gw.url } });
    await same.close();
  });

  it('a Host that is not a loopback name (DNS rebinding) → 403', async () => {
    await expect(Peer.open(ws, { headers: { host: 'evil.example:80' } })).rejects.toThrow('403');
  });
});

describe('resume', () => {
  it('after a reconnect, subscribe with since returns exactly the missed readings, once each', async () => {
    const watcher = await Peer.open(ws);
    const first = await Peer.open(ws);
    const { epoch } = await first.next('hello');
    await first.waitFor('a few readings', () => first.of('reading').length >= 4);
    await first.close();
    const lastSeen = Math.max(...first.of('reading').map((m) => m.seq));
    // readings happen while it is away
    await watcher.waitFor('5 readings after the disconnect', () => watcher.of('reading').some((m) => m.seq >= lastSeen + 5));
    await watcher.close();

    const again = await Peer.open(ws);
    const hello = await again.next('hello');
    expect(hello.seq).toBeGreaterThan(lastSeen + 2);
    expect(hello.epoch).toBe(epoch);
    again.send({ type: 'subscribe', devices: ['*'], since: lastSeen, epoch });
    await again.waitFor('readings past the reconnect', () => again.of('reading').some((m) => m.seq > hello.seq + 2));
    const after = again
      .of('reading')
      .map((m) => m.seq)
      .filter((s) => s > lastSeen);
    const top = Math.max(...after);
    expect([...after].sort((a, b) => a - b)).toEqual(Array.from({ length: top - lastSeen }, (_, i) => lastSeen + 1 + i));
    expect(again.of('gap')).toEqual([]);
    expect(again.of('reset')).toEqual([]);
    await again.close();
  });

  it('a gap when the buffer no longer holds them', async () => {
    const p = await Peer.open(ws);
    const { epoch } = await p.next('hello');
    await p.waitFor('more readings than the ring holds (20)', () => p.of('reading').some((m) => m.seq > 30), 10_000);
    const before = Math.max(...p.of('reading').map((m) => m.seq));
    p.send({ type: 'subscribe', devices: ['*'], since: 1, epoch });
    const gap = await p.next('gap');
    const after = Math.max(...p.of('reading').map((m) => m.seq));
    // everything from 2 up to just before the oldest of the 20 held readings
    expect(gap.from).toBe(2);
    expect(gap.to).toBeGreaterThanOrEqual(before - 20);
    expect(gap.to).toBeLessThanOrEqual(after - 20);
    await p.close();
  }, 20_000);
});

describe('bad client messages', () => {
  const cases: [string, string | Buffer, string][] = [
    ['not JSON', '{"type":', 'malformed'],
    ['not an object', '[1]', 'not_object'],
    ['unknown type', '{"type":"reboot"}', 'unknown_type'],
    ['wrong field types', '{"type":"subscribe","devices":"all"}', 'invalid_field'],
    ['nested 10,000 deep', '{"type":"command","id":"d","device":"green","payload":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}', 'too_deep'],
    ['__proto__ key', '{"type":"subscribe","devices":["*"],"__proto__":{"admin":true}}', 'forbidden_key'],
    ['binary frame on the JSON protocol', Buffer.from('{"type":"subscribe","devices":["*"]}'), 'bad_encoding'],
  ];

  it('each is answered with error and the connection stays open', async () => {
    const p = await op();
    await p.next('hello');
    for (const [, data, code] of cases) {
      const before = p.of('error').length;
      p.ws.send(data);
      await p.waitFor(`error ${code}`, () => p.of('error').length > before);
      expect(p.of('error').at(-1)).toEqual({ type: 'error', error: { code, message: expect.any(String) } });
    }
    p.send({ type: 'command', id: 'still-open', device: 'mock1', line: 'PING' });
    expect(await p.next('ack')).toMatchObject({ id: 'still-open', ok: true, reply: 'PONG' });
    expect(p.closed).toBeUndefined();
    await p.close();
  });

  it('quoted input is cut before a surrogate pair, never inside it: the same well-formed text in JSON and CBOR', async () => {
    const long = `${'a'.repeat(63)}😀`;
    const cut = `${'a'.repeat(63)}…`;
    const json = await op();
    await json.next('hello');
    json.send({ type: long });
    expect((await json.next('error')).error.message).toBe(`unknown message type "${cut}"`);
    json.send({ type: 'command', id: 'u1', device: long, line: 'PING' });
    expect((await json.next('ack')).error.message).toBe(`no device "${cut}"`);
    await json.close();
    const cbor = await Peer.open(ws, { protocols: ['serialgate.v1.cbor', `bearer.${OPERATOR}`] });
    await cbor.next('hello');
    const encoder = new Encoder({ useRecords: false });
    cbor.ws.send(encoder.encode({ type: long }));
    expect((await cbor.next('error')).error.message).toBe(`unknown message type "${cut}"`);
    cbor.ws.send(encoder.encode({ type: 'command', id: 'u1', device: long, line: 'PING' }));
    expect((await cbor.next('ack')).error.message).toBe(`no device "${cut}"`);
    await cbor.close();
  });

  it('a flood → close 1008', async () => {
    const p = await op();
    await p.next('hello');
    for (let i = 0; i < 30; i++) p.ws.send('nope');
    await p.waitFor('close', () => p.closed !== undefined);
    expect(p.closed).toEqual({ code: 1008, reason: 'too many bad messages' });
  });
});

describe('reload', () => {
  it('applies device changes while dashboards stay connected', async () => {
    const p = await op();
    await p.next('hello');
    const base = config(mock.link, broker.url);
    const withBlue = configSchema.parse({
      ...base,
      devices: [...base.devices, { id: 'blue', mqtt: { topic: 'hubtest/blue' }, parser: { format: 'json' } }],
    });
    await gw.reload(withBlue);
    await p.next('state', (m) => m.device === 'blue' && m.state === 'up', 10_000);
    await publisher.publishAsync('hubtest/blue', JSON.stringify({ level: 3 }));
    expect((await p.next('reading', (m) => m.device === 'blue')).values).toEqual({ level: 3 });
    // the serial device was not touched: its readings keep coming on the same connection
    const seen = p.of('reading').filter((m) => m.device === 'mock1').length;
    await p.waitFor('more mock1 readings', () => p.of('reading').filter((m) => m.device === 'mock1').length > seen + 2);

    await gw.reload(base);
    await p.next('state', (m) => m.device === 'blue' && m.reason === 'removed from the configuration');
    const late = await op();
    expect((await late.next('hello')).devices.map((d: any) => d.id)).toEqual(['mock1', 'green']);
    await late.close();
    expect(p.closed).toBeUndefined();
    await p.close();
  }, 30_000);

  it('a command pending on a device the reload reopens is device_unavailable with why, not shutting_down; the gateway goes on', async () => {
    const p = await op();
    await p.next('hello');
    const base = config(mock.link, broker.url);
    const changed = configSchema.parse({
      ...base,
      devices: base.devices.map((d) => (d.id === 'mock1' ? { ...d, parser: { format: 'kv', keepRaw: true } } : d)),
    });
    mock.setSilent(true);
    try {
      p.send({ type: 'command', id: 'r1', device: 'mock1', line: 'PING' });
      await new Promise((r) => setTimeout(r, 100));
      await gw.reload(changed);
      expect(await p.next('ack', (a) => a.id === 'r1')).toEqual({
        type: 'ack',
        id: 'r1',
        ok: false,
        error: { code: 'device_unavailable', message: 'reopened by a reload that changed its configuration' },
      });
    } finally {
      mock.setSilent(false);
    }
    await p.next('state', (m) => m.device === 'mock1' && m.state === 'up', 10_000);
    p.send({ type: 'command', id: 'r2', device: 'mock1', line: 'PING' });
    expect(await p.next('ack', (a) => a.id === 'r2')).toMatchObject({ ok: true, reply: 'PONG' });
    await gw.reload(base);
    await p.close();
  }, 30_000);
});
