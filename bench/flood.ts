/**
 * A hostile flood, measured from outside against the hand-written mqtt + ws bridge
 * (bench/_ws-bridge.ts) in the same run, rounds alternating: an MQTT publisher sends 60 KB JSON
 * payloads on the device topic at ~10 MB/s for SECONDS while two dashboards (bench/_clients.ts,
 * their own process) read. Reported per subject: peak RSS (VmHWM), RSS at the end of the flood,
 * CPU of the subject, and readings delivered per dashboard. The shipped unit kills the daemon at
 * MemoryMax=256M, so the peak is the figure that says whether it survives.
 *
 *   npm run build && node dist/bench/flood.js [--rounds 2] [--seconds 150] [--node PATH]
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { ask, cpuTotalUs, median, numberArg, rssKb, sleep, stopChild, stringArg } from './_common.js';
import { alternateRounds, startTarget, type Target } from './_targets.js';

const TARGETS: Target[] = ['serialgate', 'ws bridge'];
const ROUNDS = numberArg('rounds', 2);
const SECONDS = numberArg('seconds', 150);
const PAYLOAD_BYTES = 60_000;
const PER_SECOND = 170;
const NODE = stringArg('node', process.execPath);
const NODE_VERSION = execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim();
const TOPIC = 'bench/flood';
const dist = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'sg-flood-'));

interface Result {
  peakKb: number;
  endKb: number;
  cpuS: number;
  delivered: number;
  sent: number;
}

async function round(target: Target, brokerUrl: string): Promise<Result> {
  const { child, port } = await startTarget(target, { node: NODE, brokerUrl, topic: TOPIC, dir: tmp });
  const clients = fork(join(dist, 'bench/_clients.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pub = await mqtt.connectAsync(brokerUrl);
  try {
    const pad = 'x'.repeat(PAYLOAD_BYTES);
    await ask(clients, { cmd: 'connect', port, n: 2, from: 0, to: Number.MAX_SAFE_INTEGER });
    const cpu0 = cpuTotalUs(child.pid!);
    const t0 = performance.now();
    let sent = 0;
    let endKb = 0;
    while (performance.now() - t0 < SECONDS * 1000) {
      const due = Math.floor(((performance.now() - t0) / 1000) * PER_SECOND);
      for (; sent < due; sent++) pub.publish(TOPIC, `{"i":${sent},"t":${performance.timeOrigin + performance.now()},"s":"${pad}"}`);
      endKb = rssKb(child.pid!);
      await sleep(20);
    }
    const cpuS = (cpuTotalUs(child.pid!) - cpu0) / 1e6;
    const peakKb = rssKb(child.pid!, 'VmHWM');
    const report = await ask<{ received: number }>(clients, { cmd: 'report' });
    return { peakKb, endKb, cpuS, delivered: report.received / 2, sent };
  } finally {
    await pub.endAsync();
    await stopChild(clients);
    await stopChild(child, 15_000);
  }
}

async function main(): Promise<void> {
  const { results, load0, load1 } = await alternateRounds(TARGETS, ROUNDS, tmp, round);
  console.log(
    `Flood: ${PER_SECOND} MQTT payloads of ${PAYLOAD_BYTES / 1000} KB a second (~${((PER_SECOND * PAYLOAD_BYTES) / 1e6).toFixed(0)} MB/s) for ${SECONDS} s, ` +
      `two dashboards reading; ${ROUNDS} rounds alternating (medians); Node ${NODE_VERSION}${NODE === process.execPath ? '' : ` (${NODE})`}; ` +
      `load average ${load0} at start, ${load1} at end; 2 cores.\n`,
  );
  console.log('| subject | peak RSS MB (VmHWM) | RSS at the end MB | CPU s | readings delivered per dashboard | payloads sent |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const t of TARGETS) {
    const rs = results.get(t)!;
    const m = (f: (x: Result) => number, digits = 1) => median(rs.map(f)).toFixed(digits);
    console.log(
      `| ${t} | ${m((x) => x.peakKb / 1024)} | ${m((x) => x.endKb / 1024)} | ${m((x) => x.cpuS)} | ${m((x) => x.delivered, 0)} | ${m((x) => x.sent, 0)} |`,
    );
  }
  console.log(
    '\nserialgate with its defaults: devices[].inputRate 256 KiB/s (burst 1 MiB) drops the rest before parsing; the shipped unit has MemoryMax=256M.',
  );
}

await main();
