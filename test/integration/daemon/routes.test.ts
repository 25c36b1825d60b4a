import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { metrics } from '../../../src/metrics.js';
import { buildHealthReport, createRequestHandler, SECURITY_HEADERS, type HealthReport } from '../../../src/http/routes.js';
import { acceptsGzip, etagMatches } from '../../../src/http/static.js';

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

let dir: string;
let server: http.Server;
let port: number;
let health: HealthReport = { status: 'ok', devices: [], connections: 0 };

function request(method: string, target: string, headers: Record<string, string> = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const INDEX =
  '<!doctype html><html><head><link rel="stylesheet" href="app.css"><script type="module" src="app.js"></script></head><body>' +
  'serialgate '.repeat(100) +
  '</body></html>';

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sg-routes-'));
  const root = path.join(dir, 'web');
  mkdirSync(path.join(root, 'assets'), { recursive: true });
  writeFileSync(path.join(root, 'index.html'), INDEX);
  writeFileSync(path.join(root, 'app.js'), 'console.log(1);');
  writeFileSync(path.join(root, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(path.join(dir, 'secret.txt'), 'outside the web root');
  mkdirSync(path.join(dir, 'outside'));
  writeFileSync(path.join(dir, 'outside', 'x.js'), 'outside');
  symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'leak.txt'));
  symlinkSync(path.join(dir, 'outside'), path.join(root, 'linkdir'));
  symlinkSync(path.join(root, 'app.js'), path.join(root, 'alias.js'));
  server = http.createServer(createRequestHandler({ health: () => health, webRoot: root, logger: silentLogger() }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('static files', () => {
  it('GET / serves index.html with the security headers and revalidation', async () => {
    const r = await request('GET', '/');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(INDEX);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).toBe(
      "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.headers.etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    expect(r.headers['content-encoding']).toBeUndefined();
  });

  it('content types by extension, and an in-root symlink is followed', async () => {
    expect((await request('GET', '/app.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await request('GET', '/assets/logo.svg')).headers['content-type']).toBe('image/svg+xml');
    const alias = await request('GET', '/alias.js');
    expect([alias.status, alias.body.toString()]).toEqual([200, 'console.log(1);']);
  });

  it('gzip when the client accepts it, identity when not or when q=0', async () => {
    const gz = await request('GET', '/index.html', { 'Accept-Encoding': 'br, gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toBe('Accept-Encoding');
    expect(gunzipSync(gz.body).toString()).toBe(INDEX);
    expect(gz.body.length).toBeLessThan(INDEX.length);
    expect((await request('GET', '/index.html', { 'Accept-Encoding': 'gzip;q=0' })).headers['content-encoding']).toBeUndefined();
    // a tiny file is not worth compressing
    expect((await request('GET', '/app.js', { 'Accept-Encoding': 'gzip' })).headers['content-encoding']).toBeUndefined();
  });

  it('If-None-Match with the ETag → 304 without a body; a changed file gets a new ETag', async () => {
    const first = await request('GET', '/app.js');
    const again = await request('GET', '/app.js', { 'If-None-Match': `"other", ${first.headers.etag}` });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers['x-frame-options']).toBe('DENY');
    writeFileSync(path.join(dir, 'web', 'app.js'), 'console.log(2); // changed');
    const changed = await request('GET', '/app.js', { 'If-None-Match': first.headers.etag as string });
    expect(changed.status).toBe(200);
    expect(changed.body.toString()).toBe('console.log(2); // changed');
    expect(changed.headers.etag).not.toBe(first.headers.etag);
  });

  it('HEAD has the headers of GET and no body', async () => {
    const get = await request('GET', '/index.html');
    const head = await request('HEAD', '/index.html');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe(String(INDEX.length));
    expect(head.headers.etag).toBe(get.headers.etag);
  });

  it.each([
    // the URL parser already folds dot segments: these become /secret.txt, which is not in the root
    ['/../secret.txt', 404],
    ['/%2e%2e/secret.txt', 404],
    ['/assets/..%2f..%2fsecret.txt', 400],
    ['/..%5csecret.txt', 400],
    ['/index.html%00.js', 400],
    ['/%E0%A4%A', 400],
    ['/leak.txt', 404],
    ['/linkdir/x.js', 404],
    ['/nope.js', 404],
    ['/assets', 404],
  ])('%s is refused with %i (no traversal, no symlink escape)', async (target, status) => {
    const r = await request('GET', target);
    expect(r.status).toBe(status);
    expect(r.body.toString()).not.toContain('outside');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });

  it('other methods → 405 with Allow', async () => {
    for (const m of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const r = await request(m, '/');
      expect(r.status).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
  });

  it('a web root that was never built answers / with a hint', async () => {
    const handler = createRequestHandler({ health: () => health, webRoot: path.join(dir, 'missing'), logger: silentLogger() });
    const s = http.createServer(handler);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const p = port;
    port = (s.address() as AddressInfo).port;
    try {
      const r = await request('GET', '/');
      expect(r.status).toBe(404);
      expect(r.body.toString()).toContain('npm run build');
    } finally {
      port = p;
      await new Promise((r) => s.close(r));
    }
  });
});

describe('/healthz and /metrics', () => {
  it('/healthz is 200 with the report when ok, 503 when starting or degraded', async () => {
    health = { status: 'ok', devices: [{ id: 'a', source: 'serial', state: 'up' }], broker: 'up', connections: 2 };
    const ok = await request('GET', '/healthz');
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(ok.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(ok.body.toString())).toEqual(health);
    for (const status of ['starting', 'degraded'] as const) {
      health = { ...health, status };
      const r = await request('GET', '/healthz');
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body.toString()).status).toBe(status);
    }
    expect((await request('HEAD', '/healthz')).status).toBe(503);
  });

  it('/metrics serves the registry in the Prometheus text format', async () => {
    metrics.readings.inc({ device: 'routes-test' }, 3);
    const r = await request('GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const body = r.body.toString();
    expect(body).toContain('serialgate_readings_total{device="routes-test"} 3');
    expect(body).toContain('process_resident_memory_bytes');
    expect(body).toContain('nodejs_eventloop_lag_seconds');
  });

  it('buildHealthReport: starting before listening, degraded only for a required device that is down', () => {
    const devices = [
      { id: 'req', source: 'serial' as const, state: 'up' as const },
      { id: 'opt', source: 'mqtt' as const, state: 'down' as const, reason: 'broker down' },
    ];
    const required = new Set(['req']);
    expect(buildHealthReport({ ready: false, devices, required, connections: 0 }).status).toBe('starting');
    expect(buildHealthReport({ ready: true, devices, required, broker: 'down', connections: 1 })).toEqual({
      status: 'ok',
      devices,
      broker: 'down',
      connections: 1,
    });
    const down = devices.map((d) => ({ ...d, state: 'down' as const }));
    expect(buildHealthReport({ ready: true, devices: down, required, connections: 0 }).status).toBe('degraded');
  });
});

describe('header helpers', () => {
  it('acceptsGzip', () => {
    expect(acceptsGzip(undefined)).toBe(false);
    expect(acceptsGzip('gzip, deflate, br')).toBe(true);
    expect(acceptsGzip('GZIP;q=0.5')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('br, deflate')).toBe(false);
  });
  it('etagMatches', () => {
    expect(etagMatches('"a", W/"b"', '"b"')).toBe(true);
    expect(etagMatches('*', '"x"')).toBe(true);
    expect(etagMatches('"a"', '"b"')).toBe(false);
    expect(etagMatches(undefined, '"b"')).toBe(false);
  });
  it('every response carries the security headers', () => {
    expect(Object.keys(SECURITY_HEADERS)).toEqual(['Content-Security-Policy', 'X-Content-Type-Options', 'Referrer-Policy', 'X-Frame-Options']);
  });
});
