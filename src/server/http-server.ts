/**
 * The HTTP(S) server every route and the WebSocket upgrade share. Node's llhttp splits requests
 * (linear time, bounded by maxHeaderSize); our limits bound it in time and header count.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { LogRateLimiter } from '../log-rate.js';
import { metrics } from '../metrics.js';
import { httpErrorResponse } from '../ws/handshake.js';
import { peerKey } from './peer-address.js';
import { admission, type HostCheck, type RequestRules } from './request-rules.js';

type ServerConfig = Config['server'];

/** `node:https` (and with it `node:tls`, ~3 MB of RSS on Node 24) is loaded only for a TLS listener. */
const loadHttps = (): typeof https => createRequire(import.meta.url)('node:https') as typeof https;

/** Node checks header/request deadlines on an interval (30 s by default): tighten it so a 10 s
 *  handshake timeout fires within ~1 s of its deadline, not up to 30 s late. */
function checkingInterval(timeoutMs: number): number {
  return Math.min(1000, Math.max(50, Math.floor(timeoutMs / 5)));
}

/** `hostAllowed`: the Host allowlist, applied to every plain request (WsServer applies it to upgrades). */
/** `logger`: where a peer over its connection share is reported (once per peer per 10 s). */
export function createHttpServer(
  server: ServerConfig,
  handler: http.RequestListener,
  hostAllowed?: HostCheck,
  logger?: Logger,
): http.Server | https.Server {
  const { limits } = server;
  const routed = admit({ maxHeaders: limits.maxHeaders, hostAllowed }, handler);
  const options: http.ServerOptions = {
    // Slowloris: the whole header block (upgrade requests included) must arrive within this.
    headersTimeout: limits.handshakeTimeoutMs,
    requestTimeout: limits.handshakeTimeoutMs,
    connectionsCheckingInterval: checkingInterval(limits.handshakeTimeoutMs),
    maxHeaderSize: limits.maxHeaderBytes,
  };
  const srv = server.tls
    ? loadHttps().createServer(
        {
          ...options,
          cert: readFileSync(server.tls.cert),
          key: readFileSync(server.tls.key),
          // the TLS handshake comes before any HTTP byte: without this, a silent client holds a socket for 120 s
          handshakeTimeout: limits.handshakeTimeoutMs,
        },
        routed,
      )
    : http.createServer(options, routed);
  // One more than allowed, so the rules see the excess and answer 431 instead of Node silently
  // dropping headers past the count.
  srv.maxHeadersCount = limits.maxHeaders + 1;
  srv.on('clientError', onClientError);
  // Node hands CONNECT to this event only, and drops the socket unanswered when nobody listens
  srv.on('connect', onConnectMethod);
  const sockets = new Set<Socket>();
  const forget = function (this: Socket) {
    sockets.delete(this);
  };
  const perPeer = new Map<string, number>();
  const refusedLog = new LogRateLimiter(10_000);
  srv.on('connection', (socket: Socket) => {
    // checked at accept, before any byte is read: a host holding its share costs the others nothing more
    const peer = peerKey(socket.remoteAddress);
    if (peer !== undefined) {
      const held = perPeer.get(peer) ?? 0;
      if (held >= limits.maxConnectionsPerAddress) {
        metrics.connectionsRefused.inc();
        if (logger)
          refusedLog.log(
            logger,
            'warn',
            peer,
            { code: 'SG_ERR_PEER_CONNECTIONS', peer, limit: limits.maxConnectionsPerAddress },
            'a peer over server.limits.maxConnectionsPerAddress: its new connections are closed at accept',
          );
        socket.destroy();
        return;
      }
      perPeer.set(peer, held + 1);
      socket.once('close', () => {
        const n = perPeer.get(peer)! - 1;
        if (n === 0) perPeer.delete(peer);
        else perPeer.set(peer, n);
      });
    }
    sockets.add(socket);
    socket.on('close', forget);
  });
  accepted.set(srv, sockets);
  return srv;
}

/** Every TCP socket a server accepted and that is still open (the raw socket under TLS). */
const accepted = new WeakMap<http.Server | https.Server, Set<Socket>>();

/**
 * The end of a stop: destroys every socket still open, whatever state its peer left it in.
 * Node's closeAllConnections() knows a connection only once HTTP sees it, so under TLS a peer
 * that connected and never finished the TLS handshake would hold server.close() for
 * handshakeTimeoutMs.
 */
export function destroyAllConnections(srv: http.Server | https.Server): void {
  for (const socket of accepted.get(srv) ?? []) socket.destroy();
}

/**
 * Runs `handler` only for a request the rules admit; a refusal ends the connection too.
 *
 * A pipelined request (sent before the answer to the one ahead of it was read) is handled only
 * when its turn comes: Node gives its response the socket once the answer ahead has been written
 * out. Handled at once, every request of a pipeline would have its answer built and held in memory
 * until the client reads: 1,000 `GET /history.json` in one 89 KB write, never read, held ~500 MB
 * and stalled the event loop for seconds. Now a client that does not read holds one answer.
 */
function admit(rules: RequestRules, handler: http.RequestListener): http.RequestListener {
  const run = runAdmitted(rules, handler);
  return (req, res) => {
    if (res.socket) run(req, res);
    else res.once('socket', () => run(req, res));
  };
}

function runAdmitted(rules: RequestRules, handler: http.RequestListener): http.RequestListener {
  return (req, res) => {
    const refused = admission(req, rules);
    if (refused.ok) return handler(req, res);
    metrics.httpClientErrors.inc({ status: refused.status });
    res.shouldKeepAlive = false;
    const body = `${refused.message}\n`;
    res.writeHead(refused.status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(body);
  };
}

/** Status for an error Node's HTTP parser or its timers raised before a request existed. */
function clientErrorStatus(code: string | undefined): number {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    default:
      return 400;
  }
}

const clientErrorMessages = new Map<number, string>([
  [408, 'request not completed in time'],
  // Node 20 reports only the byte limit here; from Node 22 on, llhttp also stops at
  // maxHeadersCount with the same error code, so the message cannot tell which one it was
  [431, 'request header block too large or with too many header lines'],
  [400, 'malformed HTTP request'],
]);

/**
 * Replaces Node's default (which writes a bare status line) with a complete response, then
 * destroys the socket: garbage instead of HTTP costs the sender one round trip and nothing else.
 * Like Node's default, a response is written only when nothing was written yet (keep-alive).
 */
/** CONNECT (a proxy tunnel): no route takes it; answered as any other method is, 405. */
function onConnectMethod(_req: http.IncomingMessage, socket: Duplex): void {
  metrics.httpClientErrors.inc({ status: 405 });
  socket.on('error', () => socket.destroy());
  socket.end(httpErrorResponse(405, 'method not allowed', { Allow: 'GET, HEAD' }), () => socket.destroy());
}

function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const sock = socket as Socket;
  if (err.code !== 'ECONNRESET' && sock.writable && sock.bytesWritten === 0) {
    const status = clientErrorStatus(err.code);
    metrics.httpClientErrors.inc({ status });
    sock.write(httpErrorResponse(status, clientErrorMessages.get(status)!));
  }
  sock.destroy();
}
