/**
 * Drives the real daemon process (`node dist/src/cli.cjs …`) for the lifecycle tests: start it,
 * read its JSON log lines, connect `ws` dashboards, listen to sd_notify datagrams.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
export const CLI = path.join(ROOT, 'dist/src/cli.cjs');

/**
 * npm test builds before running the suite; a lone run of these files builds when dist is missing.
 * (Not when merely stale: other areas' tests read dist at the same time and must not see it
 * rewritten under them.) Parallel workers: a lock directory makes one build while the others wait.
 */
export async function ensureBuilt(): Promise<void> {
  const lock = path.join(ROOT, '.build-lock-daemon-tests');
  const end = Date.now() + 180_000;
  while (!existsSync(CLI) && Date.now() < end) {
    try {
      mkdirSync(lock);
    } catch {
      await new Promise((r) => setTimeout(r, 250)); // another worker is building
      continue;
    }
    try {
      // tsc emits even when another area has a type error; the CLI check below is what matters
      spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
    break;
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} missing after npm run build`);
}

/** resolves when cond() holds, polling; rejects naming `what` after timeoutMs */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export class Daemon {
  readonly out: string[] = [];
  readonly err: string[] = [];
  readonly logs: LogLine[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private partial = '';

  constructor(readonly proc: ChildProcess) {
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.out.push(d);
      const lines = (this.partial + d).split('\n');
      this.partial = lines.pop() ?? '';
      for (const l of lines) {
        try {
          this.logs.push(JSON.parse(l) as LogLine);
        } catch {
          // plain output (the demo's "dashboard:" line)
        }
      }
    });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => this.err.push(d));
    this.exited = once(proc, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  }

  static start(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Daemon {
    if (!existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build first`);
    return new Daemon(spawn(process.execPath, [...nodeArgs, CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  get output(): string {
    return this.out.join('') + this.err.join('');
  }

  log(msg: string | RegExp): LogLine | undefined {
    return this.logs.find((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
  }

  async waitLog(msg: string | RegExp, timeoutMs = 10_000): Promise<LogLine> {
    await until(`log "${String(msg)}" (output so far: ${this.output.slice(-2000)})`, () => !!this.log(msg), timeoutMs);
    return this.log(msg)!;
  }

  /** the "ready" line's url (run) */
  async ready(): Promise<string> {
    return (await this.waitLog('ready')).url as string;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** A dashboard: a `ws` client that records every JSON message and its close. */
export class Dashboard {
  readonly messages: Record<string, unknown>[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly opened: Promise<void>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.messages.push(JSON.parse(data.toString()) as Record<string, unknown>));
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    this.opened = once(ws, 'open').then(() => undefined);
  }

  static async connect(url: string, opts: { token?: string } = {}): Promise<Dashboard> {
    const headers = opts.token ? { Authorization: `Bearer ${opts.token}` } : undefined;
    const d = new Dashboard(new WebSocket(url, { headers }));
    await d.opened;
    await until('hello', () => d.messages.some((m) => m.type === 'hello'));
    return d;
  }

  of(type: string): Record<string, unknown>[] {
    return this.messages.filter((m) => m.type === type);
  }

  send(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}

/**
 * A unix datagram listener for NOTIFY_SOCKET. Node cannot bind one, so a small Python script
 * (/usr/bin/python3) receives and prints each datagram as a JSON string per line.
 */
export class NotifyListener {
  readonly messages: string[] = [];
  private constructor(
    readonly socketPath: string,
    private readonly proc: ChildProcess,
  ) {}

  static async start(socketPath: string): Promise<NotifyListener> {
    const script = [
      'import json, os, socket, sys',
      'p = sys.argv[1]',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
      's.bind(p)',
      'print("bound", flush=True)',
      'while True:',
      '    print(json.dumps(s.recv(4096).decode()), flush=True)',
    ].join('\n');
    const proc = spawn('/usr/bin/python3', ['-c', script, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    const l = new NotifyListener(socketPath, proc);
    let buf = '';
    let bound = false;
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const lines = (buf + d).split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'bound') bound = true;
        else l.messages.push(JSON.parse(line) as string);
      }
    });
    await until('the notify listener to bind', () => bound, 5_000);
    return l;
  }

  count(field: string): number {
    return this.messages.filter((m) => m.split('\n').includes(field)).length;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      this.proc.kill('SIGKILL');
      await once(this.proc, 'exit');
    }
    rmSync(this.socketPath, { force: true });
  }
}

export async function httpGet(url: string): Promise<{ status: number; body: string; type: string | null }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') };
}
