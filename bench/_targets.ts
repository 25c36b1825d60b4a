/**
 * The subjects the memory benches start as a user would run them, each in its own process:
 * serialgate as the systemd unit runs it (`dist/src/cli.cjs run --config …` with the unit's
 * Environment= lines), the hand-written mqtt + ws bridge (bench/_ws-bridge.ts), a bare Node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadAverage, startMosquitto, unitEnvironment, writeGatewayConfig } from './_common.js';

export type Target = 'serialgate' | 'ws bridge' | 'bare node';

const dist = fileURLToPath(new URL('..', import.meta.url));

/**
 * Starts `target` on the `node` binary; resolves once it listens and (daemon, bridge) is
 * subscribed at the broker, with the time that took and the WebSocket port. The daemon's config
 * (one MQTT device on `topic`) is written into `dir`.
 */
export function startTarget(
  target: Target,
  opts: { node: string; brokerUrl: string; topic: string; dir: string },
): Promise<{ child: ChildProcess; port: number; startMs: number }> {
  const t0 = performance.now();
  const { node, brokerUrl, topic, dir } = opts;
  const child =
    target === 'serialgate'
      ? spawn(
          node,
          [
            join(dist, 'src/cli.cjs'),
            'run',
            '--config',
            writeGatewayConfig(
              join(dir, 'config.yaml'),
              brokerUrl,
              topic,
              'server: { host: 127.0.0.1, port: 0, limits: { maxConnections: 5000, maxConnectionsPerAddress: 5000 } }',
            ),
          ],
          {
            env: { ...process.env, ...unitEnvironment() },
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        )
      : target === 'ws bridge'
        ? spawn(node, [join(dist, 'bench/_ws-bridge.js'), brokerUrl, topic], { stdio: ['ignore', 'pipe', 'inherit'] })
        : spawn(node, ['-e', 'setInterval(() => {}, 1000); console.log("READY 0")'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let port = 0;
    let startMs = 0;
    let resolved = false;
    child.stdout!.on('data', (d: Buffer) => {
      // the daemon logs on: only the start matters here (the listener keeps the pipe drained)
      if (resolved) return;
      out += d.toString();
      const ready = target === 'serialgate' ? /"ws":"ws:\/\/127\.0\.0\.1:(\d+)[^\n]*"msg":"ready"/.exec(out) : /READY (\d+)/.exec(out);
      if (ready && !startMs) [startMs, port] = [performance.now() - t0, Number(ready[1])];
      // the daemon: at rest means connected to the broker too, as the bridge is at READY
      if (startMs && (target !== 'serialgate' || out.includes('connected to the MQTT broker'))) {
        resolved = true;
        resolve({ child, port, startMs });
      }
    });
    child.once('exit', (code) => reject(new Error(`${target} exited with ${code} before it was ready:\n${out}`)));
  });
}

/**
 * Runs `round` for each target, `rounds` times, the order alternating so that drift in the
 * machine's load does not favour one target; one Mosquitto for the whole run. `dir` (the run's
 * temporary directory) is removed at the end.
 */
export async function alternateRounds<R>(
  targets: readonly Target[],
  rounds: number,
  dir: string,
  round: (target: Target, brokerUrl: string) => Promise<R>,
): Promise<{ results: Map<Target, R[]>; load0: string; load1: string }> {
  const { url, broker } = await startMosquitto(dir);
  const load0 = loadAverage();
  const results = new Map<Target, R[]>(targets.map((t) => [t, []]));
  try {
    for (let r = 0; r < rounds; r++) {
      for (const t of r % 2 === 0 ? targets : [...targets].reverse()) results.get(t)!.push(await round(t, url));
    }
  } finally {
    broker.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  return { results, load0, load1: loadAverage() };
}
