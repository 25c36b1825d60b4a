/**
 * A real Mosquitto broker (Debian's /usr/sbin/mosquitto) on a free 127.0.0.1 port for one test file.
 * Config, password file and logs live in a temp dir that stop() removes. restart() comes back on the
 * SAME port, so clients can reconnect to the URL they already have. Never leave one running:
 * call stop() in afterAll/afterEach.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MOSQUITTO = '/usr/sbin/mosquitto';
const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd';

export interface MosquittoOptions {
  /** listen on this port (default: a free one) */
  port?: number;
  /** username → password; when given, anonymous clients are refused ("not authorized") */
  users?: Record<string, string>;
  /** PEM files: the listener speaks TLS (url becomes mqtts://); requireCertificate asks clients for one signed by cafile */
  tls?: { cafile: string; certfile: string; keyfile: string; requireCertificate?: boolean };
  /** keep retained messages and sessions across restart() (the temp dir then lives until stop()) */
  persistence?: boolean;
  /** an ACL file's text (acl_file); with `users` */
  acl?: string;
  /** message_size_limit: a bigger PUBLISH is dropped (Mosquitto 2.0 answers it with PUBACK/PUBREC 0x95) */
  messageSizeLimit?: number;
  /** max_packet_size: announced in CONNACK (MQTT 5); a client that sends a bigger packet is disconnected */
  maxPacketSize?: number;
  /** bridge `topic/#` both ways (QoS 1, MQTT 5) to the broker on 127.0.0.1:port (anonymous) */
  bridge?: { port: number; topic: string };
}

export interface Mosquitto {
  readonly port: number;
  /** mqtt://127.0.0.1:PORT (mqtts:// with opts.tls) */
  readonly url: string;
  /**
   * SIGTERM (SIGKILL after 3 s), wait for exit, remove the temp dir; idempotent.
   * `stop('SIGKILL')` kills the broker outright, like a crash (no graceful close of its clients).
   */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** stop (if running), wait `downMs` (an outage), then start again on the same port with the same options */
  restart(downMs?: number): Promise<void>;
  /**
   * SIGSTOP / SIGCONT: a broker that hangs with its sockets open (what clients wrote waits unread
   * in its kernel buffers and is processed on resume()). Resume before stop().
   */
  pause(): void;
  resume(): void;
  /** broker stderr/stdout so far, for failure messages */
  log(): string;
}

// Safety net: a test worker that exits without calling stop() (crash, timeout) still kills its brokers.
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(proc: ChildProcess): void {
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const p of running) p.kill('SIGKILL');
    });
  }
}

/** A port that was free a moment ago (the broker binds it right after; fine on a test machine). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const port = opts.port ?? (await freePort());
  let dir = '';
  /** (re)writes the config: stop() removes the temp dir, restart() after stop() needs it again */
  const writeConfig = (): string => {
    dir ||= mkdtempSync(join(tmpdir(), 'sg-mosquitto-'));
    const conf = join(dir, 'mosquitto.conf');
    const persistence = opts.persistence ? ['persistence true', `persistence_location ${dir}/`] : ['persistence false'];
    const lines = [`listener ${port} 127.0.0.1`, ...persistence, 'log_dest stderr', 'log_type error', 'log_type warning'];
    if (opts.tls) {
      lines.push(`cafile ${opts.tls.cafile}`, `certfile ${opts.tls.certfile}`, `keyfile ${opts.tls.keyfile}`);
      if (opts.tls.requireCertificate) lines.push('require_certificate true');
    }
    if (opts.messageSizeLimit !== undefined) lines.push(`message_size_limit ${opts.messageSizeLimit}`);
    if (opts.maxPacketSize !== undefined) lines.push(`max_packet_size ${opts.maxPacketSize}`);
    if (opts.bridge) {
      lines.push(
        'connection fleet-bridge',
        `address 127.0.0.1:${opts.bridge.port}`,
        `topic ${opts.bridge.topic}/# both 1`,
        'bridge_protocol_version mqttv50',
        // Mosquitto to Mosquitto: the remote end does not send our own messages back (no loop)
        'try_private true',
        'restart_timeout 1',
        'keepalive_interval 5',
      );
    }
    // Started as root, mosquitto drops to user "mosquitto", which cannot read our 0700 temp dir.
    if (process.getuid?.() === 0) lines.push('user root');
    if (opts.users && Object.keys(opts.users).length > 0) {
      const pw = join(dir, 'passwd');
      writeFileSync(pw, '', { mode: 0o600 });
      for (const [user, pass] of Object.entries(opts.users)) {
        execFileSync(MOSQUITTO_PASSWD, ['-b', pw, user, pass], { stdio: 'pipe' });
      }
      lines.push('allow_anonymous false', `password_file ${pw}`);
      if (opts.acl !== undefined) {
        writeFileSync(join(dir, 'acl'), opts.acl, { mode: 0o600 });
        lines.push(`acl_file ${join(dir, 'acl')}`);
      }
    } else {
      lines.push('allow_anonymous true');
    }
    writeFileSync(conf, lines.join('\n') + '\n');
    return conf;
  };
  const removeDir = (): void => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = '';
  };

  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    const conf = writeConfig();
    const proc = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    track(proc);
    proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    let exited = false;
    proc.once('exit', () => (exited = true));
    // bounded: 100 tries × ≥50 ms (a restart may wait for the old socket to be released)
    for (let i = 0; i < 100; i++) {
      if (exited) break;
      if (await canConnect(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    await stopChild();
    removeDir();
    throw new Error(`mosquitto did not start on 127.0.0.1:${port}:\n${output}`);
  };

  const stopChild = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      proc.kill(signal);
    });
  };

  await start();

  return {
    port,
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    async stop(signal) {
      await stopChild(signal);
      removeDir();
    },
    async restart(downMs = 0) {
      await stopChild();
      if (!opts.persistence) removeDir();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    log: () => output,
  };
}
