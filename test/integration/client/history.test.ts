/**
 * History against the real gateway (startGateway with an in-memory HistoryReader fed by the hub)
 * and the firmware mock on a PTY: the typed client's history() on both encodings, its refusals,
 * and the /history.csv|json export behind the same rules as the WebSocket.
 */
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HistoryFailedError, type SerialgateClient } from '../../../src/client/index.js';
import { configSchema } from '../../../src/config/schema.js';
import { startGateway, type Gateway } from '../../../src/gateway.js';
import { silentLogger } from '../../../src/log.js';
import { startMock, type MockDevice } from '../../../firmware-mock/index.js';
import { MemoryHistory } from '../../helpers/memory-history.js';
import { gatewayConfig, OPERATOR_TOKEN, recordingClient, uniqueLink, VIEWER_TOKEN, waitFor } from './harness.js';

let mock: MockDevice;
let gateway: Gateway;
let port = 0;
const history = new MemoryHistory(60_000);
const clients: SerialgateClient[] = [];
const track = <T extends { client: SerialgateClient }>(c: T): T => (clients.push(c.client), c);

beforeAll(async () => {
  const link = uniqueLink();
  mock = await startMock({ link, format: 'kv', intervalMs: 20 });
  gateway = await startGateway(gatewayConfig(link), silentLogger(), { history });
  port = Number(new URL(gateway.url).port);
  await waitFor('history points', () => history.query({ device: 'mock1', from: 0, to: Date.now(), maxPoints: 100 }).points.length >= 20);
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await gateway?.stop();
  await mock?.stop();
});

describe('client.history()', () => {
  it.each(['cbor', 'json'] as const)('%s: the readings the hub recorded, answered by id, and live readings go on', async (protocol) => {
    const c = track(recordingClient(`${gateway.url}/ws`, { protocol, token: VIEWER_TOKEN }));
    const answer = await c.client.history('mock1', { from: 0, maxPoints: 5000 });
    expect(answer).toMatchObject({ type: 'history', device: 'mock1', from: 0 });
    expect(answer.id).toMatch(/^h\d+$/);
    expect(answer.points.length).toBeGreaterThanOrEqual(20);
    // every point was recorded in the stream this gateway runs: each has its seq
    const seqs = answer.points.map((p) => p.seq);
    expect(seqs.every((s) => typeof s === 'number')).toBe(true);
    expect(seqs).toEqual([...seqs].sort((a, b) => a! - b!));
    expect(typeof answer.points[0]!.values.temp).toBe('number');
    const n = c.readings.length;
    await waitFor('live readings after the answer', () => c.readings.length >= n + 3);
  });

  it('sent once the session opens when asked while connecting; concurrent requests each get their own answer', async () => {
    const c = track(recordingClient(`${gateway.url}/ws`, { token: VIEWER_TOKEN }));
    const now = Date.now();
    const [a, b] = await Promise.all([
      c.client.history('mock1', { from: now - 60_000, to: now, maxPoints: 3 }),
      c.client.history('mock1', { from: 0, to: 1 }),
    ]);
    expect(a.points.length).toBe(3);
    expect(a.to).toBe(now);
    expect(b.points).toEqual([]);
    expect(a.id).not.toBe(b.id);
  });

  it('an invalid range rejects with HistoryFailedError invalid_field; close() rejects what waits', async () => {
    const c = track(recordingClient(`${gateway.url}/ws`, { token: OPERATOR_TOKEN }));
    const err = await c.client.history('mock1', { from: 10, to: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HistoryFailedError);
    expect(err).toMatchObject({ code: 'invalid_field', device: 'mock1' });
    const refused = track(recordingClient(`${gateway.url}/ws`, { token: undefined }));
    const waiting = refused.client.history('mock1').catch((e: unknown) => e);
    refused.client.close();
    expect(await waiting).toMatchObject({ code: 'closed' });
  });
});

function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: Buffer.concat(chunks).toString(), headers: res.headers }),
      );
    });
    req.on('error', reject);
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
  });
}

describe('GET /history.csv and /history.json', () => {
  const bearer = { Authorization: `Bearer ${VIEWER_TOKEN}` };

  it('serves a viewer: CSV rows of the recorded readings, JSON the same answer', async () => {
    const csv = await get('/history.csv?device=mock1&from=0', bearer);
    expect(csv.status).toBe(200);
    expect(csv.type).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe('attachment; filename="mock1-history.csv"');
    expect(csv.headers['cache-control']).toBe('no-store');
    const lines = csv.body.trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^time,ts,kind,span_ms,count,.*\bvalue\(temp\),min\(temp\),max\(temp\)(,|$)/);
    expect(lines.length).toBeGreaterThan(20);
    const header = lines[0]!.split(',');
    const row = lines[1]!.split(',');
    expect(row[header.indexOf('kind')]).toBe('point');
    expect(new Date(row[0]!).getTime()).toBe(Number(row[1]));
    expect(Number.isFinite(Number(row[header.indexOf('value(temp)')]))).toBe(true);

    const json = await get('/history.json?device=mock1&from=1970-01-01T00:00:00Z&maxPoints=5', bearer);
    expect(json.status).toBe(200);
    const a = JSON.parse(json.body);
    expect(a).toMatchObject({ device: 'mock1', from: 0 });
    expect(a.points).toHaveLength(5);
  });

  it('?token= follows auth.queryToken as the WebSocket does (off by default: 401 that says so)', async () => {
    const r = await get(`/history.json?device=mock1&token=${VIEWER_TOKEN}`);
    expect(r.status).toBe(401);
    expect(r.body).toContain('auth.queryToken');
  });

  it('refuses whom the WebSocket refuses: no token, a wrong token, a foreign Origin, a wrong Host', async () => {
    const none = await get('/history.csv?device=mock1');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toContain('Bearer');
    expect(none.body).not.toContain('temp');
    expect((await get('/history.csv?device=mock1', { Authorization: 'Bearer nope' })).status).toBe(401);
    const foreign = await get('/history.csv?device=mock1', { ...bearer, Origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    // the same-origin dashboard's fetch is allowed
    expect((await get('/history.csv?device=mock1', { ...bearer, Origin: `http://127.0.0.1:${port}` })).status).toBe(200);
    // bound to loopback, auth.hosts empty: a rebinding name is refused on every route
    expect((await get('/history.csv?device=mock1', { ...bearer, Host: 'evil.example' })).status).toBe(403);
  });

  it('a bad range is a 400 that says why', async () => {
    const r = await get('/history.csv?device=mock1&from=yesterday', bearer);
    expect(r.status).toBe(400);
    expect(r.body).toContain('"from"');
    expect((await get('/history.csv', bearer)).status).toBe(400);
  });
});

describe('an anonymous viewer config with auth.queryToken', () => {
  it('serves the export without a token and with ?token=, like the WebSocket does', async () => {
    const link = uniqueLink();
    const cfg = configSchema.parse({
      ...gatewayConfig(link),
      auth: { anonymous: 'viewer', queryToken: true, tokens: [{ token: VIEWER_TOKEN, role: 'viewer' }] },
      devices: [],
    });
    const gw = await startGateway(cfg, silentLogger(), { history: new MemoryHistory() });
    const status = (path: string) =>
      new Promise<number>((resolve, reject) => {
        http.get(`${gw.url}${path}`, (res) => (res.resume(), resolve(res.statusCode!))).on('error', reject);
      });
    try {
      expect(await status('/history.json?device=x')).toBe(200);
      expect(await status(`/history.json?device=x&token=${VIEWER_TOKEN}`)).toBe(200);
      expect(await status('/history.json?device=x&token=wrong')).toBe(401);
    } finally {
      await gw.stop();
    }
  });
});
