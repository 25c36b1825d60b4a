/**
 * One WebSocket connection: the socket I/O around the sans-I/O WsProtocol, which decides
 * everything about frames and the close handshake; this class carries out its actions and keeps
 * the socket, the timers and the backpressure. States and bufferedAmount follow the browser API;
 * send() reports backpressure instead of queueing without bound. Memory matters here (thousands
 * of idle connections on a Pi): socket listeners are shared functions that find their connection
 * through the socket, and timers are either shared by the server (keepalive) or exist only while
 * closing.
 *
 * Fault boundary: an exception thrown by a listener of this connection's events ('message',
 * 'drain', 'close') costs this connection only: it is logged once (SG_ERR_CONNECTION_FAULT),
 * counted, and the connection is failed with 1011. No input can reach process-level handlers.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { LimitsConfig } from '../config/schema.js';
import { metrics, sendTally } from '../metrics.js';
import type { Logger } from '../log.js';
import { CloseCode, Opcode } from '../ws/constants.js';
import { encodeFrame } from '../ws/frame-encoder.js';
import type { ParserOptions } from '../ws/frame-parser.js';
import { Action, ReadyState, WsProtocol, type ActionKind, type ReadyStateValue } from '../ws/protocol.js';

export type SendResult = 'ok' | 'backpressure' | 'closed';

/** What a connection shares with the others of its server (one object, not one per connection). */
export interface ConnectionHost {
  readonly limits: LimitsConfig;
  readonly parserOptions: ParserOptions;
  readonly logger: Logger;
  /** The socket is gone and 'close' is about to be emitted with `code`. */
  connectionClosed(conn: Connection, code: number): void;
}

const kConnection = Symbol('serialgate.connection');
type OwnedSocket = Socket & { [kConnection]?: Connection };
const EMPTY = Buffer.alloc(0);

let nextId = 1;

export class Connection extends EventEmitter {
  static readonly OPEN = ReadyState.Open;
  static readonly CLOSING = ReadyState.Closing;
  static readonly CLOSED = ReadyState.Closed;

  readonly id = nextId++;
  readonly remoteAddress: string;
  private readonly protocolCore: WsProtocol;
  private closeTimer: NodeJS.Timeout | undefined;
  /** Keepalive bookkeeping read by the server's one sweep timer. */
  private lastSeen = Date.now();
  private pingSentAt = 0;
  /** A 'backpressure' result was returned and 'drain' has not been emitted yet. */
  private awaitingDrain = false;
  /** Allocated on the first backpressure only: most connections never need it. */
  private onFlushed: (() => void) | undefined;

  /**
   * Created by WsServer, so a connection starts OPEN (there is no CONNECTING state on this side).
   * `response` is the 101, held until a write carries it: what the endpoint sends on accepting the
   * connection (the hub's hello and snapshot) leaves in the same write, one syscall instead of two
   * (on loopback a write also runs the reader's TCP path: ~120 µs less CPU per handshake, README
   * "Footprint"); flushResponse() sends it alone otherwise. Frame bytes that came with the
   * handshake go to receive().
   */
  constructor(
    private readonly socket: Socket,
    readonly protocol: string | undefined,
    private readonly host: ConnectionHost,
    private response: Buffer | undefined,
  ) {
    super();
    this.remoteAddress = socket.remoteAddress ?? '';
    this.protocolCore = new WsProtocol(host.parserOptions);
    (socket as OwnedSocket)[kConnection] = this;
    socket.on('data', onSocketData);
    socket.on('error', onSocketError);
    // HTTP server sockets are half-open capable: a peer's FIN would otherwise leave ours open.
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
  }

  get readyState(): ReadyStateValue {
    return this.protocolCore.state;
  }

  /** Bytes queued in user space, not yet accepted by the kernel. */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  /** @internal Feeds bytes read from the socket (or handshake leftovers) to the protocol and
   *  carries out what they call for, one action at a time. */
  receive(chunk: Buffer): void {
    this.lastSeen = Date.now();
    this.pingSentAt = 0; // any data proves the peer is alive, not only a pong
    const core = this.protocolCore;
    core.receive(chunk);
    for (let action = core.next(); action !== Action.Done; action = core.next()) {
      try {
        this.perform(action);
      } catch (err) {
        this.fault(err);
      }
    }
  }

  /** A string is sent as a text frame and a Buffer as binary, unless `binary` says otherwise
   *  (a Buffer holding valid UTF-8, e.g. a received text message, can go out as text). */
  send(data: string | Buffer, binary: boolean = typeof data !== 'string'): SendResult {
    if (this.readyState !== Connection.OPEN) return 'closed';
    return this.sendFrame(encodeFrame(binary ? Opcode.Binary : Opcode.Text, data));
  }

  /** Writes pre-framed bytes as they are: the same Buffer can go to many connections. */
  sendFrame(frame: Buffer): SendResult {
    const result = this.writeFrame(frame);
    if (result !== 'closed') {
      sendTally.messages++;
      sendTally.bytes += frame.length;
    }
    return result;
  }

  /** @internal sendFrame without metrics: broadcast() counts once for all connections; pings and
   *  pongs go through here too, so a peer flooding pings without reading hits the hard cap. */
  writeFrame(frame: Buffer): SendResult {
    const socket = this.socket;
    // !writable: the socket died (reset) and its 'close' event is still pending
    if (this.readyState !== Connection.OPEN || !socket.writable) return 'closed';
    const queued = socket.writableLength;
    // Hard cap: a client that stopped reading cannot grow our memory. A message larger than the
    // cap still goes out on an empty queue, so the queue never exceeds max(cap, one message).
    if (queued > 0 && queued + frame.length > this.host.limits.sendHardLimitBytes) {
      this.overflow();
      return 'closed';
    }
    socket.write(this.withResponse(frame));
    if (socket.writableLength <= this.host.limits.sendSoftLimitBytes) return 'ok';
    this.watchDrain();
    return 'backpressure';
  }

  /** Batches the following writes into one writev at uncork() (a hub flushing several frames). */
  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  /** Starts the close handshake; the socket is destroyed if the peer does not answer in closeTimeoutMs. */
  close(code: number = CloseCode.Normal, reason: string = ''): void {
    // throws on a code we may not send: a caller bug
    this.perform(this.protocolCore.close(code, reason));
  }

  /** @internal WsServer, once the endpoint has seen the connection: the 101 goes out now if no write took it. */
  flushResponse(): void {
    if (this.response !== undefined && this.socket.writable) this.socket.write(this.withResponse(EMPTY));
  }

  /** Destroys the socket without a close handshake ('close' reports 1006 unless a close was sent). */
  terminate(): void {
    this.socket.destroy();
  }

  /** Called by the server's sweep timer: ping an idle peer, drop one that stopped answering. */
  keepalive(now: number, pingIntervalMs: number, pongTimeoutMs: number): void {
    if (this.readyState !== Connection.OPEN) return;
    if (this.pingSentAt !== 0) {
      if (now - this.pingSentAt >= pongTimeoutMs) {
        this.host.logger.debug({ conn: this.id }, 'no pong within pongTimeoutMs: terminating');
        this.terminate();
      }
    } else if (now - this.lastSeen >= pingIntervalMs) {
      this.pingSentAt = now;
      this.writeFrame(PING_FRAME);
    }
  }

  /** @internal The fault boundary: `err` was thrown while this connection's event was handled. */
  fault(err: unknown): void {
    metrics.faults.inc({ boundary: 'connection' });
    this.host.logger.error({ err, conn: this.id, code: 'SG_ERR_CONNECTION_FAULT' }, 'exception while handling a connection: closing it with 1011');
    this.perform(this.protocolCore.fail(CloseCode.InternalError, 'internal error'));
  }

  /** Carries out one action of the protocol core (see Action). */
  private perform(action: ActionKind): void {
    const core = this.protocolCore;
    switch (action) {
      case Action.Message:
        metrics.messagesReceived.inc();
        this.emit('message', core.data, core.binary);
        break;
      case Action.Send:
        this.writeFrame(core.data);
        break;
      case Action.Close:
        this.startClosing(core.data, core.endAfter);
        break;
      case Action.End:
        this.socket.end();
        break;
      case Action.Destroy:
        this.socket.destroy();
        break;
      case Action.Violation:
        this.host.logger.debug({ conn: this.id, code: core.error!.code, closeCode: core.error!.closeCode }, core.error!.message);
        break;
      // Action.Done: nothing to do
    }
  }

  // ---- socket events (through the shared listeners below) ----

  /** @internal */
  onSocketError(err: Error): void {
    this.host.logger.debug({ conn: this.id, err: err.message }, 'socket error');
  }

  /** @internal */
  onSocketEnd(): void {
    this.perform(this.protocolCore.eof());
  }

  /** @internal */
  onSocketClose(): void {
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.closeTimer = undefined;
    const { code, reason } = this.protocolCore.closed();
    this.host.connectionClosed(this, code);
    this.emitGuarded('close', code, reason);
  }

  /** @internal */
  onDrainCheck(): void {
    if (this.readyState !== Connection.OPEN) return;
    if (this.socket.writableLength <= this.host.limits.sendSoftLimitBytes) {
      this.awaitingDrain = false;
      this.emitGuarded('drain');
    } else {
      this.socket.write(EMPTY, this.onFlushed);
    }
  }

  /** Emits an event outside receive()'s loop, behind the same fault boundary. */
  private emitGuarded(event: 'drain' | 'close', ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (err) {
      this.fault(err);
    }
  }

  /** Sends `frame` (a close frame) and arms the close timer; `endTcp` when we close TCP right away. */
  private startClosing(frame: Buffer, endTcp: boolean): void {
    if (endTcp) this.socket.end(this.withResponse(frame));
    else this.socket.write(this.withResponse(frame));
    this.closeTimer = setTimeout(destroySocket, this.host.limits.closeTimeoutMs, this.socket);
    this.closeTimer.unref();
  }

  /** `bytes`, after the 101 response if that is still to be sent (once: the first write takes it). */
  private withResponse(bytes: Buffer): Buffer {
    const response = this.response;
    if (response === undefined) return bytes;
    this.response = undefined;
    return bytes.length === 0 ? response : Buffer.concat([response, bytes]);
  }

  /** The peer stopped reading and our queue hit the hard cap: 1013, and free the memory now. */
  private overflow(): void {
    this.host.logger.debug({ conn: this.id, queued: this.socket.writableLength }, 'send buffer over sendHardLimitBytes: closing with 1013');
    this.perform(this.protocolCore.abort(CloseCode.TryAgainLater, 'send buffer full'));
  }

  /**
   * 'drain' once the queue is back under the soft limit. An empty write's callback runs when
   * everything queued before it has been flushed; this works whatever the socket's highWaterMark
   * (Node's own 'drain' only fires after write() returned false, i.e. above 16 KiB).
   */
  private watchDrain(): void {
    if (this.awaitingDrain) return;
    this.awaitingDrain = true;
    this.onFlushed ??= () => this.onDrainCheck();
    this.socket.write(EMPTY, this.onFlushed);
  }
}

const PING_FRAME = encodeFrame(Opcode.Ping, EMPTY);

function destroySocket(socket: Socket): void {
  socket.destroy();
}

// Shared listeners: `this` is the socket, which carries its connection.
function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[kConnection]!.receive(chunk);
}

function onSocketError(this: OwnedSocket, err: Error): void {
  // 'close' follows; the error itself (ECONNRESET, EPIPE) is the peer's business.
  this[kConnection]!.onSocketError(err);
}

function onSocketEnd(this: OwnedSocket): void {
  this[kConnection]!.onSocketEnd();
}

function onSocketClose(this: OwnedSocket): void {
  this[kConnection]!.onSocketClose();
}
