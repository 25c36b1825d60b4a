/**
 * Upgrades HTTP requests to WebSocket connections: routes by path, validates with the sans-I/O
 * handshake, asks the endpoint's authorize hook and hands the socket, with its 101 to write, to a
 * Connection. Also owns what all connections share: the keepalive sweep and the metrics.
 */
import type http from 'node:http';
import type https from 'node:https';
import type { Socket } from 'node:net';
import type { LimitsConfig } from '../config/schema.js';
import { closeCodeLabel, metrics, sendTally } from '../metrics.js';
import type { Logger } from '../log.js';
import type { ParserOptions } from '../ws/frame-parser.js';
import { httpErrorResponse, processHandshake } from '../ws/handshake.js';
import type { RequestHost } from '../ws/host.js';
import { Connection, type ConnectionHost } from './connection.js';
import { admission, type HostCheck, type RequestRules } from './request-rules.js';

export interface UpgradeInfo {
  /** the request target's path, as sent (no dot segments resolved: an endpoint is matched exactly) */
  path: string;
  /** the query after `?`, as sent ('' for none): `new URLSearchParams(query)` reads it */
  query: string;
  /** the Host, parsed once by the request rules (undefined: none, HTTP/1.0) */
  host: RequestHost | undefined;
  headers: ReadonlyMap<string, string>;
  offered: readonly string[];
  protocol: string | undefined;
  remoteAddress: string;
}

export type AuthResult<C> = { ok: true; context: C } | { ok: false; status: number; message: string };

export interface EndpointOptions<C> {
  path: string;
  protocols: readonly string[];
  originAllowed?(origin: string | undefined, host: RequestHost | undefined): boolean;
  /** Runs before the 101: a failure is answered with its HTTP status and no upgrade happens. */
  authorize?(info: UpgradeInfo): AuthResult<C>;
  onConnection(conn: Connection, info: UpgradeInfo, context: C): void;
}

export class WsServer implements ConnectionHost {
  readonly parserOptions: ParserOptions;
  private readonly rules: RequestRules;
  private readonly endpoints = new Map<string, EndpointOptions<unknown>>();
  private readonly open = new Set<Connection>();
  private closing = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private allClosed: Promise<void> | undefined;
  private onAllClosed: (() => void) | undefined;

  /** `hostAllowed`: the same Host allowlist createHttpServer applies to plain requests, for every endpoint. */
  constructor(
    http: http.Server | https.Server,
    readonly limits: LimitsConfig,
    readonly logger: Logger,
    hostAllowed?: HostCheck,
  ) {
    this.rules = { maxHeaders: limits.maxHeaders, hostAllowed };
    this.parserOptions = { maxMessageBytes: limits.maxMessageBytes, maxFragments: limits.maxFragments };
    http.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
  }

  get connections(): ReadonlySet<Connection> {
    return this.open;
  }

  addEndpoint<C>(opts: EndpointOptions<C>): void {
    if (this.endpoints.has(opts.path)) throw new Error(`SG_ERR_WS_ENDPOINT_EXISTS: an endpoint already serves ${opts.path}`);
    this.endpoints.set(opts.path, opts as EndpointOptions<unknown>);
  }

  /**
   * Refuses new upgrades (503), closes every connection with `code` (one already closing keeps its
   * own) and resolves once all are CLOSED. A peer gets `graceMs` to answer the close frame, then
   * its socket is destroyed: a shutdown must not wait on peers that never answer or never read.
   * Each connection's own close timer (closeTimeoutMs) still applies when it is shorter.
   */
  close(code: number = 1001, reason: string = '', graceMs: number = this.limits.closeTimeoutMs): Promise<void> {
    this.closing = true;
    for (const conn of this.open) conn.close(code, reason);
    if (this.open.size === 0) return Promise.resolve();
    // a second call (or a shutdown racing another) waits for the same moment
    this.allClosed ??= new Promise((resolve) => {
      this.onAllClosed = resolve;
    });
    const deadline = setTimeout(() => {
      for (const conn of this.open) conn.terminate();
    }, graceMs);
    void this.allClosed.then(() => clearTimeout(deadline));
    return this.allClosed;
  }

  /** @internal ConnectionHost: a connection's socket closed. */
  connectionClosed(conn: Connection, code: number): void {
    this.open.delete(conn);
    metrics.connections.dec();
    metrics.closes.inc({ code: closeCodeLabel(code) });
    if (this.open.size === 0) {
      this.stopSweep();
      this.onAllClosed?.();
      this.onAllClosed = undefined;
      this.allClosed = undefined;
    }
  }

  /**
   * Why a plain request at an endpoint's path (one without both `Upgrade: websocket` and
   * `Connection: Upgrade`, so Node raised no 'upgrade') is not a WebSocket handshake, by the
   * handshake's own rules: 400 naming the missing header, not the static files' 404 — the usual
   * sign of a reverse proxy that does not pass the upgrade headers on. Undefined for other paths.
   */
  plainRefusal(req: http.IncomingMessage): { status: number; message: string; headers: Readonly<Record<string, string>> } | undefined {
    const target = req.url ?? '';
    const { path } = splitTarget(target);
    const endpoint = this.endpoints.get(path);
    if (!endpoint) return undefined;
    const result = processHandshake(
      { method: req.method ?? '', httpVersion: req.httpVersion, url: target, rawHeaders: req.rawHeaders },
      { protocols: endpoint.protocols, maxHeaders: this.limits.maxHeaders },
    );
    // a valid handshake always arrives as an upgrade: whatever got here lacks one of the two headers
    if (result.ok) return undefined;
    return { status: result.status, message: `${path} is a WebSocket endpoint: ${result.message}`, headers: result.headers };
  }

  private upgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    // Until a Connection owns it, a reset socket must not become an uncaught 'error'.
    socket.on('error', ignoreError);
    const target = req.url ?? '';
    const { path, query } = splitTarget(target);
    const reject = (status: number, message: string, response = httpErrorResponse(status, message)) => {
      metrics.handshakeRejected.inc({ status: String(status) });
      // the path only: a query may carry ?token= (DESIGN.md), which must never reach a log line
      this.logger.debug({ status, path, remote: socket.remoteAddress }, `upgrade refused: ${message}`);
      if (socket.writable) socket.write(response);
      socket.destroy();
    };

    // the rules of every request first: an upgrade is refused like the same plain GET
    const admitted = admission(req, this.rules);
    if (!admitted.ok) return reject(admitted.status, admitted.message);
    // origin-form only ("/path?query"): "//host/x" or "http://host/x" must not route as "/x"
    if (!target.startsWith('/') || target.startsWith('//')) return reject(400, 'request target must be a path');
    const endpoint = this.endpoints.get(path);
    if (!endpoint) return reject(404, `no WebSocket endpoint at ${path}`);
    if (this.closing) return reject(503, 'server is shutting down');
    if (this.open.size >= this.limits.maxConnections) return reject(503, 'too many connections');

    const result = processHandshake(
      { method: req.method ?? '', httpVersion: req.httpVersion, url: target, rawHeaders: req.rawHeaders },
      { protocols: endpoint.protocols, maxHeaders: this.limits.maxHeaders, originAllowed: endpoint.originAllowed },
    );
    if (!result.ok) return reject(result.status, result.message, result.response);

    const info: UpgradeInfo = {
      path,
      query,
      host: admitted.host,
      headers: result.headers,
      offered: result.offered,
      protocol: result.protocol,
      remoteAddress: socket.remoteAddress ?? '',
    };
    let context: unknown;
    if (endpoint.authorize) {
      let auth: AuthResult<unknown>;
      try {
        auth = endpoint.authorize(info);
      } catch (err) {
        this.logger.error({ err, path }, 'authorize hook threw');
        return reject(500, 'internal error');
      }
      if (!auth.ok) return reject(auth.status, auth.message);
      context = auth.context;
    }
    // The client may have given up while we decided.
    if (!socket.writable) return void socket.destroy();

    socket.removeListener('error', ignoreError);
    socket.setNoDelay(true);
    const conn = new Connection(socket, result.protocol, this, result.response);
    this.open.add(conn);
    metrics.connections.inc();
    metrics.connectionsTotal.inc();
    this.startSweep();
    try {
      endpoint.onConnection(conn, info, context);
    } catch (err) {
      // an endpoint bug must cost this connection, not the process
      conn.fault(err);
      return;
    }
    conn.flushResponse();
    // Frame bytes that arrived in the same packet as the handshake, once the endpoint listens.
    if (head.length > 0) conn.receive(head);
  }

  /**
   * One timer for every connection's keepalive (a timer per connection costs memory). It ticks
   * at a quarter of the shorter interval, so a ping goes out within 1.25 × pingIntervalMs of
   * silence and a dead peer is dropped within 1.25 × pongTimeoutMs of the ping.
   */
  private startSweep(): void {
    const { pingIntervalMs, pongTimeoutMs } = this.limits;
    if (this.sweepTimer || pingIntervalMs === 0) return;
    const tick = Math.max(10, Math.floor(Math.min(pingIntervalMs, pongTimeoutMs || pingIntervalMs) / 4));
    this.sweepTimer = setInterval(() => {
      const now = Date.now();
      for (const conn of this.open) conn.keepalive(now, pingIntervalMs, pongTimeoutMs);
    }, tick);
    this.sweepTimer.unref();
  }

  private stopSweep(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }
}

function ignoreError(): void {}

/**
 * A request target's path and query ('' for none), split by hand, not by new URL() (µs of every
 * handshake): llhttp has already refused what no request line may carry, and an endpoint path is
 * matched exactly as sent.
 */
function splitTarget(target: string): { path: string; query: string } {
  const mark = target.indexOf('?');
  return mark < 0 ? { path: target, query: '' } : { path: target.slice(0, mark), query: target.slice(mark + 1) };
}

/**
 * Writes one pre-framed Buffer to every OPEN connection (no per-client copy or framing) and
 * returns how many took it. Counts metrics once for the whole batch.
 */
export function broadcast(frame: Buffer, conns: Iterable<Connection>): number {
  let sent = 0;
  for (const conn of conns) {
    if (conn.readyState === Connection.OPEN && conn.writeFrame(frame) !== 'closed') sent++;
  }
  sendTally.messages += sent;
  sendTally.bytes += sent * frame.length;
  return sent;
}
