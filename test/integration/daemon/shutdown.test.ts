/**
 * Shutdown is bounded: SIGTERM to the real daemon with 100 dashboards that complete the
 * handshake but never answer the close frame (a quarter of them never read at all). The process
 * must exit 0 well inside the unit's TimeoutStopSec, and every peer that reads must have got 1001.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMock } from '../../../firmware-mock/index.js';
import { uniqueLink } from '../../helpers/mock.js';
import { RawPeer } from '../server/raw-peer.js';
import { Daemon, ensureBuilt, ROOT } from './daemon-helpers.js';

const PEERS = 100;
const cleanup: (() => Promise<void> | void)[] = [];

beforeAll(ensureBuilt, 200_000);
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** TimeoutStopSec of systemd/serialgate.service, in ms */
function timeoutStopMs(): number {
  const m = /^TimeoutStopSec=(\d+)s$/m.exec(readFileSync(path.join(ROOT, 'systemd/serialgate.service'), 'utf8'));
  if (!m) throw new Error('TimeoutStopSec=<n>s not found in systemd/serialgate.service');
  return Number(m[1]) * 1000;
}

function tmp(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-shutdown-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** SIGTERM, then the exit code and how long the exit took */
async function terminate(d: Daemon): Promise<{ code: number | null; elapsed: number }> {
  const t0 = Date.now();
  d.proc.kill('SIGTERM');
  const { code } = await d.exited;
  return { code, elapsed: Date.now() - t0 };
}

describe('SIGTERM with dashboards that never answer the close frame', () => {
  it(`${PEERS} silent peers (some never reading): 1001 to every reader, exit 0 well inside TimeoutStopSec`, async () => {
    const dir = tmp();
    const mock = await startMock({ link: uniqueLink(), format: 'kv', intervalMs: 20 });
    cleanup.push(() => mock.stop());
    const file = path.join(dir, 'config.yaml');
    writeFileSync(
      file,
      [
        'server: { host: 127.0.0.1, port: 0 }',
        'auth: { anonymous: viewer }',
        'log: { level: info }',
        'devices:',
        `  - { id: m, serial: { path: ${mock.link}, baudRate: 115200 }, parser: { format: kv } }`,
      ].join('\n'),
    );
    const d = Daemon.start(['run', '--config', file]);
    cleanup.push(() => d.stop());
    const port = Number(new URL(await d.ready()).port);

    const peers: { peer: RawPeer; reads: boolean }[] = [];
    cleanup.push(() => peers.forEach((p) => p.peer.destroy()));
    for (let i = 0; i < PEERS; i += 20) {
      // allowHalfOpen: the server's FIN does not make the peer close either; it just sits there
      const batch = Array.from({ length: Math.min(20, PEERS - i) }, (_, j) => {
        const reads = (i + j) % 4 !== 0;
        return RawPeer.open(port, { path: '/ws', read: reads, allowHalfOpen: true }).then((peer) => ({ peer, reads }));
      });
      peers.push(...(await Promise.all(batch)));
    }
    const readers = peers.filter((p) => p.reads).map((p) => p.peer);
    // every reader is live (hello, readings) before the stop
    await Promise.all(readers.map((p) => p.waitUntil(() => p.events.filter((e) => e.type === 'message').length >= 2, 10_000)));

    const { code, elapsed } = await terminate(d);
    expect(code, d.output.slice(-2000)).toBe(0);
    expect(elapsed).toBeLessThan(timeoutStopMs() / 4);
    for (const p of readers) expect(await p.closeFrame(2_000)).toEqual({ code: 1001, reason: 'gateway shutting down' });
    expect(d.log('gateway stopped')).toBeDefined();
    expect(d.log('stopped')).toBeDefined();
  });

  it('TLS: peers that connected and never finished the TLS handshake do not hold the stop either', async () => {
    const fixtures = path.join(ROOT, 'test/integration/server/fixtures');
    const file = path.join(tmp(), 'config.yaml');
    writeFileSync(
      file,
      [
        `server: { host: 127.0.0.1, port: 0, tls: { cert: ${fixtures}/test-cert.pem, key: ${fixtures}/test-key.pem } }`,
        'auth: { anonymous: viewer }',
        'log: { level: info }',
      ].join('\n'),
    );
    const d = Daemon.start(['run', '--config', file]);
    cleanup.push(() => d.stop());
    const port = Number(new URL(await d.ready()).port);
    for (let i = 0; i < 10; i++) {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => {});
      cleanup.push(() => void socket.destroy());
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      // half of them send the first bytes of a ClientHello, then nothing
      if (i % 2) socket.write(Buffer.from([0x16, 0x03, 0x01]));
    }
    await new Promise((r) => setTimeout(r, 200)); // the daemon has accepted them

    const { code, elapsed } = await terminate(d);
    expect(code, d.output.slice(-2000)).toBe(0);
    expect(elapsed).toBeLessThan(timeoutStopMs() / 4);
  });
});
