/**
 * Issue 13 "Footprint": the daemon at rest, as the systemd unit runs it (its Environment= lines),
 * with a real Mosquitto configured and connected. Figures are read from the daemon's own /metrics
 * (prom-client's heap gauges) and /proc: the built dist/src/cli.cjs is what is measured.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { unitEnvironment } from '../../../bench/_common.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { CLI, Daemon, ensureBuilt, ROOT } from './daemon-helpers.js';

const MB = 1024 * 1024;

/** `name{labels} value` of a Prometheus text exposition */
function gauge(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`${name} not in /metrics`);
  return Number(m[1]);
}

let broker: Mosquitto;
let dir: string;
let daemon: Daemon | undefined;

beforeAll(async () => {
  await ensureBuilt();
  broker = await startMosquitto();
  dir = mkdtempSync(path.join(tmpdir(), 'sg-footprint-test-'));
}, 200_000);
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});
afterAll(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('footprint at rest', () => {
  it('dist/src/cli.cjs is one bundle: it imports no module of its own by path', () => {
    const text = readFileSync(CLI, 'utf8');
    expect(text.split('\n')[0]).toBe('#!/usr/bin/env -S node --');
    expect(text).not.toMatch(/\bfrom\s*["']\.\.?\//);
    expect(text).not.toMatch(/\bimport\s*\(\s*["']\.\.?\//);
    // CommonJS (README "Footprint": no ESM loader), and no require() of its own files either
    expect(text.split('\n')[1]).toMatch(/^'use strict';/);
    expect(text).not.toMatch(/\brequire\s*\(\s*["']\.\.?\//);
  });

  it('with a broker connected, as the unit runs it: a 2 MB young generation, no 6 MB MQTT number cache, glibc trimming: RSS ≤ 74 MB (Node 20) / 94 MB (Node 22+)', async () => {
    const config = path.join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'server: { host: 127.0.0.1, port: 0 }',
        `mqtt: { url: "${broker.url}" }`,
        'devices:',
        '  - { id: d1, mqtt: { topic: fp/d1 }, parser: { format: json } }',
        '',
      ].join('\n'),
    );
    daemon = Daemon.start(['run', '--config', config], unitEnvironment(ROOT));
    const url = await daemon.ready();
    await daemon.waitLog('connected to the MQTT broker');
    // a subscribe and a publish go through mqtt-packet's number writer (where the cache was built)
    const { default: mqtt } = await import('mqtt');
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    try {
      await pub.publishAsync('fp/d1', '{"t":1}', { qos: 1 });
    } finally {
      await pub.endAsync();
    }
    await new Promise((r) => setTimeout(r, 1000));
    const metrics = await (await fetch(`${url}/metrics`)).text();
    // NODE_OPTIONS=--max-semi-space-size=2 from the unit: two 2 MB semi-spaces (Node's own default grows to 16 or 64)
    expect(gauge(metrics, 'nodejs_heap_space_size_total_bytes{space="new"}')).toBeLessThanOrEqual(4 * MB);
    // mqtt.js's writeCache (65,536 Buffers, ~6 MB of old space) is off: ~11 MB live at rest here, ~18 with it
    expect(gauge(metrics, 'nodejs_heap_space_size_used_bytes{space="old"}')).toBeLessThanOrEqual(14 * MB);
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${daemon.proc.pid}/status`, 'utf8'))![1]) * 1024;
    // A regression guard only (the figures themselves come from `npm run bench -- footprint`): Node 20
    // ~68-76 MB here; 78 without the unit's MALLOC_TRIM_THRESHOLD_, 88 before the bundle and the two above.
    // Node 24 touches more of its own binary (49 MB of file-backed pages vs 39): ~87 MB, ~103 before.
    expect(rss).toBeLessThanOrEqual((Number(process.versions.node.split('.')[0]) >= 22 ? 98 : 82) * MB);
  });

  it('started by hand without the memory settings: on a Node with process.execve it replaces itself (the same PID) with a process that has them; Node 20 runs as started', async () => {
    const config = path.join(dir, 'hand.yaml');
    writeFileSync(config, ['server: { host: 127.0.0.1, port: 0 }', 'devices: []', ''].join('\n'));
    daemon = Daemon.start(['run', '--config', config], { NODE_OPTIONS: undefined, MALLOC_TRIM_THRESHOLD_: undefined });
    const url = await daemon.ready();
    const pid = daemon.proc.pid!;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const newSpace = gauge(await (await fetch(`${url}/metrics`)).text(), 'nodejs_heap_space_size_total_bytes{space="new"}');
    if (typeof (process as { execve?: unknown }).execve === 'function') {
      // `--` before the script: Node would take a `--env-file` among the arguments as its own
      expect(cmdline.slice(0, 5)).toEqual([process.execPath, '--max-semi-space-size=2', '--no-concurrent-recompilation', '--', CLI]);
      expect(cmdline.slice(5, 8)).toEqual(['run', '--config', config]);
      expect(environ).toContain('MALLOC_TRIM_THRESHOLD_=131072');
      expect(newSpace).toBeLessThanOrEqual(4 * MB);
    } else {
      expect(cmdline.slice(0, 2)).toEqual([process.execPath, CLI]);
      expect(environ.filter((e) => e.startsWith('MALLOC_TRIM_THRESHOLD_='))).toEqual([]);
    }
    // the replaced process is the one that was started: a stop still reaches it
    daemon.proc.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
    expect(daemon.err.join('')).toBe('');
  });

  it('started by fork() with an IPC channel: runs as started, so the parent keeps its channel', async () => {
    const config = path.join(dir, 'forked.yaml');
    writeFileSync(config, ['server: { host: 127.0.0.1, port: 0 }', 'devices: []', ''].join('\n'));
    const child = fork(CLI, ['run', '--config', config], {
      env: { ...process.env, NODE_OPTIONS: undefined, MALLOC_TRIM_THRESHOLD_: undefined },
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    daemon = new Daemon(child);
    await daemon.ready();
    expect(readFileSync(`/proc/${child.pid!}/cmdline`, 'utf8').split('\0').slice(0, 2)).toEqual([process.execPath, CLI]);
    expect(child.connected).toBe(true);
  });

  it('with an mqtt:// broker connected: node:https and node:tls are never loaded, and nothing is printed on stderr (no DEP0169 on Node 24)', async () => {
    const config = path.join(dir, 'plain.yaml');
    writeFileSync(
      config,
      ['server: { host: 127.0.0.1, port: 0 }', `mqtt: { url: "${broker.url}" }`, 'devices:', '  - { id: d1, mqtt: { topic: fp/d1 } }', ''].join('\n'),
    );
    // the modules Node loaded, written when the daemon exits
    const loaded = path.join(dir, 'modules.json');
    const preload = path.join(dir, 'modules.cjs');
    writeFileSync(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(loaded)}, JSON.stringify(process.moduleLoadList)));\n`,
    );
    daemon = Daemon.start(['run', '--config', config], unitEnvironment(ROOT), ['-r', preload]);
    await daemon.ready();
    await daemon.waitLog('connected to the MQTT broker');
    // a normal stop, so that 'exit' runs
    daemon.proc.kill('SIGTERM');
    await daemon.exited;
    const modules = JSON.parse(readFileSync(loaded, 'utf8')) as string[];
    expect(modules).toContain('NativeModule net');
    expect(modules.filter((m) => /^NativeModule (https|tls|_tls_wrap)$/.test(m))).toEqual([]);
    expect(daemon.err.join('')).toBe('');
  });
});
