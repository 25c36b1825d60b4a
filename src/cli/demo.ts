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
export function demoConfig(port: number, link: string): Config {
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

export async function startDemo(opts: DemoOptions): Promise<{ gateway: Gateway; stopMock(): Promise<void> }> {
  const mock = await startMock({ link: opts.link, format: 'kv', intervalMs: 1000 });
  try {
    const gateway = await startGateway(demoConfig(opts.port, opts.link), opts.logger);
    return { gateway, stopMock: () => mock.stop() };
  } catch (err) {
    await mock.stop();
    throw err;
  }
}
