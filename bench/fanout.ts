/**
 * End-to-end fan-out: MQTT publisher at a fixed rate → Mosquitto → gateway → N WebSocket clients,
 * against the hand-written mqtt + ws bridge (bench/_ws-bridge.ts: JSON.stringify once, client.send
 * per client), in the same run, rounds alternating. Per target process: CPU time per delivered
 * message (user and system, from /proc/<pid>/stat), end-to-end latency (publisher timestamp in the
 * payload → client receive), loss, peak RSS (VmHWM). The clients live in their own process
 * (bench/_clients.ts: raw sockets, no JSON.parse) and the publisher in this one. A third target,
 * the gateway with hub.coalesceMs 5 (frames held up to 5 ms to share writes), shows what holding
 * frames back buys in CPU and costs in latency against the default (none held).
 * The gateway runs as the systemd unit runs it: `node dist/src/cli.cjs run --config …` (the bundle)
 * with the unit's Environment= lines (NODE_OPTIONS among them), so its peak RSS is the service's.
 *
 *   npm run build && node dist/bench/fanout.js [--rounds 2] [--seconds 3]
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import {
  ask,
  cpuUs,
  loadAverage,
  median,
  numberArg,
  rssKb,
  sleep,
  startMosquitto,
  stopChild,
  unitEnvironment,
  writeGatewayConfig,
} from './_common.js';

type Target = 'serialgate' | 'serialgate, coalesceMs 5' | 'ws bridge';
const TARGETS: Target[] = ['serialgate', 'serialgate, coalesceMs 5', 'ws bridge'];
interface Load {
  clients: number;
  rate: number;
}
interface Result {
  userUs: number;
  sysUs: number;
  delivered: number;
  expected: number;
  p50: number;
  p99: number;
  max: number;
  rssKb: number;
  busy: number;
  /** CPU of the clients' process during the window, in cores */
  clientCores: number;
  /** write syscalls of the target process (/proc/<pid>/io syscw): frames per write is what coalescing achieved */
  writes: number;
}

const ROUNDS = numberArg('rounds', 2);
const SECONDS = numberArg('seconds', 3);
const WARMUP_MS = 1000;
/** a round ends once no client received anything for this long (or all got everything) */
const DRAIN_MS = 1000;
const LOADS: Load[] = [
  // a quiet gateway: nothing may wait here, whatever hub.coalesceMs
  { clients: 20, rate: 50 },
  { clients: 50, rate: 1000 },
  { clients: 200, rate: 250 },
  // more than the machine can do unbatched: what the default does when it cannot keep up
  { clients: 200, rate: 1000 },
];
const TOPIC = 'bench/data';
const dist = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'sg-fanout-'));
const now = () => performance.timeOrigin + performance.now();

/** write syscalls of a process so far (write, writev: one per socket write) */
function writesOf(pid: number): number {
  return Number(/syscw: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);
}

/** busy and total jiffies of the whole machine (all cores) */
function machine(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
}

/**
 * Starts a target; resolves with its WebSocket port once it is subscribed at the broker. The
 * gateway runs as the systemd unit runs it (the bundled dist/src/cli.cjs, the unit's Environment=
 * lines), so its peak RSS is the service's.
 */
function startTarget(target: Target, brokerUrl: string): Promise<{ child: ChildProcess; port: number }> {
  const child =
    target === 'ws bridge'
      ? spawn(process.execPath, [join(dist, 'bench/_ws-bridge.js'), brokerUrl, TOPIC], { stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn(
          process.execPath,
          [join(dist, 'src/cli.cjs'), 'run', '--config', gatewayConfig(brokerUrl, target === 'serialgate, coalesceMs 5' ? 5 : 0)],
          {
            env: { ...process.env, ...unitEnvironment() },
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
  return new Promise((resolve, reject) => {
    let out = '';
    let port = 0;
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const ready = target === 'ws bridge' ? /READY (\d+)/.exec(out) : /"ws":"ws:\/\/127\.0\.0\.1:(\d+)[^\n]*"msg":"ready"/.exec(out);
      if (ready) port = Number(ready[1]);
      // the daemon: subscribed too, as the bridge is at READY (the warm-up is not spent connecting)
      if (port && (target === 'ws bridge' || out.includes('connected to the MQTT broker'))) {
        // stdout stays piped (the daemon logs there) but is no longer kept
        out = '';
        child.stdout!.removeAllListeners('data').resume();
        resolve({ child, port });
      }
    });
    child.once('exit', (code) => reject(new Error(`${target} exited with ${code} before it was ready:\n${out}`)));
  });
}

let nextIndex = 0;

/** publishes at `rate`/s for `ms`, each message stamped with the time it is published */
async function publishFor(pub: mqtt.MqttClient, rate: number, ms: number): Promise<void> {
  const start = now();
  let sent = 0;
  while (now() - start < ms) {
    const due = Math.floor(((now() - start) / 1000) * rate);
    for (; sent < due; sent++) pub.publish(TOPIC, `{"i":${nextIndex++},"t":${now()}}`);
    await sleep(1);
  }
}

/** the gateway's config file for a bench round */
function gatewayConfig(brokerUrl: string, coalesceMs: number): string {
  return writeGatewayConfig(
    join(tmp, `gateway-${coalesceMs}.yaml`),
    brokerUrl,
    TOPIC,
    'server: { host: 127.0.0.1, port: 0 }',
    `hub: { coalesceMs: ${coalesceMs} }`,
  );
}

async function round(target: Target, load: Load, brokerUrl: string, pub: mqtt.MqttClient): Promise<Result> {
  const { child, port } = await startTarget(target, brokerUrl);
  const clients = fork(join(dist, 'bench/_clients.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const warmupMessages = Math.round((WARMUP_MS / 1000) * load.rate);
    const from = nextIndex + warmupMessages;
    const count = Math.round(SECONDS * load.rate);
    await ask(clients, { cmd: 'connect', port, n: load.clients, from, to: from + count });
    await publishFor(pub, load.rate, WARMUP_MS);
    nextIndex = from; // the window starts on an exact index
    const cpu0 = cpuUs(child.pid!);
    const w0 = writesOf(child.pid!);
    const c0 = cpuUs(clients.pid!);
    const m0 = machine();
    const t0 = performance.now();
    await publishFor(pub, load.rate, SECONDS * 1000);
    const published = nextIndex - from;
    // drain: until every client has every message, or DRAIN_MS without progress
    type Report = { received: number; p50: number; p99: number; max: number };
    let rep = await ask<Report>(clients, { cmd: 'report' });
    for (let last = rep.received, idleSince = Date.now(); rep.received < published * load.clients && Date.now() - idleSince < DRAIN_MS;) {
      await sleep(50);
      rep = await ask<Report>(clients, { cmd: 'report' });
      if (rep.received > last) [last, idleSince] = [rep.received, Date.now()];
    }
    const cpu1 = cpuUs(child.pid!);
    const w1 = writesOf(child.pid!);
    const c1 = cpuUs(clients.pid!);
    const m1 = machine();
    const elapsedUs = (performance.now() - t0) * 1000;
    return {
      userUs: cpu1.user - cpu0.user,
      sysUs: cpu1.sys - cpu0.sys,
      delivered: rep.received,
      expected: published * load.clients,
      p50: rep.p50,
      p99: rep.p99,
      max: rep.max,
      rssKb: rssKb(child.pid!, 'VmHWM'),
      busy: (m1.busy - m0.busy) / (m1.total - m0.total),
      clientCores: (c1.user + c1.sys - c0.user - c0.sys) / elapsedUs,
      writes: w1 - w0,
    };
  } finally {
    clients.send({ cmd: 'exit' });
    await stopChild(child, 15_000);
  }
}

/** NaN (no samples) crosses IPC as null */
const ms = (x: number | null) => (x === null || Number.isNaN(x) ? '—' : x.toFixed(x < 100 ? 2 : 0));

async function main(): Promise<void> {
  const { url: brokerUrl, broker } = await startMosquitto(tmp);
  const pub = await mqtt.connectAsync(brokerUrl, { reconnectPeriod: 0 });
  const load0 = loadAverage();
  const rows: string[] = [];
  try {
    for (const load of LOADS) {
      const results = new Map<Target, Result[]>(TARGETS.map((t) => [t, []]));
      for (let r = 0; r < ROUNDS; r++) {
        // alternate the order so that drift in the machine's load does not favour one target
        const order = r % 2 === 0 ? TARGETS : [...TARGETS].reverse();
        for (const t of order) {
          const res = await round(t, load, brokerUrl, pub);
          if (process.env.SG_BENCH_DEBUG) console.error(load, t, res);
          results.get(t)!.push(res);
        }
      }
      const perMsg = (r: Result, k: 'userUs' | 'sysUs') => r[k] / Math.max(1, r.delivered);
      const bridgeTotal = median(results.get('ws bridge')!.map((r) => perMsg(r, 'userUs') + perMsg(r, 'sysUs')));
      for (const [t, rs] of results) {
        const user = median(rs.map((r) => perMsg(r, 'userUs')));
        const sys = median(rs.map((r) => perMsg(r, 'sysUs')));
        // the median of the per-round totals (not median user + median sys), as for the bridge
        const total = median(rs.map((r) => perMsg(r, 'userUs') + perMsg(r, 'sysUs')));
        const loss = rs.reduce((a, r) => a + (r.expected - r.delivered), 0) / rs.reduce((a, r) => a + r.expected, 0);
        rows.push(
          `| ${load.clients} × ${load.rate}/s | ${t} | ${user.toFixed(2)} | ${sys.toFixed(2)} | ${total.toFixed(2)} | ${(total / bridgeTotal).toFixed(2)}× | ` +
            `${ms(median(rs.map((r) => r.p50)))} | ${ms(median(rs.map((r) => r.p99)))} | ${ms(Math.max(...rs.map((r) => r.max)))} | ` +
            `${(loss * 100).toFixed(3)} % | ${Math.round(Math.max(...rs.map((r) => r.rssKb)) / 1024)} | ${Math.round(median(rs.map((r) => r.busy)) * 100)} % | ${median(rs.map((r) => r.clientCores)).toFixed(2)} | ${median(rs.map((r) => r.delivered / r.writes)).toFixed(1)} | ${median(rs.map((r) => r.sysUs / r.writes)).toFixed(1)} |`,
        );
      }
    }
  } finally {
    await pub.endAsync();
    broker.kill('SIGTERM');
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(
    `Fan-out, ${ROUNDS} rounds per target alternating, ${SECONDS} s measured per round (medians); Node ${process.version}; ` +
      `serialgate with the unit's environment (${JSON.stringify(unitEnvironment())}); load average ${load0} at start, ${loadAverage()} at end; 2 cores.\n`,
  );
  console.log(
    '| load | target | user µs/msg | sys µs/msg | CPU µs/msg | vs bridge | p50 ms | p99 ms | max ms | loss | peak RSS MB | machine busy | clients (cores) | frames/write | sys µs/write |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  console.log(
    "\nCPU = gateway (or bridge) process only, per message delivered to a client; machine busy = both cores during the window (clients, broker, publisher and other users of the box included); clients = CPU of the receiving clients' process, in cores; frames/write = messages delivered per write syscall of the target (/proc/<pid>/io syscw: what coalescing achieved); sys µs/write = its kernel time per write syscall.",
  );
}

await main();
