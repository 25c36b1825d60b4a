/**
 * Memory per idle open connection: RSS (and V8 heap) growth of a server process holding N idle
 * WebSocket connections, measured after gc, ours vs a `ws` WebSocketServer.
 *
 * Each round starts a fresh server child (ours or ws, alternating), warms it up with a first
 * batch of connections that are closed again (JIT, pools, lazily created structures), takes the
 * baseline after gc, then this process opens N raw client connections (handshake only, then
 * silence) and the child measures again after gc. Medians over the rounds.
 *
 *   npm run build && node dist/bench/memory.js [--connections 2000] [--rounds 3]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { serverSchema } from '../src/config/schema.js';
import { silentLogger } from '../src/log.js';
import { createHttpServer } from '../src/server/http-server.js';
import { WsServer } from '../src/server/ws-server.js';

const BARE_101 = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';

type Kind = 'ours' | 'ws' | 'bare';
interface Usage {
  rss: number;
  heapUsed: number;
  external: number;
  connections: number;
}
type ToServer = { cmd: 'measure' } | { cmd: 'exit' };
type FromServer = { port: number } | Usage;

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

// ---------------------------------------------------------------- server child

async function serverMain(kind: Kind): Promise<void> {
  const config = serverSchema.parse({ port: 0, limits: { maxConnections: 100_000, maxConnectionsPerAddress: 100_000 } });
  const httpServer = createHttpServer(config, (_req, res) => res.end()) as http.Server;
  let count: () => number;
  if (kind === 'ws') {
    const wss = new WebSocketServer({ server: httpServer });
    count = () => wss.clients.size;
  } else if (kind === 'bare') {
    // the floor: Node's upgraded socket held with a no-op reader, no WebSocket layer at all
    const held = new Set<Duplex>();
    httpServer.on('upgrade', (_req, socket: Duplex) => {
      held.add(socket);
      socket.on('data', () => {});
      socket.on('end', () => socket.end());
      socket.on('close', () => held.delete(socket));
      socket.write(BARE_101);
    });
    count = () => held.size;
  } else {
    const wss = new WsServer(httpServer, config.limits, silentLogger());
    wss.addEndpoint({ path: '/', protocols: [], onConnection() {} });
    count = () => wss.connections.size;
  }
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  process.send!({ port: (httpServer.address() as AddressInfo).port } satisfies FromServer);
  process.on('message', async (msg: ToServer) => {
    if (msg.cmd === 'exit') process.exit(0);
    // settle: let pending I/O finish, then collect until the heap stops shrinking
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 4; i++) {
      globalThis.gc!();
      await new Promise((r) => setImmediate(r));
    }
    const m = process.memoryUsage();
    process.send!({ rss: m.rss, heapUsed: m.heapUsed, external: m.external + m.arrayBuffers, connections: count() } satisfies FromServer);
  });
}

// ---------------------------------------------------------------- client side (parent)

function startChild(kind: Kind): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['server', kind], { execArgv: ['--expose-gc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (m: FromServer) => resolve({ child, port: (m as { port: number }).port }));
  });
}

function measure(child: ChildProcess): Promise<Usage> {
  return new Promise((resolve) => {
    child.once('message', (m: FromServer) => resolve(m as Usage));
    child.send({ cmd: 'measure' } satisfies ToServer);
  });
}

/** Opens `n` idle raw client connections (in waves of 100), resolved once each has its 101. */
async function openClients(port: number, n: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      sockets.push(socket);
      let head = '';
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => {
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        if (!head.startsWith('HTTP/1.1 101')) reject(new Error(head.split('\r\n')[0]));
        else resolve();
      });
      socket.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: Math.min(100, n - i) }, one));
  return sockets;
}

async function closeAll(sockets: net.Socket[]): Promise<void> {
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.once('close', () => resolve()).destroy())));
}

async function round(kind: Kind, n: number): Promise<{ rss: number; heap: number; external: number }> {
  const { child, port } = await startChild(kind);
  // warm-up: a batch that comes and goes
  await closeAll(await openClients(port, Math.min(n, 200)));
  const before = await measure(child);
  const sockets = await openClients(port, n);
  const after = await measure(child);
  if (after.connections !== n) throw new Error(`${kind}: ${after.connections} connections, expected ${n}`);
  child.send({ cmd: 'exit' } satisfies ToServer);
  await closeAll(sockets);
  return {
    rss: (after.rss - before.rss) / n,
    heap: (after.heapUsed - before.heapUsed) / n,
    external: (after.external - before.external) / n,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

async function main(): Promise<void> {
  const n = arg('connections', 2000);
  const rounds = arg('rounds', 3);
  const kinds: Kind[] = ['ours', 'ws', 'bare'];
  const results: Record<Kind, Array<{ rss: number; heap: number; external: number }>> = { ours: [], ws: [], bare: [] };
  for (let r = 0; r < rounds; r++) {
    for (const kind of kinds) results[kind].push(await round(kind, n));
  }
  const row = (kind: Kind) => {
    const s = results[kind];
    return { rss: median(s.map((x) => x.rss)), heap: median(s.map((x) => x.heap)) };
  };
  const [ours, ws, bare] = kinds.map(row) as [ReturnType<typeof row>, ReturnType<typeof row>, ReturnType<typeof row>];
  console.log(`${n} idle connections per server process, ${rounds} rounds alternating (medians), growth after gc per connection\n`);
  console.log('| server | RSS / connection | V8 heap / connection | heap above a bare Node socket |');
  console.log('|---|---:|---:|---:|');
  console.log(`| ws | ${kb(ws.rss)} | ${kb(ws.heap)} | ${kb(ws.heap - bare.heap)} |`);
  console.log(`| serialgate | ${kb(ours.rss)} | ${kb(ours.heap)} | ${kb(ours.heap - bare.heap)} |`);
  console.log(`| bare upgraded Node socket (floor) | ${kb(bare.rss)} | ${kb(bare.heap)} | 0 |`);
  console.log(
    `| serialgate / ws | ${(ours.rss / ws.rss).toFixed(2)}× | ${(ours.heap / ws.heap).toFixed(2)}× | ${((ours.heap - bare.heap) / (ws.heap - bare.heap)).toFixed(2)}× |`,
  );
}

if (process.argv[2] === 'server') void serverMain(process.argv[3] as Kind);
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
