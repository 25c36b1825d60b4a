/**
 * A real server on 127.0.0.1:0 for the server tests: createHttpServer + WsServer + the echo
 * route (+ test-only endpoints), with limits overridable per test. GET / answers a blank page so
 * a browser can load a same-origin document.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import WebSocket from 'ws';
import { serverSchema, type LimitsConfig } from '../../../src/config/schema.js';
import { silentLogger, type Logger } from '../../../src/log.js';
import type { Connection } from '../../../src/server/connection.js';
import { echoEndpoint } from '../../../src/server/echo.js';
import { createHttpServer } from '../../../src/server/http-server.js';
import { WsServer, type EndpointOptions } from '../../../src/server/ws-server.js';

export interface TestServer {
  readonly port: number;
  /** ws://127.0.0.1:PORT (wss:// with tls) */
  readonly wsUrl: string;
  /** http://127.0.0.1:PORT (https:// with tls) */
  readonly httpUrl: string;
  readonly wss: WsServer;
  readonly http: http.Server;
  readonly limits: LimitsConfig;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  limits?: Partial<LimitsConfig>;
  /** extra endpoints besides /echo */
  endpoints?: EndpointOptions<any>[];
  /** PEM file paths: serve https/wss */
  tls?: { cert: string; key: string };
  /** default: silent */
  logger?: Logger;
}

const BLANK_PAGE = '<!doctype html><html><head><meta charset="utf-8"><title>serialgate test</title></head><body></body></html>';

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.method === 'GET' && req.url === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(BLANK_PAGE);
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
}

export async function startServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const config = serverSchema.parse({ host: '127.0.0.1', port: 0, echo: true, limits: opts.limits ?? {}, tls: opts.tls });
  const srv = createHttpServer(config, handler) as http.Server;
  const wss = new WsServer(srv, config.limits, opts.logger ?? silentLogger());
  wss.addEndpoint(echoEndpoint());
  for (const ep of opts.endpoints ?? []) wss.addEndpoint(ep);
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = srv.address() as AddressInfo;
  return {
    port,
    wsUrl: `${opts.tls ? 'wss' : 'ws'}://127.0.0.1:${port}`,
    httpUrl: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    wss,
    http: srv,
    limits: config.limits,
    async stop() {
      await wss.close(1001);
      srv.closeAllConnections();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}

export interface Recorded {
  conn: Connection;
  /** the server-side 'close' event, listened to from the start */
  closed: Promise<{ code: number; reason: string }>;
}

/**
 * Test-only endpoint: records each connection with its 'close' event and echoes, except that
 * the text message 'close-me' makes the server close with 4001 'bye'.
 */
export function recorder(path: string, conns: Recorded[], protocols: string[] = []): EndpointOptions<void> {
  return {
    path,
    protocols,
    onConnection(conn) {
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        conn.once('close', (code: number, reason: string) => resolve({ code, reason })),
      );
      conns.push({ conn, closed });
      conn.on('message', (data: Buffer, binary: boolean) => {
        if (!binary && data.toString() === 'close-me') conn.close(4001, 'bye');
        else conn.send(data, binary);
      });
    },
  };
}

/** A fresh ws client gets its echo: the server survived whatever the test did before. */
export async function expectServed(s: TestServer): Promise<void> {
  const ws = new WebSocket(`${s.wsUrl}/echo`);
  try {
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const echoed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
    ws.send('still served');
    expect(await echoed).toBe('still served');
  } finally {
    ws.terminate();
  }
}
