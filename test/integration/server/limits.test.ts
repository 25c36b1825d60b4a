/**
 * Resource limits with real sockets: keepalive against a silent peer, outbound caps against a
 * peer that never reads, the close timeout, connection caps, shutdown, and 1,000 concurrent
 * clients. Each case ends with a fresh client being served.
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Connection, SendResult } from '../../../src/server/connection.js';
import type { EndpointOptions } from '../../../src/server/ws-server.js';
import { metrics } from '../../../src/metrics.js';
import { Opcode } from '../../../src/ws/constants.js';
import { expectServed, recorder, startServer, type Recorded, type TestServer, type TestServerOptions } from './harness.js';
import { clientFrame, isMessage, RawPeer } from './raw-peer.js';

const cleanups: Array<() => unknown> = [];

afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function serve(opts: TestServerOptions): Promise<TestServer> {
  const s = await startServer(opts);
  cleanups.push(() => s.stop());
  return s;
}

async function peer(s: TestServer, opts: Parameters<typeof RawPeer.open>[1] = {}): Promise<RawPeer> {
  const p = await RawPeer.open(s.port, opts);
  cleanups.push(() => p.destroy());
  return p;
}

function openWs(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  cleanups.push(() => {
    ws.on('error', () => {});
    ws.terminate();
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

describe('keepalive', () => {
  it('a peer that never answers ping is terminated after the pong timeout (1006)', async () => {
    const conns: Recorded[] = [];
    const s = await serve({ limits: { pingIntervalMs: 100, pongTimeoutMs: 200 } });
    s.wss.addEndpoint(recorder('/rec', conns));
    const p = await peer(s, { path: '/rec' });
    const started = Date.now();
    await p.closed;
    const elapsed = Date.now() - started;
    expect(p.events.filter((e) => e.type === 'ping').length).toBeGreaterThanOrEqual(1);
    // ping after ≥ 100 ms of silence, then ≥ 200 ms without an answer
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(await conns[0]!.closed).toEqual({ code: 1006, reason: '' });
    await expectServed(s);
  });

  it('a peer that sends data instead of pongs counts as alive', async () => {
    // pongTimeout well above the 80 ms send period: a loaded CI machine must not make it flaky
    const s = await serve({ limits: { pingIntervalMs: 100, pongTimeoutMs: 500 } });
    const p = await peer(s);
    for (let i = 0; i < 10; i++) {
      p.send(clientFrame(Opcode.Text, `tick ${i}`));
      await new Promise((r) => setTimeout(r, 80));
    }
    expect(p.tcpClosed).toBe(false);
    expect(p.events.filter(isMessage)).toHaveLength(10);
  });
});

/** Test endpoint: sends `size`-byte binary messages as fast as the event loop allows until
 *  send() says 'closed' (or 20,000 messages), recording the largest bufferedAmount seen. */
function flooder(
  size: number,
  record: { maxBuffered: number; results: Map<SendResult, number>; closed?: Promise<{ code: number; reason: string }> },
): EndpointOptions<void> {
  return {
    path: '/flood',
    protocols: [],
    onConnection(conn: Connection) {
      record.closed = new Promise((resolve) => conn.once('close', (code: number, reason: string) => resolve({ code, reason })));
      const payload = Buffer.alloc(size, 0x61);
      let sent = 0;
      const burst = () => {
        for (let i = 0; i < 64 && sent < 20_000; i++, sent++) {
          const r = conn.send(payload);
          record.results.set(r, (record.results.get(r) ?? 0) + 1);
          record.maxBuffered = Math.max(record.maxBuffered, conn.bufferedAmount);
          if (r === 'closed') return;
        }
        if (sent < 20_000) setImmediate(burst);
      };
      burst();
    },
  };
}

describe('handshake timeout', () => {
  it('does not apply once upgraded: a connection outlives handshakeTimeoutMs (300 ms) by far', async () => {
    const s = await serve({ limits: { handshakeTimeoutMs: 300, pingIntervalMs: 0 } });
    const ws = await openWs(`${s.wsUrl}/echo`);
    await new Promise((r) => setTimeout(r, 1_200));
    expect(ws.readyState).toBe(WebSocket.OPEN);
    const echoed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
    ws.send('alive');
    expect(await echoed).toBe('alive');
  });
});

describe('a peer that never reads', () => {
  it('is closed with 1013 at the hard cap; bufferedAmount never exceeds the cap plus one message', async () => {
    const hard = 64 * 1024;
    const size = 1024;
    const record = { maxBuffered: 0, results: new Map<SendResult, number>() } as Parameters<typeof flooder>[1];
    const s = await serve({ limits: { sendSoftLimitBytes: 16 * 1024, sendHardLimitBytes: hard } });
    s.wss.addEndpoint(flooder(size, record));
    await peer(s, { path: '/flood', read: false });
    await expect.poll(() => record.closed, { timeout: 5_000 }).toBeDefined();
    expect(await record.closed).toEqual({ code: 1013, reason: 'send buffer full' });
    expect(record.results.get('backpressure')).toBeGreaterThan(0);
    expect(record.results.get('closed')).toBe(1);
    expect(record.maxBuffered).toBeLessThanOrEqual(hard + size + 4);
    expect(s.wss.connections.size).toBe(0);
    await expectServed(s);
  });

  it('pings flooded by a peer that does not read its pongs hit the same cap', async () => {
    const conns: Recorded[] = [];
    const s = await serve({ limits: { sendSoftLimitBytes: 1024, sendHardLimitBytes: 8 * 1024 } });
    s.wss.addEndpoint(recorder('/rec', conns));
    const p = await peer(s, { path: '/rec', read: false });
    const ping = clientFrame(Opcode.Ping, Buffer.alloc(125));
    const batch = Buffer.concat(Array.from({ length: 1000 }, () => ping));
    for (let i = 0; i < 200 && !p.socket.destroyed && conns[0]!.conn.readyState === 1; i++) {
      p.send(batch);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await conns[0]!.closed).toEqual({ code: 1013, reason: 'send buffer full' });
  });

  it("a slow reader gets 'backpressure', then 'drain' once it reads again", async () => {
    const record = { maxBuffered: 0, results: new Map<SendResult, number>() } as Parameters<typeof flooder>[1];
    let drained = 0;
    const s = await serve({ limits: { sendSoftLimitBytes: 16 * 1024, sendHardLimitBytes: 64 * 1024 * 1024 } });
    s.wss.addEndpoint({
      path: '/bp',
      protocols: [],
      onConnection(conn) {
        conn.on('drain', () => {
          drained++;
          expect(conn.bufferedAmount).toBeLessThanOrEqual(16 * 1024);
        });
        const payload = Buffer.alloc(4096);
        // fill until backpressure (bounded), then stop sending
        for (let i = 0; i < 10_000; i++) {
          const r = conn.send(payload);
          record.results.set(r, (record.results.get(r) ?? 0) + 1);
          if (r === 'backpressure') break;
        }
      },
    });
    const p = await peer(s, { path: '/bp', read: false });
    await expect.poll(() => record.results.get('backpressure') ?? 0).toBe(1);
    expect(drained).toBe(0);
    p.socket.resume(); // read (and discard) everything
    await expect.poll(() => drained, { timeout: 5_000 }).toBe(1);
  });
});

describe('close handshake', () => {
  it('a peer that never answers our close is destroyed after closeTimeoutMs; the event keeps our code', async () => {
    const conns: Recorded[] = [];
    const s = await serve({ limits: { closeTimeoutMs: 300 } });
    s.wss.addEndpoint(recorder('/rec', conns));
    const p = await peer(s, { path: '/rec' });
    conns[0]!.conn.close(4002, 'no answer expected');
    expect(await p.closeFrame()).toEqual({ code: 4002, reason: 'no answer expected' });
    const started = Date.now();
    await p.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(await conns[0]!.closed).toEqual({ code: 4002, reason: 'no answer expected' });
  });

  it('a peer that sends close but never closes TCP is destroyed after closeTimeoutMs; the event has its code', async () => {
    const conns: Recorded[] = [];
    const s = await serve({ limits: { closeTimeoutMs: 300 } });
    s.wss.addEndpoint(recorder('/rec', conns));
    const p = await peer(s, { path: '/rec', allowHalfOpen: true });
    const payload = Buffer.from([0x0f, 0xa2, 0x6f, 0x6b]); // 4002 "ok"
    p.send(clientFrame(Opcode.Close, payload));
    expect(await p.closeFrame()).toEqual({ code: 4002, reason: 'ok' }); // echoed
    const started = Date.now();
    expect(await conns[0]!.closed).toEqual({ code: 4002, reason: 'ok' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(p.socket.destroyed).toBe(false); // the peer never closed: the server's timer did
  });

  it('a close frame with an invalid code from us is a caller bug (RangeError), not a wire error', async () => {
    const conns: Recorded[] = [];
    const s = await serve({});
    s.wss.addEndpoint(recorder('/rec', conns));
    await peer(s, { path: '/rec' });
    expect(() => conns[0]!.conn.close(1006)).toThrow(RangeError);
    expect(conns[0]!.conn.readyState).toBe(1);
  });

  it('WsServer.close() closes every connection with 1001, refuses new upgrades with 503, resolves when all are closed', async () => {
    const s = await serve({ limits: { closeTimeoutMs: 300 } });
    const clients = await Promise.all([1, 2, 3].map(() => openWs(`${s.wsUrl}/echo`)));
    const codes = clients.map((ws) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code))));
    const silent = await peer(s); // never answers the close: bounded by closeTimeoutMs
    const first = s.wss.close();
    await Promise.all([first, s.wss.close(4000, 'ignored: already closing')]);
    expect(s.wss.connections.size).toBe(0);
    expect(await Promise.all(codes)).toEqual([1001, 1001, 1001]);
    expect(silent.events.find((e) => e.type === 'close')).toMatchObject({ code: 1001 });
    const refused = new WebSocket(`${s.wsUrl}/echo`);
    const status = await new Promise<number>((resolve) => refused.once('unexpected-response', (_q, res) => resolve(res.statusCode!)));
    refused.on('error', () => {});
    refused.terminate();
    expect(status).toBe(503);
  });
});

describe('endpoint hooks', () => {
  it('an authorize refusal is answered with its status and nothing is upgraded', async () => {
    const s = await serve({});
    s.wss.addEndpoint({
      path: '/auth',
      protocols: [],
      authorize: (info) =>
        new URLSearchParams(info.query).get('k') === 'ok' ? { ok: true, context: 'ctx' } : { ok: false, status: 401, message: 'no' },
      onConnection(conn, _info, context) {
        conn.on('message', () => conn.send(String(context)));
      },
    });
    await expect(openWs(`${s.wsUrl}/auth?k=bad`)).rejects.toThrow('401');
    const ws = await openWs(`${s.wsUrl}/auth?k=ok`);
    const reply = new Promise((resolve) => ws.once('message', (d) => resolve(String(d))));
    ws.send('which context?');
    expect(await reply).toBe('ctx');
    expect(s.wss.connections.size).toBe(1);
  });

  it('a throwing authorize → 500, a throwing onConnection → close 1011; the server lives on', async () => {
    const s = await serve({});
    const bug = () => {
      throw new Error('bug');
    };
    s.wss.addEndpoint({ path: '/a', protocols: [], authorize: bug, onConnection() {} });
    s.wss.addEndpoint({ path: '/c', protocols: [], onConnection: bug });
    await expect(openWs(`${s.wsUrl}/a`)).rejects.toThrow('500');
    const ws = await openWs(`${s.wsUrl}/c`);
    expect(await new Promise((resolve) => ws.once('close', (code) => resolve(code)))).toBe(1011);
    await expectServed(s);
  });
});

describe('connection limits', () => {
  it('maxConnectionsPerAddress: one peer holding its share costs the others nothing; a freed slot is usable again', async () => {
    const s = await serve({ limits: { maxConnectionsPerAddress: 5 } });
    const refused = async () => (await metrics.connectionsRefused.get()).values[0]?.value ?? 0;
    const before = await refused();
    // five idle TCP connections from 127.0.0.2, never a byte: a slowloris holding its share
    const hold = (localAddress: string) =>
      new Promise<net.Socket>((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port: s.port, localAddress }, () => resolve(sock));
        sock.once('error', reject);
        cleanups.push(() => sock.destroy());
      });
    const held = await Promise.all([1, 2, 3, 4, 5].map(() => hold('127.0.0.2')));
    // the sixth from that address is closed at accept, before it could send anything
    const sixth = await hold('127.0.0.2');
    await new Promise((r) => sixth.once('close', r));
    expect(await refused()).toBe(before + 1);
    // a dashboard from another address is served as if nothing happened
    const ws = await openWs(`${s.wsUrl}/echo`);
    const echoed = new Promise((r) => ws.once('message', (d) => r(String(d))));
    ws.send('still here');
    expect(await echoed).toBe('still here');
    // a slot given back by the first peer can be taken again
    held[0]!.destroy();
    await expect
      .poll(async () => {
        const again = await hold('127.0.0.2');
        const open = await Promise.race([new Promise((r) => again.once('close', () => r(false))), sleep(200).then(() => true)]);
        again.destroy();
        return open;
      })
      .toBe(true);
  });

  it('beyond maxConnections → 503; a slot freed is usable again', async () => {
    const s = await serve({ limits: { maxConnections: 3 } });
    const clients = await Promise.all([1, 2, 3].map(() => openWs(`${s.wsUrl}/echo`)));
    const fourth = new WebSocket(`${s.wsUrl}/echo`);
    const status = await new Promise<number>((resolve) => fourth.once('unexpected-response', (_q, res) => resolve(res.statusCode!)));
    fourth.on('error', () => {});
    fourth.terminate();
    expect(status).toBe(503);
    const closed = new Promise((r) => clients[0]!.once('close', r));
    clients[0]!.close();
    await closed;
    await expect.poll(() => s.wss.connections.size).toBe(2);
    await expectServed(s);
  });

  it('1,000 concurrent ws clients all get their echo', async () => {
    ensureFileDescriptors(2_500);
    const s = await serve({ limits: { maxConnections: 2_000, maxConnectionsPerAddress: 2_000 } });
    const N = 1_000;
    const clients: WebSocket[] = [];
    // open in waves of 100 so the 2 cores and the accept backlog keep up
    for (let i = 0; i < N; i += 100) clients.push(...(await Promise.all(Array.from({ length: 100 }, () => openWs(`${s.wsUrl}/echo`)))));
    expect(s.wss.connections.size).toBe(N);
    const echoes = clients.map(
      (ws, i) =>
        new Promise<boolean>((resolve) => {
          ws.once('message', (d) => resolve(String(d) === `client ${i}`));
          ws.send(`client ${i}`);
        }),
    );
    expect((await Promise.all(echoes)).every(Boolean)).toBe(true);
    await expectServed(s);
  }, 60_000);
});

/**
 * 1,000 clients and their 1,000 server sockets live in this process: raise the soft open-file
 * limit up to the hard one when it is lower (prlimit, util-linux), as a default 1024 would not do.
 */
function ensureFileDescriptors(want: number): void {
  const read = () =>
    execFileSync('prlimit', ['--pid', String(process.pid), '--nofile', '--raw', '--noheadings', '-o', 'SOFT,HARD'])
      .toString()
      .trim()
      .split(/\s+/);
  const [soft, hard] = read();
  const limit = (v: string | undefined) => (v === 'unlimited' ? Infinity : Number(v));
  if (limit(soft) >= want) return;
  if (limit(hard) < want) throw new Error(`open-file limit ${soft}/${hard} is below ${want}: raise the hard limit (ulimit -Hn)`);
  execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${want}:${hard}`]);
}
