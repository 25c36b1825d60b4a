/**
 * `serialgate demo` (npm start): the firmware mock on a real PTY and a gateway serving it on
 * loopback, with an anonymous operator so the dashboard can send commands without a token.
 */
import { startMock } from '../../firmware-mock/index.js';
import { configSchema, type Config } from '../config/schema.js';
import { startGateway, type Gateway } from '../gateway.js';
import type { Logger } from '../log.js';

export interface DemoOptions {
  port: number;
  link: string;
  logger: Logger;
}

/** The demo's config, through the schema so every default applies as in a real file. */
function demoConfig(port: number, link: string): Config {
  return configSchema.parse({
    gateway: { id: 'demo' },
    server: { host: '127.0.0.1', port },
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

/** spawn's ENOENT names the missing program; any other failure is passed on as it is */
function explainMockError(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  return e.code === 'ENOENT' && e.syscall?.startsWith('spawn') && /python/.test(e.path ?? '') ? new DemoNoPythonError(err) : err;
}

export async function startDemo(opts: DemoOptions): Promise<{ gateway: Gateway; stopMock(): Promise<void> }> {
  const mock = await startMock({ link: opts.link, format: 'kv', intervalMs: 1000 }).catch((err: unknown) => {
    throw explainMockError(err);
  });
  try {
    const gateway = await startGateway(demoConfig(opts.port, opts.link), opts.logger);
    return { gateway, stopMock: () => mock.stop() };
  } catch (err) {
    await mock.stop();
    throw err;
  }
}
