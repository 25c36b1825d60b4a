/**
 * Interop with the `ws` client over loopback: message sizes at every length-encoding boundary,
 * fragmentation, ping/pong both ways, every close path, subprotocol negotiation.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Connection } from '../../../src/server/connection.js';
import { recorder, startServer, type Recorded, type TestServer } from './harness.js';

const SIZES = [0, 125, 126, 65_535, 65_536];
const MiB = 1024 * 1024;

const open: WebSocket[] = [];

function connect(url: string, protocols?: string[], opts?: WebSocket.ClientOptions): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, opts);
  open.push(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, binary) => resolve({ data: data as Buffer, binary })));
}

function closeEvent(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

afterEach(() => {
  for (const ws of open.splice(0)) {
    ws.on('error', () => {}); // terminating a refused or half-open client reports an error
    ws.terminate();
  }
});

describe('ws client ↔ echo', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  for (const size of SIZES) {
    it(`echoes a ${size}-byte text message as text`, async () => {
      const ws = await connect(`${server.wsUrl}/echo`);
      const text = 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil(size / 26)).slice(0, size);
      ws.send(text);
      const { data, binary } = await nextMessage(ws);
      expect(binary).toBe(false);
      expect(data.toString()).toBe(text);
    });

    it(`echoes a ${size}-byte binary message as binary`, async () => {
      const ws = await connect(`${server.wsUrl}/echo`);
      const bytes = Buffer.alloc(size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 31) & 0xff;
      ws.send(bytes);
      const { data, binary } = await nextMessage(ws);
      expect(binary).toBe(true);
      expect(data.equals(bytes)).toBe(true);
    });
  }

  it('echoes multi-byte UTF-8 text unchanged', async () => {
    const ws = await connect(`${server.wsUrl}/echo`);
    const text = 'Grüße, 温度 23.5 °C 🌡️';
    ws.send(text);
    expect((await nextMessage(ws)).data.toString()).toBe(text);
  });

  it('reassembles fragmented text and binary messages', async () => {
    const ws = await connect(`${server.wsUrl}/echo`);
    // "é" split across fragments: the UTF-8 check must span fragment boundaries
    const euro = Buffer.from('€');
    ws.send(Buffer.concat([Buffer.from('hé'), euro.subarray(0, 1)]), { fin: false, binary: false });
    ws.send(euro.subarray(1, 2), { fin: false, binary: false });
    ws.send(Buffer.concat([euro.subarray(2), Buffer.from('llo')]), { fin: true, binary: false });
    const text = await nextMessage(ws);
    expect(text).toMatchObject({ binary: false });
    expect(text.data.toString()).toBe('hé€llo');

    ws.send(Buffer.from([1, 2]), { fin: false, binary: true });
    ws.send(Buffer.alloc(0), { fin: false, binary: true });
    ws.send(Buffer.from([3]), { fin: true, binary: true });
    const bin = await nextMessage(ws);
    expect(bin.binary).toBe(true);
    expect([...bin.data]).toEqual([1, 2, 3]);
  });

  it('answers a client ping with a pong carrying the same payload', async () => {
    const ws = await connect(`${server.wsUrl}/echo`);
    const pong = new Promise<Buffer>((resolve) => ws.once('pong', resolve));
    ws.ping(Buffer.from('are you there'));
    expect((await pong).toString()).toBe('are you there');
  });

  it('refuses an unknown path with 404 and a non-upgrade GET / is ordinary HTTP', async () => {
    const ws = new WebSocket(`${server.wsUrl}/nope`);
    open.push(ws);
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!)));
    expect(status).toBe(404);
    const res = await fetch(`${server.httpUrl}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<html>');
  });
});

describe('close paths', () => {
  let server: TestServer;
  const conns: Recorded[] = [];
  beforeAll(async () => {
    server = await startServer({ limits: { maxMessageBytes: 1024 } });
    server.wss.addEndpoint(recorder('/rec', conns));
  });
  afterAll(() => server.stop());

  async function pair(): Promise<{ ws: WebSocket; conn: Connection; serverClosed: Recorded['closed'] }> {
    const before = conns.length;
    const ws = await connect(`${server.wsUrl}/rec`);
    expect(conns.length).toBe(before + 1);
    const { conn, closed } = conns[before]!;
    return { ws, conn, serverClosed: closed };
  }

  for (const [code, reason] of [
    [1000, 'done'],
    [4000, 'custom close'],
  ] as const) {
    it(`client closes with ${code}: the server echoes it, both sides report ${code}`, async () => {
      const { ws, conn, serverClosed } = await pair();
      const client = closeEvent(ws);
      ws.close(code, reason);
      expect(await client).toEqual({ code, reason });
      expect(await serverClosed).toEqual({ code, reason });
      expect(conn.readyState).toBe(3);
    });
  }

  it('client closes without a code: the server reports 1005 and answers 1000', async () => {
    const { ws, serverClosed } = await pair();
    const client = closeEvent(ws);
    ws.close();
    expect(await serverClosed).toEqual({ code: 1005, reason: '' });
    expect((await client).code).toBe(1000);
  });

  it('server closes with 4001 "bye": the client sees code and reason', async () => {
    const { ws, serverClosed } = await pair();
    const client = closeEvent(ws);
    ws.send('close-me');
    expect(await client).toEqual({ code: 4001, reason: 'bye' });
    expect(await serverClosed).toEqual({ code: 4001, reason: 'bye' });
  });

  it('server close(): CLOSING at once, send() then reports closed, CLOSED after the handshake', async () => {
    const { ws, conn, serverClosed } = await pair();
    const client = closeEvent(ws);
    conn.close(1001, 'going away');
    expect(conn.readyState).toBe(2);
    expect(conn.send('late')).toBe('closed');
    expect(await client).toEqual({ code: 1001, reason: 'going away' });
    expect(await serverClosed).toEqual({ code: 1001, reason: 'going away' });
    expect(conn.readyState).toBe(3);
  });

  it('a client that drops TCP without a close frame is reported as 1006', async () => {
    const { ws, serverClosed } = await pair();
    ws.terminate();
    expect(await serverClosed).toEqual({ code: 1006, reason: '' });
  });

  it('protocol errors reach the client as close codes: unmasked 1002, invalid UTF-8 1007, too big 1009', async () => {
    const cases: Array<[(ws: WebSocket) => void, number]> = [
      // an unmasked text frame written straight to the client's socket
      [(ws) => (ws as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.from('81026869', 'hex')), 1002],
      [(ws) => ws.send(Buffer.from([0xc3, 0x28]), { binary: false }), 1007],
      [(ws) => ws.send(Buffer.alloc(1025)), 1009],
    ];
    for (const [misbehave, code] of cases) {
      const { ws, serverClosed } = await pair();
      const client = closeEvent(ws);
      misbehave(ws);
      expect((await client).code).toBe(code);
      expect((await serverClosed).code).toBe(code);
    }
  });
});

describe('keepalive with a ws client', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ limits: { pingIntervalMs: 100, pongTimeoutMs: 500 } });
  });
  afterAll(() => server.stop());

  it('pings an idle client, which answers and stays connected past the pong timeout', async () => {
    const ws = await connect(`${server.wsUrl}/echo`);
    let pings = 0;
    ws.on('ping', () => pings++);
    await new Promise((r) => setTimeout(r, 1_200));
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.send('still here');
    expect((await nextMessage(ws)).data.toString()).toBe('still here');
  });
});

describe('subprotocol negotiation', () => {
  let server: TestServer;
  const conns: Recorded[] = [];
  const JSON_P = 'serialgate.v1.json';
  const CBOR_P = 'serialgate.v1.cbor';
  beforeAll(async () => {
    server = await startServer();
    // server preference: CBOR first, so the server's order (not the client's) must win
    server.wss.addEndpoint(recorder('/proto', conns, [CBOR_P, JSON_P]));
  });
  afterAll(() => server.stop());

  async function negotiated(protocols: string[]): Promise<{ header: string | undefined; server: string | undefined }> {
    let header: string | undefined;
    const ws = new WebSocket(`${server.wsUrl}/proto`, protocols);
    open.push(ws);
    ws.once('upgrade', (res) => (header = res.headers['sec-websocket-protocol'] as string | undefined));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return { header, server: conns[conns.length - 1]!.conn.protocol };
  }

  it("picks the server's preference among those offered", async () => {
    expect(await negotiated([JSON_P, CBOR_P])).toEqual({ header: CBOR_P, server: CBOR_P });
  });

  it('picks the only supported one offered, ignoring unknown ones', async () => {
    expect(await negotiated(['x.unknown', JSON_P])).toEqual({ header: JSON_P, server: JSON_P });
  });

  it('sends no Sec-WebSocket-Protocol when none is offered', async () => {
    expect(await negotiated([])).toEqual({ header: undefined, server: undefined });
  });

  const refusal = (protocols: string[]) => {
    const ws = new WebSocket(`${server.wsUrl}/proto`, protocols);
    open.push(ws);
    return new Promise<{ status: number; body: string }>((resolve) =>
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      }),
    );
  };

  it('refuses a bearer.* credential offered alone with 400 saying a real protocol must come with it (a 101 selecting none fails every browser)', async () => {
    const before = conns.length;
    const { status, body } = await refusal(['bearer.secret-token-123456']);
    expect(status).toBe(400);
    expect(body).toContain('a bearer.<token> subprotocol must come with a supported one');
    expect(body).toContain(JSON_P);
    expect(body).not.toContain('secret');
    expect(conns.length).toBe(before);
  });

  it('refuses a client offering only unknown protocols with 400 naming the supported ones', async () => {
    const { status, body } = await refusal(['mqtt', 'v2.other']);
    expect(status).toBe(400);
    expect(body).toContain(CBOR_P);
  });
});

describe('16 MiB messages', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ limits: { maxMessageBytes: 17 * MiB, sendHardLimitBytes: 40 * MiB } });
  });
  afterAll(() => server.stop());

  it('echoes 16 MiB of text and of binary', async () => {
    const ws = await connect(`${server.wsUrl}/echo`);
    const text = 'x'.repeat(16 * MiB);
    ws.send(text);
    const t = await nextMessage(ws);
    expect(t.binary).toBe(false);
    expect(t.data.length).toBe(16 * MiB);
    expect(t.data.toString() === text).toBe(true);

    const bytes = Buffer.alloc(16 * MiB);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i & 0xff;
    ws.send(bytes);
    const b = await nextMessage(ws);
    expect(b.binary).toBe(true);
    expect(b.data.equals(bytes)).toBe(true);
  });
});
