/**
 * Fleet latency and cost (README "Benchmarks"): readings published to gateway B's MQTT device at
 * 100 and 1,000 /s reach a dashboard on gateway A through one Mosquitto (fleet mode) — p50/p99
 * end-to-end latency (publisher timestamp in the payload → dashboard receive) and A's CPU per
 * relayed reading (/proc/<pid>/stat) — against the same readings delivered by B to its own
 * dashboard; and a remote command's round trip (dashboard on A → firmware mock on B → ack)
 * against a local one (dashboard on B).
 *
 *   npm run bench -- fleet      (~40 s)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { startMock } from '../firmware-mock/index.js';
import { cpuTotalUs } from './_common.js';

const CLI = fileURLToPath(new URL('../src/cli.cjs', import.meta.url));
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), 'sg-bench-fleet-'));
const procs: ChildProcess[] = [];

async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

async function broker(): Promise<string> {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'set_tcp_nodelay true',
      ...(process.getuid?.() === 0 ? ['user root'] : []),
    ].join('\n') + '\n',
  );
  procs.push(spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' }));
  await sleep(300);
  return `mqtt://127.0.0.1:${port}`;
}

/** a gateway process; resolves with its WebSocket URL once it logged "fleet federation live" */
async function gateway(id: string, url: string, link: string): Promise<{ ws: string; pid: number }> {
  const file = join(dir, `${id}.yaml`);
  writeFileSync(
    file,
    [
      `gateway: { id: ${id} }`,
      'server: { host: 127.0.0.1, port: 0 }',
      'auth: { anonymous: operator }',
      'log: { level: info }',
      // the round-trip loop below sends back to back: no rate limit in the way
      'hub: { commandRate: { perSecond: 10000, burst: 10000 } }',
      `mqtt: { url: "${url}", federation: { enabled: true, prefix: bench } }`,
      'devices:',
      `  - { id: m, mqtt: { topic: "in/${id}", payload: json } }`,
      `  - id: dev`,
      `    serial: { path: ${link}, baudRate: 115200 }`,
      '    commands: { reply: { match: "^OK", timeoutMs: 2000 } }',
    ].join('\n'),
  );
  const p = spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(p);
  let ws = '';
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${id} did not come up: ${out.slice(-1000)}`)), 20_000);
    p.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /"ws":"([^"]+)"/.exec(out);
      if (m) ws = m[1]!;
      if (ws && out.includes('fleet federation live')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  return { ws, pid: p.pid! };
}

async function dashboard(
  url: string,
): Promise<{ ws: WebSocket; onReading: (f: (m: Record<string, unknown>) => void) => void; command(device: string, line: string): Promise<number> }> {
  const ws = new WebSocket(url, 'serialgate.v1.json');
  await new Promise((r) => ws.once('open', r));
  let reading: (m: Record<string, unknown>) => void = () => {};
  const acks = new Map<string, () => void>();
  let n = 0;
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as Record<string, unknown>;
    if (m.type === 'reading') reading(m);
    if (m.type === 'ack') {
      if (m.ok !== true) throw new Error(`command failed: ${JSON.stringify(m)}`);
      acks.get(m.id as string)?.();
    }
  });
  return {
    ws,
    onReading: (f) => (reading = f),
    command: (device, line) =>
      new Promise((resolve) => {
        const id = `c${++n}`;
        const t0 = now();
        acks.set(id, () => resolve(now() - t0));
        ws.send(JSON.stringify({ type: 'command', id, device, line }));
      }),
  };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const f2 = (x: number) => x.toFixed(2);

try {
  const url = await broker();
  const mocks = await Promise.all(['A', 'B'].map((id) => startMock({ link: join(dir, `tty-${id}`), format: 'kv', intervalMs: 0 })));
  const a = await gateway('A', url, mocks[0]!.link);
  const b = await gateway('B', url, mocks[1]!.link);
  const onA = await dashboard(a.ws);
  const onB = await dashboard(b.ws);
  await sleep(1000);
  const pub = await mqtt.connectAsync(url);
  console.log('| path | rate /s | delivered | p50 ms | p99 ms | A CPU µs / relayed reading |');
  console.log('|---|---|---|---|---|---|');
  for (const rate of [100, 1000]) {
    const seconds = 5;
    const remote: number[] = [];
    const local: number[] = [];
    onA.onReading((m) => m.device === 'B/m' && remote.push(now() - (m.values as { t: number }).t));
    onB.onReading((m) => m.device === 'm' && local.push(now() - (m.values as { t: number }).t));
    const cpu0 = cpuTotalUs(a.pid);
    const total = rate * seconds;
    const start = now();
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - now();
      if (wait > 1) await sleep(wait);
      pub.publish('in/B', JSON.stringify({ t: now(), i }));
    }
    await sleep(1000);
    const cpuUsed = cpuTotalUs(a.pid) - cpu0;
    console.log(`| local (dashboard on B) | ${rate} | ${local.length}/${total} | ${f2(pct(local, 50))} | ${f2(pct(local, 99))} | |`);
    console.log(
      `| fleet (B → broker → A) | ${rate} | ${remote.length}/${total} | ${f2(pct(remote, 50))} | ${f2(pct(remote, 99))} | ${f2(cpuUsed / Math.max(1, remote.length))} |`,
    );
  }
  const rtt = async (d: typeof onA, device: string) => {
    const xs: number[] = [];
    for (let i = 0; i < 100; i++) xs.push(await d.command(device, 'LED ON'));
    return xs;
  };
  const localCmd = await rtt(onB, 'dev');
  const remoteCmd = await rtt(onA, 'B/dev');
  console.log('\n| command round trip (100, sequential) | p50 ms | p99 ms |\n|---|---|---|');
  console.log(`| local (dashboard on B → B's device) | ${f2(pct(localCmd, 50))} | ${f2(pct(localCmd, 99))} |`);
  console.log(`| remote (dashboard on A → B's device → ack) | ${f2(pct(remoteCmd, 50))} | ${f2(pct(remoteCmd, 99))} |`);
  await pub.endAsync();
  onA.ws.terminate();
  onB.ws.terminate();
  for (const m of mocks) await m.stop();
} finally {
  for (const p of procs.reverse()) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
