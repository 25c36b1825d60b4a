/**
 * Issue 9, "one message kills the process": values outside the JSON data model sent by an operator
 * to the real daemon (`node dist/src/cli.cjs run`) with a serial device on a PTY (firmware mock) and
 * an MQTT device on a real Mosquitto, over real WebSocket connections (`ws`). Each is answered with
 * an `error`, the process lives on, other dashboards are still served, and nothing reaches a device.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Encoder } from 'cbor-x';
import type mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMock, type MockDevice } from '../../../firmware-mock/index.js';
import { CommandError } from '../../../src/domain.js';
import { uniqueLink } from '../../helpers/mock.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { Daemon, ensureBuilt } from '../daemon/daemon-helpers.js';
import { device, mqttConfig, newSource, testClient } from '../mqtt/fixtures.js';
import { Peer } from './peer.js';

const CMD_TOPIC = 'hostile/green/cmd';
// what a CBOR client library writes for these values: BigInts as 64-bit integers or bignums
const cbor = new Encoder({ useRecords: false });

let broker: Mosquitto;
let mock: MockDevice;
let daemon: Daemon;
let dir: string;
let url: string;
let sub: mqtt.MqttClient;
const published: string[] = [];

beforeAll(async () => {
  await ensureBuilt();
  broker = await startMosquitto();
  mock = await startMock({ link: uniqueLink(), format: 'kv', intervalMs: 50 });
  sub = await testClient(broker.url);
  await sub.subscribeAsync(CMD_TOPIC, { qos: 1 });
  sub.on('message', (_t, p) => published.push(p.toString()));
  dir = mkdtempSync(path.join(tmpdir(), 'sg-hostile-'));
  const file = path.join(dir, 'serialgate.yaml');
  writeFileSync(
    file,
    [
      'server: { host: 127.0.0.1, port: 0 }',
      'auth: { anonymous: operator }',
      `mqtt: { url: "${broker.url}" }`,
      'devices:',
      '  - id: bench',
      `    serial: { path: ${mock.link}, baudRate: 115200 }`,
      '    parser: { format: kv }',
      '    commands: { reply: { match: "^(OK|ERR|PONG)", timeoutMs: 2000 } }',
      '  - id: green',
      `    mqtt: { topic: hostile/green, commandTopic: ${CMD_TOPIC} }`,
      '    parser: { format: json }',
    ].join('\n'),
  );
  daemon = Daemon.start(['run', '--config', file]);
  url = (await daemon.ready()).replace(/^http/, 'ws') + '/ws';
}, 200_000);

afterAll(async () => {
  await sub?.endAsync();
  await daemon?.stop();
  await mock?.stop();
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function bothUp(p: Peer): Promise<void> {
  await p.waitFor(
    'bench and green up',
    () => {
      const states = new Map<string, string>(p.of('hello')[0]?.devices.map((d: any) => [d.id, d.state]) ?? []);
      for (const s of p.of('state')) states.set(s.device, s.state);
      return states.get('bench') === 'up' && states.get('green') === 'up';
    },
    10_000,
  );
}

describe('hostile values from a dashboard, real daemon', () => {
  it('a BigInt payload (and its kin) is answered with an error; the daemon, its dashboards and devices carry on', async () => {
    const operator = await Peer.open(url, { protocols: ['serialgate.v1.cbor'] });
    const jsonOperator = await Peer.open(url);
    const viewer = await Peer.open(url);
    await bothUp(viewer);

    const hostile: [Peer, string | Buffer, string][] = [
      // the message: cbor-x decodes 2^53+1 as a BigInt, JSON.stringify threw in the handler
      [operator, Buffer.from(cbor.encode({ type: 'command', id: 'big', device: 'green', payload: 2n ** 53n + 1n })), 'out_of_range'],
      [operator, Buffer.from(cbor.encode({ type: 'command', id: 'bignum', device: 'green', payload: { level: 2n ** 64n } })), 'out_of_range'],
      [operator, Buffer.from(cbor.encode({ type: 'command', id: 'nan', device: 'green', payload: NaN })), 'out_of_range'],
      [operator, Buffer.from(cbor.encode({ type: 'command', id: 'date', device: 'bench', line: 'PING', at: new Date() })), 'malformed'],
      [jsonOperator, '{"type":"command","id":"jbig","device":"green","payload":12345678901234567891}', 'out_of_range'],
      [jsonOperator, '{"type":"command","id":"jinf","device":"green","payload":{"x":1e400}}', 'out_of_range'],
      [jsonOperator, '{"type":"command","id":"lone","device":"bench","line":"P\\ud800"}', 'malformed'],
    ];
    for (const [peer, data] of hostile) peer.ws.send(data);
    const errorCodes = (p: Peer) => p.of('error').map((m) => m.error.code);
    await operator.waitFor('4 errors', () => operator.of('error').length === 4);
    await jsonOperator.waitFor('3 errors', () => jsonOperator.of('error').length === 3);
    expect(errorCodes(operator)).toEqual(hostile.filter(([p]) => p === operator).map(([, , code]) => code));
    expect(errorCodes(jsonOperator)).toEqual(hostile.filter(([p]) => p === jsonOperator).map(([, , code]) => code));
    expect(operator.of('ack')).toEqual([]);
    expect(jsonOperator.of('ack')).toEqual([]);

    // alive: the process, the connections that sent them, and a dashboard that did not
    expect(daemon.proc.exitCode).toBeNull();
    expect(operator.closed).toBeUndefined();
    expect(jsonOperator.closed).toBeUndefined();
    const seen = viewer.of('reading').length;
    await viewer.waitFor('readings after the hostile messages', () => viewer.of('reading').length >= seen + 3);

    // valid commands on the same connection still work: 1n as a 64-bit CBOR integer is plain 1
    operator.ws.send(Buffer.from(cbor.encode({ type: 'command', id: 'one', device: 'green', payload: 1n })));
    operator.ws.send(Buffer.from(cbor.encode({ type: 'command', id: 'ping', device: 'bench', line: 'PING' })));
    expect(await operator.next('ack', (m) => m.id === 'one')).toEqual({ type: 'ack', id: 'one', ok: true });
    expect(await operator.next('ack', (m) => m.id === 'ping')).toMatchObject({ ok: true, reply: 'PONG' });
    // nothing of the hostile ones reached a device: only the valid commands did
    for (let i = 0; i < 100 && published.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    expect(published).toEqual(['1']);
    expect(mock.commands).toEqual(['PING']);
    expect(daemon.proc.exitCode).toBeNull();

    await Promise.all([operator.close(), jsonOperator.close(), viewer.close()]);
  });
});

describe('the MQTT command path itself, validation bypassed', () => {
  it('a payload with no JSON text is a CommandError, not a throw, and nothing is published', async () => {
    const made = newSource(mqttConfig(broker.url), [device({ id: 'green', mqtt: { topic: 'hostile/direct', commandTopic: CMD_TOPIC } })]);
    try {
      await made.source.start();
      await made.sink.waitState('green', 'up');
      const green = made.source.devices()[0]!;
      const before = published.length;
      let result: Promise<unknown> | undefined;
      expect(() => (result = green.command({ payload: { level: 2n ** 64n } }))).not.toThrow();
      const err = await result!.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CommandError);
      expect(err).toMatchObject({ code: 'invalid', message: 'the command payload cannot be sent as JSON' });
      // a valid one after it is delivered, and it is the only one
      await green.command({ payload: 'after' });
      for (let i = 0; i < 100 && published.length < before + 1; i++) await new Promise((r) => setTimeout(r, 20));
      expect(published.slice(before)).toEqual(['after']);
    } finally {
      await made.source.stop();
    }
  });
});
