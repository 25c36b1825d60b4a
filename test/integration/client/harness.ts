/**
 * A real gateway (startGateway) with the real firmware mock on a PTY, and a recording client
 * (src/client with `ws` as its WebSocket), for the client's integration tests.
 */
import { WebSocket } from 'ws';
import { startMock, type MockDevice } from '../../../firmware-mock/index.js';
import { configSchema, type Config } from '../../../src/config/schema.js';
import { startGateway, type Gateway } from '../../../src/gateway.js';
import { silentLogger } from '../../../src/log.js';
import {
  connect,
  type ConnectionInfo,
  type ConnectOptions,
  type ReadingMessage,
  type ResetInfo,
  type SerialgateClient,
} from '../../../src/client/index.js';

export const OPERATOR_TOKEN = 'operator-token-0123456789abcdef';
export const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';

let links = 0;
export const uniqueLink = (): string => `/tmp/sg-client-${process.pid}-${++links}`;

export function gatewayConfig(link: string, port = 0, hub: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    gateway: { id: 'it-client' },
    server: { host: '127.0.0.1', port },
    auth: {
      anonymous: 'none',
      tokens: [
        { token: OPERATOR_TOKEN, role: 'operator' },
        { token: VIEWER_TOKEN, role: 'viewer' },
      ],
    },
    hub,
    devices: [
      {
        id: 'mock1',
        serial: { path: link, baudRate: 115200 },
        parser: { format: 'kv' },
        commands: { reply: { match: '^(OK|ERR|PONG)', timeoutMs: 2000 } },
      },
    ],
  });
}

export async function startRig(opts: { intervalMs?: number; replyDelayMs?: number; hub?: Record<string, unknown> } = {}) {
  const link = uniqueLink();
  const mock: MockDevice = await startMock({ link, format: 'kv', intervalMs: opts.intervalMs ?? 20, replyDelayMs: opts.replyDelayMs });
  let gateway: Gateway;
  try {
    gateway = await startGateway(gatewayConfig(link, 0, opts.hub), silentLogger());
  } catch (err) {
    await mock.stop();
    throw err;
  }
  const port = Number(new URL(gateway.url).port);
  return {
    mock,
    link,
    port,
    get gateway() {
      return gateway;
    },
    /** the dashboard endpoint of the current gateway */
    get wsUrl() {
      return `${gateway.url.replace(/^http/, 'ws')}/ws`;
    },
    /** stop the gateway and start a new one on the same port (the mock keeps running) */
    async restart(pauseMs = 300): Promise<void> {
      await gateway.stop();
      await new Promise((r) => setTimeout(r, pauseMs));
      gateway = await startGateway(gatewayConfig(link, port, opts.hub), silentLogger());
    },
    async stop(): Promise<void> {
      await gateway.stop();
      await mock.stop();
    },
  };
}

/** A client that records everything it is told. */
export function recordingClient(url: string, opts: ConnectOptions = {}) {
  const readings: ReadingMessage[] = [];
  const states: ConnectionInfo[] = [];
  const gaps: { from: number; to: number }[] = [];
  const resets: ResetInfo[] = [];
  const hellos: number[] = [];
  const epochs: string[] = [];
  /** how many readings had arrived when each hello came: where each run starts in `readings` */
  const readingsAtHello: number[] = [];
  const client: SerialgateClient = connect(url, {
    WebSocketImpl: WebSocket,
    token: OPERATOR_TOKEN,
    reconnect: { minMs: 100, maxMs: 400 },
    ...opts,
    onReading: (r) => readings.push(r),
    onState: (s) => states.push(s),
    onGap: (g) => gaps.push(g),
    onReset: (r) => resets.push(r),
    onHello: (h) => {
      hellos.push(h.seq);
      epochs.push(h.epoch);
      readingsAtHello.push(readings.length);
    },
  });
  return { client, readings, states, gaps, resets, hellos, epochs, readingsAtHello };
}

/** polls `cond` every 10 ms; rejects naming `what` after timeoutMs */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const seqs = (rs: readonly ReadingMessage[]): number[] => rs.map((r) => r.seq);

/** [a, a+1, ..., b] */
export const range = (a: number, b: number): number[] => Array.from({ length: Math.max(0, b - a + 1) }, (_, i) => a + i);
