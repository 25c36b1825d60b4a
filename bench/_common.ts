/**
 * What the end-to-end benches share: command-line numbers, medians, a broker, stopping a child,
 * and the daemon started as the systemd unit starts it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `--name N` on the command line, else `def` */
export function numberArg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

/** `--name VALUE` on the command line, else `def` */
export function stringArg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

/** the middle value (the mean of the two middle ones for an even count) */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** the machine's 1, 5 and 15 minute load averages, as /proc/loadavg has them */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/**
 * a process's CPU time so far (utime and stime from /proc/<pid>/stat), in µs; clock-tick (10 ms)
 * resolution. With `tid`, one thread's (/proc/<pid>/task/<tid>/stat; the main thread's tid is the pid).
 */
export function cpuUs(pid: number, tid?: number): { user: number; sys: number } {
  const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  // the command name (field 2) may hold spaces: count from its closing parenthesis
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) * TICK_US, sys: Number(f[12]) * TICK_US };
}

/** cpuUs's user + sys */
export function cpuTotalUs(pid: number, tid?: number): number {
  const { user, sys } = cpuUs(pid, tid);
  return user + sys;
}

/** VmRSS (now) or VmHWM (the peak) of a process, in KB */
export function rssKb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} for ${pid}`);
  return Number(m[1]);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Debian's Mosquitto on a free 127.0.0.1 port, anonymous, no persistence; resolves once it accepts. */
export async function startMosquitto(dir: string): Promise<{ url: string; broker: ChildProcess }> {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n`);
  const broker = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    if (await accepts(port)) return { url: `mqtt://127.0.0.1:${port}`, broker };
    await sleep(100);
  }
  broker.kill('SIGKILL');
  throw new Error('mosquitto did not start');
}

/** SIGTERM, SIGKILL after `graceMs`; resolves once the child has exited */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A gateway config file: one MQTT device on `topic` (JSON payloads), `server` (and any other top-level lines) as given. */
export function writeGatewayConfig(file: string, brokerUrl: string, topic: string, server: string, ...more: string[]): string {
  const yaml = [
    'gateway: { id: bench }',
    server,
    ...more,
    `mqtt: { url: "${brokerUrl}" }`,
    'devices:',
    `  - { id: bench, mqtt: { topic: ${topic} }, parser: { format: json } }`,
  ];
  writeFileSync(file, yaml.join('\n') + '\n');
  return file;
}

/**
 * the systemd unit's Environment=NAME=value lines: what the service's node runs with. `root` is the
 * repository: the benches run from dist/bench/, the daemon tests (footprint.test.ts) from the sources.
 */
export function unitEnvironment(root: string = join(fileURLToPath(import.meta.url), '../../..')): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(root, 'systemd/serialgate.service'), 'utf8').split('\n')) {
    const m = /^Environment=([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

/** One IPC request to a bench child process (bench/_clients.ts): resolves with its next message. */
export function ask<T = unknown>(child: ChildProcess, msg: object): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as T));
    child.send(msg);
  });
}
