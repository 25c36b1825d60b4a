/**
 * The per-connection fault boundary, on a real server with real ws peers: an exception thrown
 * by a handler of one connection's events closes that connection with 1011, is logged once with
 * SG_ERR_CONNECTION_FAULT and counted, and costs nothing else.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { metrics } from '../../../src/metrics.js';
import { createLogger } from '../../../src/log.js';
import type { Connection } from '../../../src/server/connection.js';
import type { EndpointOptions } from '../../../src/server/ws-server.js';
import { Opcode } from '../../../src/ws/constants.js';
import { startServer, type TestServer } from './harness.js';
import { RawPeer, clientFrame, isMessage } from './raw-peer.js';

/** What a handler does on each text message (any other text is echoed). */
const BUGS: Record<string, (conn: Connection) => void> = {
  throw: () => {
    throw new Error('handler bug');
  },
  'throw-on-close': (conn) => {
    conn.once('close', () => {
      throw new Error('close handler bug');
    });
  },
  'throw-on-drain': (conn) => {
    conn.once('drain', () => {
      throw new Error('drain handler bug');
    });
    // fill the queue past the soft limit so that 'drain' follows
    const big = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 64 && conn.send(big) === 'ok'; i++);
  },
};

const faultEndpoint: EndpointOptions<void> = {
  path: '/fault',
  protocols: [],
  onConnection(conn) {
    conn.on('message', (data: Buffer, binary: boolean) => {
      const bug = binary ? undefined : BUGS[data.toString()];
      if (bug) bug(conn);
      else conn.send(data, binary);
    });
  },
};

const throwingEndpoint: EndpointOptions<void> = {
  path: '/throws-on-connection',
  protocols: [],
  onConnection() {
    throw new Error('endpoint bug');
  },
};

let server: TestServer;
const lines: Array<Record<string, unknown>> = [];
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);
const open: WebSocket[] = [];

beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  const logger = createLogger('debug', { destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  server = await startServer({ logger, endpoints: [faultEndpoint, throwingEndpoint], limits: { sendSoftLimitBytes: 16 * 1024 } });
});

afterEach(() => {
  for (const ws of open.splice(0)) ws.terminate();
});

afterAll(async () => {
  await server.stop();
  process.off('uncaughtException', onUncaught);
});

async function connect(path = '/fault'): Promise<WebSocket> {
  const ws = new WebSocket(`${server.wsUrl}${path}`);
  open.push(ws);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return ws;
}

function closeEvent(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

async function echo(ws: WebSocket, text: string): Promise<string> {
  const got = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
  ws.send(text);
  return got;
}

async function faults(): Promise<number> {
  const { values } = await metrics.faults.get();
  return values.find((v) => v.labels.boundary === 'connection')?.value ?? 0;
}

const faultLines = () => lines.filter((l) => l.code === 'SG_ERR_CONNECTION_FAULT');

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('per-connection fault boundary', () => {
  it('a message handler that throws closes its connection with 1011; another connection keeps being served', async () => {
    const [faultsBefore, linesBefore] = [await faults(), faultLines().length];
    const victim = await connect();
    const bystander = await connect();
    expect(await echo(bystander, 'before')).toBe('before');

    const closed = closeEvent(victim);
    victim.send('throw');
    expect(await closed).toEqual({ code: 1011, reason: 'internal error' });

    expect(await echo(bystander, 'after')).toBe('after');
    expect(await faults()).toBe(faultsBefore + 1);
    const logged = faultLines().slice(linesBefore);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 50, err: { message: 'handler bug' } });
    expect(uncaught).toEqual([]);
  });

  it('the messages that arrived with the fatal one are not delivered, and a close frame behind them is answered', async () => {
    const peer = await RawPeer.open(server.port, { path: '/fault' });
    try {
      // one TCP write: the handler throws on the first message, the second must not reach it
      peer.send(Buffer.concat([clientFrame(Opcode.Text, 'throw'), clientFrame(Opcode.Text, 'not delivered'), clientFrame(Opcode.Ping, 'p')]));
      expect(await peer.closeFrame()).toEqual({ code: 1011, reason: 'internal error' });
      await peer.closed;
      expect(peer.events.filter(isMessage)).toEqual([]);
      expect(peer.events.map((e) => e.type)).toEqual(['close']);
    } finally {
      peer.destroy();
    }
    expect(uncaught).toEqual([]);
  });

  it("a 'close' listener that throws is logged and counted, and nothing else happens", async () => {
    const [faultsBefore, linesBefore] = [await faults(), faultLines().length];
    const ws = await connect();
    ws.send('throw-on-close');
    expect(await echo(ws, 'sync')).toBe('sync'); // the listener is in place
    const closed = closeEvent(ws);
    ws.close(4000, 'bye');
    expect(await closed).toEqual({ code: 4000, reason: 'bye' });
    await until(async () => (await faults()) === faultsBefore + 1);
    expect(faultLines().slice(linesBefore)).toHaveLength(1);
    const bystander = await connect();
    expect(await echo(bystander, 'still here')).toBe('still here');
    expect(uncaught).toEqual([]);
  });

  it("a 'drain' listener that throws closes its connection with 1011", async () => {
    const faultsBefore = await faults();
    const ws = await connect();
    const closed = closeEvent(ws);
    ws.send('throw-on-drain');
    expect(await closed).toEqual({ code: 1011, reason: 'internal error' });
    expect(await faults()).toBe(faultsBefore + 1);
    expect(uncaught).toEqual([]);
  });

  it('an onConnection hook that throws costs that connection (1011), counted like any fault', async () => {
    const faultsBefore = await faults();
    const ws = new WebSocket(`${server.wsUrl}/throws-on-connection`);
    open.push(ws);
    expect(await closeEvent(ws)).toEqual({ code: 1011, reason: 'internal error' });
    expect(await faults()).toBe(faultsBefore + 1);
    const bystander = await connect();
    expect(await echo(bystander, 'served')).toBe('served');
  });
});
