import { describe, expect, it } from 'vitest';
import { acceptKey, httpErrorResponse, processHandshake, type HandshakeOptions, type UpgradeRequest } from '../../../src/ws/handshake.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const OPTS: HandshakeOptions = { protocols: ['serialgate.v1.cbor', 'serialgate.v1.json'], maxHeaders: 64 };

function request(headers: Record<string, string | undefined> = {}, extra: Partial<UpgradeRequest> = {}, more: string[] = []): UpgradeRequest {
  const base: Record<string, string | undefined> = {
    Host: 'gw.local:8080',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': KEY,
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const rawHeaders: string[] = [];
  for (const [name, value] of Object.entries(base)) if (value !== undefined) rawHeaders.push(name, value);
  return { method: 'GET', httpVersion: '1.1', url: '/ws', rawHeaders: [...rawHeaders, ...more], ...extra };
}

function refused(req: UpgradeRequest, opts: HandshakeOptions = OPTS): { status: number; message: string; response: string } {
  const r = processHandshake(req, opts);
  if (r.ok) throw new Error('expected a refusal');
  return { status: r.status, message: r.message, response: r.response.toString() };
}

describe('acceptKey', () => {
  it('computes the RFC 6455 §1.3 example', () => {
    expect(acceptKey(KEY)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
});

describe('processHandshake: accepted', () => {
  it('answers 101 with the accept key and no protocol when none is offered', () => {
    const r = processHandshake(request(), OPTS);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.response.toString()).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
    );
    expect(r.key).toBe(KEY);
    expect(r.protocol).toBeUndefined();
    expect(r.offered).toEqual([]);
    expect(r.headers.get('host')).toBe('gw.local:8080');
  });

  it('matches Upgrade and Connection tokens case-insensitively inside lists', () => {
    const r = processHandshake(request({ Upgrade: 'h2c, WebSocket', Connection: 'keep-alive ,\tUPGRADE' }), OPTS);
    expect(r.ok).toBe(true);
  });

  it("negotiates the server's preference among the offered, whatever the client's order", () => {
    const r = processHandshake(request({ 'Sec-WebSocket-Protocol': 'serialgate.v1.json, serialgate.v1.cbor' }), OPTS);
    expect(r.ok && r.protocol).toBe('serialgate.v1.cbor');
    expect(r.ok && r.response.toString()).toContain('\r\nSec-WebSocket-Protocol: serialgate.v1.cbor\r\n');
  });

  it('joins repeated Sec-WebSocket-Protocol headers and ignores empty list elements', () => {
    const r = processHandshake(request({}, {}, ['Sec-WebSocket-Protocol', 'x.unknown, ,', 'sec-websocket-protocol', 'serialgate.v1.json']), OPTS);
    expect(r.ok && r.protocol).toBe('serialgate.v1.json');
    expect(r.ok && r.offered).toEqual(['x.unknown', 'serialgate.v1.json']);
    expect(r.ok && r.headers.get('sec-websocket-protocol')).toBe('x.unknown, ,, serialgate.v1.json');
  });

  it('keeps bearer.* in offered but never negotiates or echoes it', () => {
    const r = processHandshake(request({ 'Sec-WebSocket-Protocol': 'bearer.s3cr3t, serialgate.v1.json' }), {
      ...OPTS,
      protocols: ['bearer.s3cr3t', 'serialgate.v1.json'],
    });
    expect(r.ok && r.protocol).toBe('serialgate.v1.json');
    expect(r.ok && r.offered).toEqual(['bearer.s3cr3t', 'serialgate.v1.json']);
    expect(r.ok && r.response.toString()).not.toContain('s3cr3t');
  });

  it('refuses only bearer.* offered with 400: a 101 selecting none would fail in every browser', () => {
    const r = refused(request({ 'Sec-WebSocket-Protocol': 'bearer.abc, bearer.def' }));
    expect([r.status, r.message]).toEqual([
      400,
      'a bearer.<token> subprotocol must come with a supported one; supported: serialgate.v1.cbor, serialgate.v1.json',
    ]);
  });

  it('treats __proto__ and constructor as ordinary header names', () => {
    const r = processHandshake(request({}, {}, ['__proto__', 'x', 'constructor', 'y', 'Sec-WebSocket-Extensions', '__proto__; constructor']), OPTS);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.headers.get('__proto__')).toBe('x');
    expect(r.headers.get('constructor')).toBe('y');
    expect(r.response.toString()).not.toContain('Extensions'); // no extension is ever negotiated
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('passes Origin and Host to the origin policy', () => {
    const seen: unknown[] = [];
    const r = processHandshake(request({ Origin: 'https://dash.example' }), {
      ...OPTS,
      originAllowed: (origin, host) => (seen.push(origin, host), true),
    });
    expect(r.ok).toBe(true);
    expect(seen).toEqual(['https://dash.example', { name: 'gw.local', port: 8080 }]);
  });

  it('accepts HTTP/2.0 and later minor versions', () => {
    expect(processHandshake(request({}, { httpVersion: '1.2' }), OPTS).ok).toBe(true);
    expect(processHandshake(request({}, { httpVersion: '2.0' }), OPTS).ok).toBe(true);
  });
});

describe('processHandshake: refused', () => {
  it('refuses POST with 405 and Allow: GET', () => {
    const r = refused(request({}, { method: 'POST' }));
    expect(r.status).toBe(405);
    expect(r.response).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    expect(r.response).toContain('\r\nAllow: GET\r\n');
  });

  it.each(['1.0', '0.9', 'x.y', '1', ''])('refuses HTTP version %j with 400', (v) => {
    expect(refused(request({}, { httpVersion: v })).status).toBe(400);
  });

  it.each([
    ['no Host', { Host: undefined }, 'missing Host header'],
    ['empty Host', { Host: '' }, 'missing Host header'],
    ['no Upgrade', { Upgrade: undefined }, 'Upgrade header must contain "websocket"'],
    ['Upgrade: h2c', { Upgrade: 'h2c' }, 'Upgrade header must contain "websocket"'],
    ['Upgrade token as a substring', { Upgrade: 'websocketx' }, 'Upgrade header must contain "websocket"'],
    ['no Connection', { Connection: undefined }, 'Connection header must contain "upgrade"'],
    ['Connection: keep-alive', { Connection: 'keep-alive' }, 'Connection header must contain "upgrade"'],
    ['Connection: upgraded', { Connection: 'upgraded' }, 'Connection header must contain "upgrade"'],
  ])('refuses %s with 400', (_name, headers, message) => {
    const r = refused(request(headers));
    expect([r.status, r.message]).toEqual([400, message]);
  });

  it('refuses two Host headers with 400', () => {
    expect(refused(request({}, {}, ['Host', 'evil.example'])).message).toBe('more than one Host header');
  });

  it.each(['evil@localhost', '127.0.0.1/x', 'localhost#f', '[::1', 'localhost:65536'])('refuses a malformed Host %j with 400', (host) => {
    const r = refused(request({ Host: host }));
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/^malformed Host header/);
  });

  it.each([['8'], ['12'], ['14'], [undefined], ['13, 13']])('refuses Sec-WebSocket-Version %j with 426 naming 13', (v) => {
    const r = refused(request({ 'Sec-WebSocket-Version': v }));
    expect(r.status).toBe(426);
    expect(r.response).toContain('\r\nSec-WebSocket-Version: 13\r\n');
  });

  it.each([
    ['missing', undefined],
    ['15 bytes', 'AAAAAAAAAAAAAAAAAAAA'],
    ['17 bytes', 'AAAAAAAAAAAAAAAAAAAAAA=='.replace('==', 'AA') + '=='],
    ['no padding', 'dGhlIHNhbXBsZSBub25jZQAA'],
    ['bad alphabet', 'dGhlIHNhbXBsZSBub25jZ!=='],
    ['url-safe alphabet', 'dGhlIHNhbXBsZSBub25jZ-=='],
    ['non-ASCII', 'dGhlIHNhbXBsZSBub25jZé=='],
    ['two keys', `${KEY}, ${KEY}`],
    ['followed by a line feed', `${KEY}\n`],
  ])('refuses a Sec-WebSocket-Key that is %s with 400', (_name, key) => {
    const r = refused(request({ 'Sec-WebSocket-Key': key }));
    expect([r.status, r.message]).toEqual([400, 'Sec-WebSocket-Key must be the base64 of 16 bytes']);
  });

  it('refuses only unknown subprotocols with 400 naming the supported ones', () => {
    const r = refused(request({ 'Sec-WebSocket-Protocol': 'mqtt, bearer.x' }));
    expect(r.status).toBe(400);
    expect(r.message).toBe('none of the offered subprotocols is supported; supported: serialgate.v1.cbor, serialgate.v1.json');
  });

  it('refuses any subprotocol with 400 on an endpoint that has none', () => {
    const r = refused(request({ 'Sec-WebSocket-Protocol': 'chat' }), { ...OPTS, protocols: [] });
    expect([r.status, r.message]).toEqual([400, 'none of the offered subprotocols is supported; supported: none']);
  });

  it('refuses a subprotocol list with a non-token element with 400', () => {
    expect(refused(request({ 'Sec-WebSocket-Protocol': 'serialgate.v1.json, a b' })).status).toBe(400);
    expect(refused(request({ 'Sec-WebSocket-Protocol': 'serialgate.v1.json, x/y' })).status).toBe(400);
    for (const element of ['serialgate.v1.json\n', 'jsön', 'a\u0000']) {
      expect(refused(request({ 'Sec-WebSocket-Protocol': `serialgate.v1.json, ${element}` })).status, element).toBe(400);
    }
  });

  it('refuses a disallowed Origin with 403', () => {
    const r = refused(request({ Origin: 'https://evil.example' }), { ...OPTS, originAllowed: () => false });
    expect([r.status, r.message]).toEqual([403, 'origin not allowed']);
  });

  it('refuses more header lines than maxHeaders with 431, checked first', () => {
    const many: string[] = [];
    for (let i = 0; i < 2100; i++) many.push(`x-h${i}`, 'v');
    const r = refused(request({}, { method: 'POST' }, many));
    expect(r.status).toBe(431);
    expect(r.response).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    // exactly at the limit is fine
    const five = request();
    expect(processHandshake(five, { ...OPTS, maxHeaders: five.rawHeaders.length / 2 }).ok).toBe(true);
    expect(refused(five, { ...OPTS, maxHeaders: five.rawHeaders.length / 2 - 1 }).status).toBe(431);
  });

  it('handles a Sec-WebSocket-Protocol built to make a regex backtrack, in linear time', () => {
    const hostile = 'a,'.repeat(50_000) + '!';
    expect(refused(request({ 'Sec-WebSocket-Protocol': hostile })).status).toBe(400);
    const spaces = 'a' + ' '.repeat(100_000) + 'b';
    expect(refused(request({ 'Sec-WebSocket-Protocol': spaces })).status).toBe(400);
    const commas = ','.repeat(100_000) + 'x y';
    expect(refused(request({ Connection: commas })).status).toBe(400);
  });
});

describe('httpErrorResponse', () => {
  it('builds a whole response that closes the connection', () => {
    expect(httpErrorResponse(400, 'bad key', { 'X-Why': 'test' }).toString()).toBe(
      'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 8\r\nX-Why: test\r\n\r\nbad key\n',
    );
  });

  it('names a status Node does not know "Error"', () => {
    expect(httpErrorResponse(499, 'client gone').toString()).toMatch(/^HTTP\/1\.1 499 Error\r\n/);
  });

  it('counts UTF-8 bytes in Content-Length', () => {
    expect(httpErrorResponse(503, 'überlastet').toString()).toContain('Content-Length: 12\r\n');
  });

  it('refuses header injection (caller bug)', () => {
    expect(() => httpErrorResponse(400, 'x', { 'X-A': 'a\r\nSet-Cookie: y' })).toThrow(RangeError);
    expect(() => httpErrorResponse(400, 'x', { 'X A': 'a' })).toThrow(RangeError);
    expect(() => httpErrorResponse(400, 'x', { '': 'a' })).toThrow(RangeError);
  });
});
