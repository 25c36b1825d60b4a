/**
 * Footprint of the running daemon, measured from outside (/proc/<pid>/status), against the
 * hand-written mqtt + ws bridge (bench/_ws-bridge.ts) and a bare Node process, in the same run,
 * rounds alternating:
 * - start time: spawn → the daemon's "ready" log line (the bridge: its READY line);
 * - RSS at rest, with a broker configured and connected, no dashboard;
 * - RSS with N idle dashboards (bench/_clients.ts in its own process: real sockets, handshake,
 *   then silence) and the growth per connection;
 * - the growth per connection of N more (a second client process): what each further dashboard
 *   costs once the first N paid the one-time part (the connection path compiled by the JIT, whose
 *   compiler pages and zones stay mapped; pools and heap pages grown);
 * - CPU per handshake: the process's utime + stime across the first N connects (the clients connect
 *   50 at a time and wait for each 101; serialgate also sends each its hello and snapshot, the
 *   bridge nothing), less what it spends at rest in as long, divided by N: a restart's reconnect
 *   storm. Not for the N more: serialgate's keepalive pings to the first N (the bridge sends none)
 *   come in bursts that a window of a few seconds catches or misses.
 * The daemon runs as the systemd unit runs it: `node dist/src/cli.cjs run --config …` with the
 * unit's Environment= lines (NODE_OPTIONS among them), so the figures are the service's.
 * `--node PATH` runs all three targets on that node binary (e.g. Node 24 from `npm run
 * test:node24`'s cache) instead of the one running the bench.
 *
 *   npm run build && node dist/bench/footprint.js [--rounds 3] [--connections 1000] [--node PATH]
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ask, cpuTotalUs, median, numberArg, rssKb, sleep, stopChild, stringArg, unitEnvironment } from './_common.js';
import { alternateRounds, startTarget, type Target } from './_targets.js';

const TARGETS: Target[] = ['serialgate', 'ws bridge', 'bare node'];
interface Result {
  startMs: number;
  restKb: number;
  idleKb: number;
  /** with 2 × CONNECTIONS */
  moreKb: number;
  /** CPU µs per handshake of the first CONNECTIONS: the process's, and its main thread's (the rest: V8's compiler and GC threads) */
  handshakeUs: number;
  handshakeMainUs: number;
}

const ROUNDS = numberArg('rounds', 3);
const CONNECTIONS = numberArg('connections', 1000);
/** the node binary the three targets run on (the clients' process stays on the bench's own) */
const NODE = stringArg('node', process.execPath);
const NODE_VERSION = execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim();
/**
 * RSS is read once it has settled (settledRssKb): at least MIN_SETTLE_MS after start or after the
 * last client connected, then QUIET_MS without a move of more than QUIET_KB, at most MAX_SETTLE_MS.
 * V8's memory reducer gives back the young generation and empty old-space pages ~8-12 s after the
 * process went idle; a reading 2 s in caught that before or after by chance (2.9 and 7.0 KB per
 * dashboard from one build), and either way not what the service holds for as long as it idles.
 */
const MIN_SETTLE_MS = 20_000;
const QUIET_MS = 5_000;
const QUIET_KB = 128;
const MAX_SETTLE_MS = 45_000;
const SAMPLE_MS = 500;
/** how long the CPU at rest is measured, and how long after the last 101 the handshakes' tail (hello, snapshot) is given */
const REST_CPU_MS = 3_000;
const TAIL_MS = 500;
const TOPIC = 'bench/data';
const dist = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'sg-footprint-'));

/** VmRSS once it has settled (see MIN_SETTLE_MS); the last reading at MAX_SETTLE_MS otherwise. */
async function settledRssKb(pid: number): Promise<number> {
  const t0 = performance.now();
  const samples: { at: number; kb: number }[] = [];
  for (;;) {
    await sleep(SAMPLE_MS);
    const at = performance.now() - t0;
    samples.push({ at, kb: rssKb(pid) });
    if (at >= MAX_SETTLE_MS) return samples.at(-1)!.kb;
    if (at < MIN_SETTLE_MS) continue;
    const recent = samples.filter((x) => x.at >= at - QUIET_MS).map((x) => x.kb);
    if (Math.max(...recent) - Math.min(...recent) <= QUIET_KB) return samples.at(-1)!.kb;
  }
}

/** the CPU µs per connection that `connect` costs the process `pid` and its main thread, less their rates at rest */
async function cpuPerConnectUs(pid: number, connect: () => Promise<unknown>): Promise<{ all: number; main: number }> {
  const read = () => ({ all: cpuTotalUs(pid), main: cpuTotalUs(pid, pid), at: performance.now() });
  let c0 = read();
  await sleep(REST_CPU_MS);
  let c1 = read();
  const rest = { all: (c1.all - c0.all) / (c1.at - c0.at), main: (c1.main - c0.main) / (c1.at - c0.at) };
  c0 = read();
  await connect();
  await sleep(TAIL_MS);
  c1 = read();
  const per = (k: 'all' | 'main') => (c1[k] - c0[k] - rest[k] * (c1.at - c0.at)) / CONNECTIONS;
  return { all: per('all'), main: per('main') };
}

async function round(target: Target, brokerUrl: string): Promise<Result> {
  const { child, port, startMs } = await startTarget(target, { node: NODE, brokerUrl, topic: TOPIC, dir: tmp });
  const clients = fork(join(dist, 'bench/_clients.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const more = fork(join(dist, 'bench/_clients.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const restKb = await settledRssKb(child.pid!);
    let idleKb = restKb;
    let moreKb = restKb;
    let handshake = { all: NaN, main: NaN };
    if (target !== 'bare node') {
      const connect = { cmd: 'connect', port, n: CONNECTIONS, from: 0, to: 0 };
      handshake = await cpuPerConnectUs(child.pid!, () => ask(clients, connect));
      idleKb = await settledRssKb(child.pid!);
      await ask(more, connect);
      moreKb = await settledRssKb(child.pid!);
    }
    return { startMs, restKb, idleKb, moreKb, handshakeUs: handshake.all, handshakeMainUs: handshake.main };
  } finally {
    await stopChild(more);
    await stopChild(clients);
    await stopChild(child, 15_000);
  }
}

const mb = (kb: number) => (kb / 1024).toFixed(1);

async function main(): Promise<void> {
  const { results, load0, load1 } = await alternateRounds(TARGETS, ROUNDS, tmp, round);
  console.log(
    `Footprint, ${ROUNDS} rounds alternating (medians), ${CONNECTIONS} idle dashboards; Node ${NODE_VERSION}${NODE === process.execPath ? '' : ` (${NODE})`}; ` +
      `serialgate with the unit's environment (${JSON.stringify(unitEnvironment())}); load average ${load0} at start, ${load1} at end; 2 cores.\n`,
  );
  console.log(
    `| target | start → ready ms | RSS at rest MB | RSS with ${CONNECTIONS} idle dashboards MB | KB per idle dashboard, median (min–max) | KB per dashboard of ${CONNECTIONS} more, median (min–max) | CPU µs per handshake of the first ${CONNECTIONS}, median (min–max) | of which the main thread |`,
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const t of TARGETS) {
    const rs = results.get(t)!;
    const rest = median(rs.map((x) => x.restKb));
    const idle = median(rs.map((x) => x.idleKb));
    const perConns = rs.map((x) => (x.idleKb - x.restKb) / CONNECTIONS);
    // the rounds' spread too: whether V8 kept its young generation grown after the connects (up to 4 MB) varies
    const spread = (xs: number[], digits = 1) =>
      `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
    const perConn = spread(perConns);
    const perMore = spread(rs.map((x) => (x.moreKb - x.idleKb) / CONNECTIONS));
    const handshake = spread(
      rs.map((x) => x.handshakeUs),
      0,
    );
    const handshakeMain = spread(
      rs.map((x) => x.handshakeMainUs),
      0,
    );
    const dash = t === 'bare node';
    const cells = dash ? ['—', '—', '—', '—', '—'] : [mb(idle), perConn, perMore, handshake, handshakeMain];
    console.log(`| ${t} | ${median(rs.map((x) => x.startMs)).toFixed(0)} | ${mb(rest)} | ${cells.join(' | ')} |`);
  }
  console.log('\nstart → ready: spawn to the "ready" log line (bridge: READY; bare node: its first line), broker connected included for the daemon.');
  console.log(
    `CPU per handshake: utime + stime (10 ms ticks) across the first ${CONNECTIONS} connects (50 at a time, each waiting for its 101) and ${TAIL_MS} ms after, less the rest rate of the ${REST_CPU_MS / 1000} s before; serialgate's includes each dashboard's hello and snapshot. The main thread's part alone (/proc/<pid>/task/<pid>/stat): the rest is the process's other threads, V8's optimising compiler and GC helpers and libuv's pool.`,
  );
  console.log(
    `RSS: VmRSS once settled (≥ ${MIN_SETTLE_MS / 1000} s after start or the last connect, then ${QUIET_MS / 1000} s within ${QUIET_KB} KB, at most ${MAX_SETTLE_MS / 1000} s).`,
  );
}

await main();
