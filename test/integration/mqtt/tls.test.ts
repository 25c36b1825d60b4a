/** TLS to a real Mosquitto with a throwaway CA: server verification, client certificates, bad files. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MqttConfigError, type MqttSource } from '../../../src/sources/mqtt/index.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { device, mqttConfig, newSource } from './fixtures.js';

let dir: string;
let broker: Mosquitto | undefined;
let source: MqttSource | undefined;
const f = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('/usr/bin/openssl', args, { stdio: 'pipe', cwd: dir });
}

/** CA, a server cert for IP 127.0.0.1, a client cert; EC keys because they are fast to make. */
function makePki(): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=serialgate test CA');
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const who of ['server', 'client']) {
    openssl('req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? '127.0.0.1' : 'gateway'}`);
    openssl(
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${who}.crt`,
      '-days',
      '2',
      ...(who === 'server' ? ['-extfile', 'san.ext'] : []),
    );
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sg-pki-'));
  makePki();
});
afterEach(async () => {
  await source?.stop();
  await broker?.stop();
  source = broker = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const devs = [device({ id: 't', mqtt: { topic: 't/#' } })];

describe('MqttSource over TLS', () => {
  it('verifies the broker with mqtt.tls.ca and presents a client certificate', async () => {
    broker = await startMosquitto({ tls: { cafile: f('ca.crt'), certfile: f('server.crt'), keyfile: f('server.key'), requireCertificate: true } });
    expect(broker.url).toMatch(/^mqtts:\/\//);
    const made = newSource(mqttConfig(broker.url, { tls: { ca: f('ca.crt'), cert: f('client.crt'), key: f('client.key') } }), devs);
    source = made.source;
    await source.start();
    await made.sink.waitState('t', 'up');
  });

  it('an unknown CA → down with the TLS reason (rejectUnauthorized defaults to true)', async () => {
    broker = await startMosquitto({ tls: { cafile: f('ca.crt'), certfile: f('server.crt'), keyfile: f('server.key') } });
    const made = newSource(mqttConfig(broker.url), devs);
    source = made.source;
    await source.start();
    await made.sink.waitFor('a TLS failure', () => made.sink.lastState('t')?.state === 'down' && made.sink.lastState('t')?.reason !== undefined);
    expect(made.sink.lastState('t')!.reason).toMatch(/^broker connection failed: .*(self-signed|unable to verify|local issuer)/i);
  });

  it('a TLS file that cannot be read fails the source when it is made, before any I/O (a reload is refused whole), with the config path', async () => {
    const err = (() => {
      try {
        newSource(mqttConfig('mqtts://127.0.0.1:1', { tls: { ca: f('missing.crt') } }), devs);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MqttConfigError);
    expect(err).toMatchObject({ code: 'SG_ERR_MQTT_CONFIG', path: 'mqtt.tls.ca', message: `mqtt.tls.ca: cannot read "${f('missing.crt')}": ENOENT` });
  });
});
