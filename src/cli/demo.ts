/**
 * `serialgate demo` (npm start): the firmware mock on a real PTY and a gateway serving it on
 * loopback, with an anonymous operator so the dashboard can send commands without a token. Its
 * history lives in a per-user folder, so a second `npm start` opens with the first one's charts.
 */
import os from 'node:os';
import path from 'node:path';
import { startMock } from '../../firmware-mock/index.js';
import { configSchema, type Config } from '../config/schema.js';
import { startGateway, type Gateway } from '../gateway.js';
import type { Logger } from '../log.js';
import { dirHolder } from '../history/dir-lock.js';
import { makeDirs } from '../make-dirs.js';

export interface DemoOptions {
  port: number;
  link: string;
  /** the history's folder: segments and the stream saved by a clean stop (see demoStateDir) */
  stateDir: string;
  logger: Logger;
}

/**
 * Where the demo keeps its history when --state-dir is not given: per user (two users' demos never
 * restore each other's stream) and stable across runs (XDG's place for state that outlives a run,
 * $XDG_STATE_HOME, by default ~/.local/state). A home that cannot hold it (a service user with a
 * read-only or missing home) falls back to the temp dir, still per user.
 */
export function demoStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(os.homedir(), '.local', 'state');
  const dir = path.join(xdg, 'serialgate', 'demo');
  try {
    makeDirs(dir);
    return dir;
  } catch {
    return path.join(os.tmpdir(), `serialgate-demo-${os.userInfo().uid}`);
  }
}

/** The demo's config, through the schema so every default applies as in a real file. */
function demoConfig(port: number, link: string, stateDir: string): Config {
  return configSchema.parse({
    gateway: { id: 'demo' },
    server: { host: '127.0.0.1', port },
    history: { dir: stateDir },
    // loopback only: the schema refuses an anonymous operator anywhere else
    auth: { anonymous: 'operator' },
    devices: [
      {
        id: 'mock1',
        serial: { path: link, baudRate: 115200 },
        parser: { format: 'kv' },
        commands: { reply: { match: '^(OK|ERR|PONG|temp=)', timeoutMs: 2000 } },
      },
    ],
  });
}

/** The mock's PTY relay is a python3 script; a newcomer's machine may not have python3 at all. */
class DemoNoPythonError extends Error {
  readonly code = 'SG_ERR_DEMO_NO_PYTHON';
  constructor(cause: unknown) {
    super(
      "the demo's mock device runs on python3 (standard library only), found neither at /usr/bin/python3 nor on PATH: install it (sudo apt-get install python3) and run npm start again",
      { cause },
    );
    this.name = 'DemoNoPythonError';
  }
}

class DemoInUseError extends Error {
  readonly code = 'SG_ERR_HISTORY_LOCKED';
  constructor(dir: string, pid: number) {
    super(
      `another demo is running (pid ${pid}, history in ${dir}): stop it (Ctrl-C), or start this one with its own --state-dir DIR and --link PATH`,
    );
    this.name = 'DemoInUseError';
  }
}

/** spawn's ENOENT names the missing program; any other failure is passed on as it is */
function explainMockError(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  return e.code === 'ENOENT' && e.syscall?.startsWith('spawn') && /python/.test(e.path ?? '') ? new DemoNoPythonError(err) : err;
}

export async function startDemo(opts: DemoOptions): Promise<{ gateway: Gateway; stopMock(): Promise<void> }> {
  // a second demo (`npm start -- --port 8081` beside the first) would move the running demo's mock
  // link to its own device before its gateway refused the shared history: refused first, here
  const holder = dirHolder(opts.stateDir);
  if (holder !== undefined) throw new DemoInUseError(opts.stateDir, holder);
  const mock = await startMock({ link: opts.link, format: 'kv', intervalMs: 1000 }).catch((err: unknown) => {
    throw explainMockError(err);
  });
  try {
    const gateway = await startGateway(demoConfig(opts.port, opts.link, opts.stateDir), opts.logger);
    return { gateway, stopMock: () => mock.stop() };
  } catch (err) {
    await mock.stop();
    throw err;
  }
}
