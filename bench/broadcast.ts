/**
 * Broadcast: one 60-byte text message to 1,000 open connections on loopback, repeated.
 * Figure of merit: CPU time of the server process per delivered frame, ours (frame once +
 * broadcast()) vs a `ws` WebSocketServer doing client.send(data) for each client.
 *
 * Processes: this one holds the 2 × 1,000 client sockets (raw net sockets that complete the
 * handshake and count the bytes they receive); each server runs in a child process so that
 * process.cpuUsage() there measures the server alone. Rounds alternate ours / ws; medians.
 * Keepalive is off in both servers (ws has none by default), so every byte counted is a frame.
 *
 *   npm run build && node dist/bench/broadcast.js [--clients 1000] [--messages 50] [--rounds 3]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { serverSchema } from '../src/config/schema.js';
import { silentLogger } from '../src/log.js';
import { createHttpServer } from '../src/server/http-server.js';
import { broadcast, WsServer } from '../src/server/ws-server.js';
import { Opcode } from '../src/ws/constants.js';
import { encodeFrame } from '../src/ws/frame-encoder.js';

type Kind = 'ours' | 'ws';
type ToServer = { cmd: 'round'; messages: number; perTick: number } | { cmd: 'report' } | { cmd: 'exit' };
type FromServer = { port: number } | { user: number; system: number; connections: number };

// 60 bytes, a typical reading
const MESSAGE = '{"type":"reading","seq":123456,"device":"bench1","v":23.456}';
const FRAME_BYTES = 2 + Buffer.byteLength(MESSAGE);

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

// ---------------------------------------------------------------- server child

async function serverMain(kind: Kind): Promise<void> {
  const config = serverSchema.parse({ port: 0, limits: { pingIntervalMs: 0, maxConnections: 10_000, maxConnectionsPerAddress: 10_000 } });
  const httpServer = createHttpServer(config, (_req, res) => res.end()) as http.Server;
  let send: () => void;
  let corkAll = () => {};
  let uncorkAll = () => {};
  let count: () => number;
  if (kind === 'ws') {
    const wss = new WebSocketServer({ server: httpServer });
    send = () => {
      for (const client of wss.clients) client.send(MESSAGE);
    };
    count = () => wss.clients.size;
  } else {
    const wss = new WsServer(httpServer, config.limits, silentLogger());
    wss.addEndpoint({ path: '/', protocols: [], onConnection() {} });
    send = () => void broadcast(encodeFrame(Opcode.Text, MESSAGE), wss.connections);
    count = () => wss.connections.size;
    // what the hub does with coalesceMs: the frames of one flush go out in one writev per socket
    corkAll = () => wss.connections.forEach((c) => c.cork());
    uncorkAll = () => wss.connections.forEach((c) => c.uncork());
  }
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  process.send!({ port: (httpServer.address() as AddressInfo).port } satisfies FromServer);

  let start = process.cpuUsage();
  process.on('message', (msg: ToServer) => {
    if (msg.cmd === 'exit') process.exit(0);
    if (msg.cmd === 'report') {
      // the parent asks once every frame has arrived at the clients
      const cpu = process.cpuUsage(start);
      process.send!({ user: cpu.user, system: cpu.system, connections: count() } satisfies FromServer);
      return;
    }
    start = process.cpuUsage();
    let left = msg.messages;
    // `perTick` messages per event-loop turn, as readings arrive over time rather than in one loop
    const tick = () => {
      if (msg.perTick > 1) corkAll();
      for (let i = 0; i < msg.perTick && left > 0; i++, left--) send();
      if (msg.perTick > 1) uncorkAll();
      if (left > 0) setImmediate(tick);
    };
    tick();
  });
}

// ---------------------------------------------------------------- client side (parent)

interface Fleet {
  kind: Kind;
  child: ChildProcess;
  port: number;
  sockets: net.Socket[];
  received: number;
}

function startServer(kind: Kind): Promise<Fleet> {
  const child = fork(fileURLToPath(import.meta.url), ['server', kind], { execArgv: ['--expose-gc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (m: FromServer) => {
      if ('port' in m) resolve({ kind, child, port: m.port, sockets: [], received: 0 });
    });
  });
}

/** A raw client: sends the handshake, waits for the 101, then only counts bytes. */
function connectClient(fleet: Fleet): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(fleet.port, '127.0.0.1');
    let head = '';
    socket.once('error', reject);
    socket.on('data', function onHead(chunk: Buffer) {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`${fleet.kind}: ${head.split('\r\n')[0]}`));
      socket.off('data', onHead);
      fleet.received += head.length - end - 4;
      socket.on('data', (c: Buffer) => (fleet.received += c.length));
      resolve();
    });
    socket.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    fleet.sockets.push(socket);
  });
}

function ask(fleet: Fleet, msg: ToServer): Promise<FromServer> {
  return new Promise((resolve) => {
    fleet.child.once('message', resolve);
    fleet.child.send(msg);
  });
}

interface Sample {
  /** CPU ns per delivered frame: user, system */
  user: number;
  system: number;
}

async function round(fleet: Fleet, clients: number, messages: number, perTick: number): Promise<Sample> {
  fleet.received = 0;
  const expected = clients * messages * FRAME_BYTES;
  fleet.child.send({ cmd: 'round', messages, perTick } satisfies ToServer);
  const deadline = Date.now() + 20_000;
  while (fleet.received < expected) {
    if (Date.now() > deadline) throw new Error(`${fleet.kind}: ${fleet.received}/${expected} bytes after 20 s`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const report = (await ask(fleet, { cmd: 'report' })) as { user: number; system: number; connections: number };
  if (report.connections !== clients) throw new Error(`${fleet.kind}: ${report.connections} connections`);
  const frames = clients * messages;
  return { user: (report.user * 1000) / frames, system: (report.system * 1000) / frames };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const clients = arg('clients', 1000);
  // few messages per round: the clients' side (this process) and a shared 2-core machine set the
  // wall time, and each bench must stay under a minute
  const messages = arg('messages', 50);
  const warmup = Math.max(10, Math.floor(messages / 5));
  const rounds = arg('rounds', 3);
  const kinds: Kind[] = ['ours', 'ws'];
  const modes = [1, 10]; // messages per event-loop turn
  const fleets: Fleet[] = [];
  for (const kind of kinds) {
    const fleet = await startServer(kind);
    for (let i = 0; i < clients; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, clients - i) }, () => connectClient(fleet)));
    }
    fleets.push(fleet);
  }
  const results = new Map<string, Sample[]>();
  // one warm-up round each, then alternate ours / ws
  for (let r = -1; r < rounds; r++) {
    for (const perTick of modes) {
      for (const fleet of fleets) {
        const sample = await round(fleet, clients, r < 0 ? warmup : messages, perTick);
        const key = `${fleet.kind}/${perTick}`;
        if (r >= 0) results.set(key, [...(results.get(key) ?? []), sample]);
      }
    }
  }
  for (const fleet of fleets) {
    fleet.child.send({ cmd: 'exit' } satisfies ToServer);
    for (const s of fleet.sockets) s.destroy();
  }

  console.log(
    `${clients} connections on loopback, ${messages} broadcasts of one ${Buffer.byteLength(MESSAGE)}-byte text message per round, ` +
      `${rounds} rounds alternating ours / ws (medians); server CPU (user + system) per delivered frame\n`,
  );
  console.log('| messages per tick | ws: `client.send(data)` per client | serialgate: `encodeFrame` once + `broadcast()` | ratio |');
  console.log('|---|---:|---:|---:|');
  for (const perTick of modes) {
    const cell = (kind: Kind) => {
      const samples = results.get(`${kind}/${perTick}`)!;
      const user = median(samples.map((s) => s.user));
      const system = median(samples.map((s) => s.system));
      const total = median(samples.map((s) => s.user + s.system));
      return { total, text: `${(total / 1000).toFixed(2)} µs (user ${(user / 1000).toFixed(2)}, sys ${(system / 1000).toFixed(2)})` };
    };
    const ws = cell('ws');
    const ours = cell('ours');
    const how = perTick === 1 ? '1 (each frame its own write)' : `${perTick} (ours corks each socket for the tick, as the hub's coalescing does)`;
    console.log(`| ${how} | ${ws.text} | ${ours.text} | ${(ours.total / ws.total).toFixed(2)}× |`);
  }
}

if (process.argv[2] === 'server') void serverMain(process.argv[3] as Kind);
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
