/**
 * Hostile HTTP before the upgrade: each case expects its HTTP status (or a timed-out close),
 * and afterwards a fresh client must still be served.
 */
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { metrics } from '../../../src/metrics.js';
import { expectServed, startServer, type TestServer } from './harness.js';
import { rawHttp, upgradeRequest } from './raw-peer.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());
afterEach(() => expectServed(server));

/** The first line of the request replaced, everything else a valid upgrade. */
function withRequestLine(line: string): string {
  return line + upgradeRequest().slice(upgradeRequest().indexOf('\r\n'));
}

describe('refused upgrades', () => {
  it('2,000+ header lines → 431', async () => {
    // 5 bytes a line: under maxHeaderBytes, so it is the header count that refuses it
    const many = 'a:b\r\n'.repeat(2_100);
    const r = await rawHttp(server.port, [upgradeRequest('/echo', many)]);
    expect(r.status).toBe(431);
    expect(r.text).toContain('too many header lines');
  });

  it('a header block over maxHeaderBytes → 431', async () => {
    const r = await rawHttp(server.port, [upgradeRequest('/echo', `X-Big: ${'a'.repeat(20_000)}\r\n`)]);
    expect(r.status).toBe(431);
    expect(r.text).toContain('request header block too large');
  });

  it('a Sec-WebSocket-Protocol built to make a backtracking regex explode → 400, promptly', async () => {
    // ws CVE-2021-32640 shape: many separators without a valid end. The bound is a ReDoS guard
    // (a backtracking parser takes minutes on this), not a speed requirement.
    const evil = `a${', '.repeat(4_000)}\t,`;
    const r = await rawHttp(server.port, [upgradeRequest('/echo', `Sec-WebSocket-Protocol: ${evil}\r\n`)]);
    expect(r.status).toBe(400);
    expect(r.closedAfterMs).toBeLessThan(2_000);
  });

  it('only unknown subprotocols, and `__proto__` / `constructor` as subprotocol names → 400', async () => {
    for (const offer of ['chat', '__proto__', 'constructor, __proto__']) {
      const r = await rawHttp(server.port, [upgradeRequest('/echo', `Sec-WebSocket-Protocol: ${offer}\r\n`)]);
      expect(r.status, offer).toBe(400);
      expect(r.text).toContain('none of the offered subprotocols is supported');
    }
  });

  it('an unknown path → 404; a request target that is not a path → 400', async () => {
    expect((await rawHttp(server.port, [upgradeRequest('/nope')])).status).toBe(404);
    expect((await rawHttp(server.port, [withRequestLine('GET //127.0.0.1/echo HTTP/1.1')])).status).toBe(400);
    expect((await rawHttp(server.port, [withRequestLine('GET http://127.0.0.1/echo HTTP/1.1')])).status).toBe(400);
  });

  it('an endpoint is matched exactly as sent: the query is not part of the path, dot segments are not resolved', async () => {
    for (const target of ['/echo?x=1&y', '/echo?']) {
      expect((await rawHttp(server.port, [upgradeRequest(target)], { timeoutMs: 300 })).status, target).toBe(101);
    }
    for (const target of ['/./echo', '/x/../echo', '/echo/', '/ECHO', '/%65cho']) {
      const r = await rawHttp(server.port, [upgradeRequest(target)]);
      expect(r.status, target).toBe(404);
      expect(r.text, target).toContain(`no WebSocket endpoint at ${target}`);
    }
  });

  it('a wrong version → 426 with Sec-WebSocket-Version: 13; a bad key → 400; POST → 405', async () => {
    const v8 = await rawHttp(server.port, [upgradeRequest().replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8')]);
    expect(v8.status).toBe(426);
    expect(v8.text).toContain('Sec-WebSocket-Version: 13');
    const key = await rawHttp(server.port, [upgradeRequest().replace(/Sec-WebSocket-Key: [^\r]*/, 'Sec-WebSocket-Key: c2hvcnQ=')]);
    expect(key.status).toBe(400);
    const post = await rawHttp(server.port, [withRequestLine('POST /echo HTTP/1.1')]);
    expect(post.status).toBe(405);
  });

  it('CONNECT (a proxy tunnel) → 405 with Allow, the connection closed: Node drops it unanswered without a listener', async () => {
    const r = await rawHttp(server.port, ['CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n']);
    expect(r.status).toBe(405);
    expect(r.text).toContain('Allow: GET, HEAD');
    expect(r.closedAfterMs).toBeLessThan(2_000);
  });

  it('garbage instead of HTTP → 400 and the connection is closed; counted in /metrics', async () => {
    const counted = async () => (await metrics.httpClientErrors.get()).values.find((v) => v.labels.status === 400)?.value ?? 0;
    const before = await counted();
    const r = await rawHttp(server.port, [Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x0d, 0x0a, 0x0d, 0x0a])]);
    expect(r.status).toBe(400);
    expect(r.text).toContain('Connection: close');
    const text = await rawHttp(server.port, ['HELLO THERE\r\n\r\n']);
    expect(text.status).toBe(400);
    expect(await counted()).toBe(before + 2);
  });
});

describe('logs', () => {
  it('a refused upgrade is logged with its path only: a ?token= never reaches a log line', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const s = await startServer({ logger });
    try {
      expect((await rawHttp(s.port, [upgradeRequest('/nope?token=very-secret-token-123')])).status).toBe(404);
      expect((await rawHttp(s.port, [upgradeRequest('/echo?token=very-secret-token-123').replace('Version: 13', 'Version: 7')])).status).toBe(426);
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(lines.join('\n')).toContain('"path":"/nope"');
      expect(lines.join('\n')).not.toContain('very-secret');
    } finally {
      await s.stop();
    }
  });
});

describe('slow handshakes (handshakeTimeoutMs 500)', () => {
  let slow: TestServer;
  beforeAll(async () => {
    slow = await startServer({ limits: { handshakeTimeoutMs: 500 } });
  });
  afterAll(() => slow.stop());
  afterEach(() => expectServed(slow));

  it('a handshake that never completes is answered 408 and closed after the timeout', async () => {
    const r = await rawHttp(slow.port, ['GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n'], { timeoutMs: 5_000 });
    expect(r.status).toBe(408);
    // closed by the server, not by rawHttp's own 5 s timeout
    expect(r.closedAfterMs).toBeGreaterThanOrEqual(400);
    expect(r.closedAfterMs).toBeLessThan(4_000);
  });

  it('a connection that never sends a byte is closed too', async () => {
    const r = await rawHttp(slow.port, [], { timeoutMs: 5_000 });
    expect(r.closedAfterMs).toBeLessThan(4_000);
  });

  it('a slow but complete handshake within the timeout still works', async () => {
    const request = upgradeRequest('/echo');
    const r = rawHttp(slow.port, [request.slice(0, 20), request.slice(20)], { gapMs: 100, timeoutMs: 400 });
    // rawHttp waits for a close; an open WebSocket is closed by its 400 ms timeout: 101 seen first
    expect((await r).status).toBe(101);
  });
});
