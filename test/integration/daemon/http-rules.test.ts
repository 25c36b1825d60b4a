/**
 * The same HTTP rules on every route of the real daemon: the Host grammar, the Host allowlist and
 * the header-count limit refuse `/`, `/healthz`, `/metrics` and static files with the status the
 * WebSocket upgrade gets, over raw TCP; legitimate requests are still served.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawHttp, upgradeRequest } from '../server/raw-peer.js';
import { Daemon, ensureBuilt } from './daemon-helpers.js';

const ROUTES = ['/', '/healthz', '/metrics', '/app.js'];

let dir: string;
const daemons: Daemon[] = [];

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'sg-http-rules-'));
}, 200_000);

afterAll(async () => {
  for (const d of daemons) await d.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** a daemon with `auth` (YAML flow mapping) on 127.0.0.1, and its port */
async function daemon(name: string, auth: string): Promise<number> {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, ['server: { host: 127.0.0.1, port: 0 }', `auth: ${auth}`, 'log: { level: info }'].join('\n'));
  const d = Daemon.start(['run', '--config', file]);
  daemons.push(d);
  return Number(new URL(await d.ready()).port);
}

/** a plain GET over raw TCP; `Connection: close` so the server ends the connection after answering */
function get(port: number, target: string, host: string | undefined, extra = ''): ReturnType<typeof rawHttp> {
  const hostLine = host === undefined ? '' : `Host: ${host}\r\n`;
  return rawHttp(port, [`GET ${target} HTTP/1.1\r\n${hostLine}Connection: close\r\n${extra}\r\n`]);
}

const upgradeWithHost = (host: string, extra = '') => upgradeRequest('/ws', extra).replace('Host: 127.0.0.1', `Host: ${host}`);

describe('bound to loopback, auth.hosts empty: Host must be a loopback name', () => {
  let port: number;
  beforeAll(async () => {
    port = await daemon('loopback', '{ anonymous: viewer }');
  }, 30_000);

  it('a foreign Host (DNS rebinding) → 403 on every route, as on the upgrade', async () => {
    const upgrade = await rawHttp(port, [upgradeWithHost('evil.example')]);
    expect(upgrade.status).toBe(403);
    for (const route of ROUTES) {
      const r = await get(port, route, `evil.example:${port}`);
      expect(r.status, route).toBe(upgrade.status);
      expect(r.text, route).toContain('Host not allowed (auth.hosts)');
    }
    // no Host at all is not a loopback name either
    expect((await rawHttp(port, [`GET /healthz HTTP/1.0\r\n\r\n`])).status).toBe(403);
  });

  it('HTTP/1.1 without Host → 400 (RFC 9112 §3.2), the upgrade as every route', async () => {
    const upgrade = await rawHttp(port, [upgradeRequest('/ws').replace('Host: 127.0.0.1\r\n', '')]);
    expect(upgrade.status).toBe(400);
    for (const route of ROUTES) expect((await get(port, route, undefined)).status, route).toBe(400);
  });

  it('a malformed or repeated Host → 400 (RFC 9112 §3.2), the upgrade as every route, before the allowlist', async () => {
    // each of these passed as a loopback name while Host was read through new URL()
    const bad = ['evil@localhost', `evil@127.0.0.1:${port}`, 'localhost/x', 'localhost?q', 'localhost#f', `127.0.0.1:${port}0000`, '[::1'];
    for (const host of bad) {
      const upgrade = await rawHttp(port, [upgradeWithHost(host)]);
      expect([upgrade.status, upgrade.text], host).toEqual([400, expect.stringContaining('malformed Host header')]);
      for (const route of ROUTES) {
        const r = await get(port, route, host);
        expect([r.status, r.text], `${host} ${route}`).toEqual([400, expect.stringContaining('malformed Host header')]);
      }
    }
    // a second Host line behind a loopback one, and on HTTP/1.0 too
    const upgrade = await rawHttp(port, [upgradeRequest('/ws', 'Host: evil.example\r\n')]);
    expect([upgrade.status, upgrade.text]).toEqual([400, expect.stringContaining('more than one Host header')]);
    expect((await get(port, '/healthz', '127.0.0.1', 'Host: 127.0.0.1\r\n')).status).toBe(400);
    expect((await rawHttp(port, [`GET /healthz HTTP/1.0\r\nHost: evil@localhost\r\n\r\n`])).status).toBe(400);
  });

  it('a well-formed Host that a URL parser would turn into 127.0.0.1 is just an unknown name → 403', async () => {
    for (const host of ['0177.0.0.1', `2130706433:${port}`, '127.1']) {
      expect((await rawHttp(port, [upgradeWithHost(host)])).status, host).toBe(403);
      for (const route of ROUTES) expect((await get(port, route, host)).status, `${host} ${route}`).toBe(403);
    }
  });

  it('2,000 header lines → 431 on every route, as on the upgrade', async () => {
    const many = 'a:b\r\n'.repeat(2_000);
    const upgrade = await rawHttp(port, [upgradeRequest('/ws', many)]);
    expect(upgrade.status).toBe(431);
    for (const route of ROUTES) {
      const r = await get(port, route, '127.0.0.1', many);
      expect(r.status, route).toBe(upgrade.status);
      expect(r.text, route).toContain('too many header lines');
    }
  });

  it('loopback names are served, with an ordinary number of headers', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      for (const route of ROUTES) expect((await get(port, route, host, 'Accept: */*\r\n')).status, `${host}${route}`).toBe(200);
    }
    expect((await rawHttp(port, [upgradeRequest('/ws')], { timeoutMs: 500 })).status).toBe(101);
  });

  it('a request at the WebSocket path without the upgrade headers (a proxy that drops them) → 400 naming the missing one, not 404', async () => {
    const cases: [string, number, string][] = [
      ['', 400, '/ws is a WebSocket endpoint: Upgrade header must contain "websocket"'],
      ['Upgrade: websocket\r\n', 400, '/ws is a WebSocket endpoint: Connection header must contain "upgrade"'],
      ['Connection: keep-alive, Upgrade\r\n', 400, '/ws is a WebSocket endpoint: Upgrade header must contain "websocket"'],
    ];
    for (const [extra, status, message] of cases) {
      const r = await get(port, '/ws?x=1', '127.0.0.1', extra);
      expect([r.status, r.text], extra).toEqual([status, expect.stringContaining(message)]);
      expect(r.text, extra).toMatch(/X-Content-Type-Options: nosniff/i);
    }
    const post = await rawHttp(port, ['POST /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n']);
    expect([post.status, post.text]).toEqual([405, expect.stringMatching(/Allow: GET\r\n/)]);
    // other paths are the routes' as before; the upgrade at /ws is served
    expect((await get(port, '/ws/', '127.0.0.1')).status).toBe(404);
    expect((await rawHttp(port, [upgradeRequest('/ws')], { timeoutMs: 500 })).status).toBe(101);
  });

  it('refusals are counted in serialgate_http_client_errors_total{status}', async () => {
    const metrics = (await get(port, '/metrics', '127.0.0.1')).text;
    expect(metrics).toMatch(/serialgate_http_client_errors_total\{status="403"\} [1-9]/);
    expect(metrics).toMatch(/serialgate_http_client_errors_total\{status="431"\} [1-9]/);
  });
});

describe('auth.hosts set: only the listed names', () => {
  let port: number;
  beforeAll(async () => {
    port = await daemon('hosts', '{ anonymous: viewer, hosts: [dash.example] }');
  }, 30_000);

  it('a listed name is served on every route; another, even 127.0.0.1, gets 403 like the upgrade', async () => {
    for (const route of ROUTES) {
      expect((await get(port, route, 'dash.example')).status, route).toBe(200);
      expect((await get(port, route, `127.0.0.1:${port}`)).status, route).toBe(403);
    }
    expect((await rawHttp(port, [upgradeWithHost('dash.example')], { timeoutMs: 500 })).status).toBe(101);
    expect((await rawHttp(port, [upgradeRequest('/ws')])).status).toBe(403);
  });

  it('a listed name, written differently or with a port, is served; malformed → 400 as without auth.hosts', async () => {
    for (const host of ['DASH.example', 'dash.example:8080']) expect((await get(port, '/healthz', host)).status, host).toBe(200);
    expect((await get(port, '/healthz', 'evil@dash.example')).status).toBe(400);
    expect((await rawHttp(port, [upgradeWithHost('dash.example#x')])).status).toBe(400);
  });
});

describe('server.limits.maxConnectionsPerAddress in the real daemon', () => {
  it('a peer past its share is closed at accept and logged once with the peer; another address is served', async () => {
    const file = path.join(dir, 'per-address.yaml');
    writeFileSync(file, ['server: { host: 127.0.0.1, port: 0, limits: { maxConnectionsPerAddress: 2 } }', 'log: { level: info }'].join('\n'));
    const d = Daemon.start(['run', '--config', file]);
    daemons.push(d);
    const port = Number(new URL(await d.ready()).port);
    const sockets: net.Socket[] = [];
    const open = (localAddress: string) =>
      new Promise<net.Socket>((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port, localAddress }, () => resolve(sock));
        sockets.push(sock);
        sock.once('error', reject);
      });
    try {
      await open('127.0.0.3');
      await open('127.0.0.3');
      const third = await open('127.0.0.3');
      await new Promise((r) => third.once('close', r));
      const line = await d.waitLog(/maxConnectionsPerAddress/);
      expect(line).toMatchObject({ code: 'SG_ERR_PEER_CONNECTIONS', peer: '127.0.0.3', limit: 2, level: 40 });
      // 127.0.0.1 is another peer: served
      expect((await get(port, '/healthz', `127.0.0.1:${port}`)).status).toBe(200);
      const text = (await get(port, '/metrics', `127.0.0.1:${port}`)).text;
      expect(text).toMatch(/^serialgate_connections_refused_total 1$/m);
    } finally {
      for (const sock of sockets) sock.destroy();
    }
  });
});
