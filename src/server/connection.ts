/**
 * One WebSocket connection: the socket I/O around the sans-I/O FrameParser. States and
 * bufferedAmount follow the browser API; send() reports backpressure instead of queueing without
 * bound. Memory matters here (thousands of idle connections on a Pi): socket listeners and parser
 * handlers are shared functions that find their connection through the socket, and timers are
 * either shared by the server (keepalive) or exist only while closing.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { LimitsConfig } from '../config/schema.js';
import { metrics, sendTally } from '../http/metrics.js';
import type { Logger } from '../log.js';
import { CloseCode, Opcode } from '../ws/constants.js';
import type { WsProtocolError } from '../ws/errors.js';
import { encodeClose, encodeFrame } from '../ws/frame-encoder.js';
import { FrameParser, type ParserHandlers, type ParserOptions } from '../ws/frame-parser.js';

export type SendResult = 'ok' | 'backpressure' | 'closed';
type ReadyState = 0 | 1 | 2 | 3;

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
/** A control frame carries at most 125 bytes, 2 of them the close code. */
const MAX_REASON_BYTES = 123;

let nextId = 1;

export class Connection extends EventEmitter {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  readonly id = nextId++;
  readonly remoteAddress: string;
  private state: ReadyState = Connection.OPEN;
  private readonly parser: FrameParser;
  /** Close code of whoever closed first (0: nobody yet); reported by 'close'. */
  private closeCode = 0;
  private closeReason = '';
  private closeSent = false;
  private closeTimer: NodeJS.Timeout | undefined;
  /** Keepalive bookkeeping read by the server's one sweep timer. */
  private lastSeen = Date.now();
  private pingSentAt = 0;
  /** A 'backpressure' result was returned and 'drain' has not been emitted yet. */
  private awaitingDrain = false;
  /** Allocated on the first backpressure only: most connections never need it. */
  private onFlushed: (() => void) | undefined;

  /** Created by WsServer once the 101 response is written, so a connection starts OPEN (CONNECTING
   *  exists for parity with the browser API). Frame bytes that came with the handshake go to receive(). */
  constructor(
    private readonly socket: Socket,
    readonly protocol: string | undefined,
    private readonly host: ConnectionHost,
  ) {
    super();
    this.remoteAddress = socket.remoteAddress ?? '';
    this.parser = new FrameParser(host.parserOptions, new ParserSink(this));
    (socket as OwnedSocket)[kConnection] = this;
    socket.on('data', onSocketData);
    socket.on('error', onSocketError);
    // HTTP server sockets are half-open capable: a peer's FIN would otherwise leave ours open.
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
  }

  get readyState(): ReadyState {
    return this.state;
  }

  /** Bytes queued in user space, not yet accepted by the kernel. */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  /** @internal Feeds bytes read from the socket (or handshake leftovers) to the parser. */
  receive(chunk: Buffer): void {
    this.lastSeen = Date.now();
    this.pingSentAt = 0; // any data proves the peer is alive, not only a pong
    this.parser.push(chunk);
  }

  /** A string is sent as a text frame and a Buffer as binary, unless `binary` says otherwise
   *  (a Buffer holding valid UTF-8, e.g. a received text message, can go out as text). */
  send(data: string | Buffer, binary: boolean = typeof data !== 'string'): SendResult {
    if (this.state !== Connection.OPEN) return 'closed';
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
    if (this.state !== Connection.OPEN || !socket.writable) return 'closed';
    const queued = socket.writableLength;
    // Hard cap: a client that stopped reading cannot grow our memory. A message larger than the
    // cap still goes out on an empty queue, so the queue never exceeds max(cap, one message).
    if (queued > 0 && queued + frame.length > this.host.limits.sendHardLimitBytes) {
      this.overflow();
      return 'closed';
    }
    socket.write(frame);
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
    if (this.state !== Connection.OPEN) return;
    const frame = encodeClose(code, reason); // throws on a code we may not send: a caller bug
    this.closeCode = code;
    this.closeReason = reason;
    this.startClosing(frame, false);
  }

  /** Destroys the socket without a close handshake ('close' reports 1006 unless a close was sent). */
  terminate(): void {
    this.socket.destroy();
  }

  /** Called by the server's sweep timer: ping an idle peer, drop one that stopped answering. */
  keepalive(now: number, pingIntervalMs: number, pongTimeoutMs: number): void {
    if (this.state !== Connection.OPEN) return;
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

  // ---- parser events (through ParserSink) ----

  /** @internal */
  onMessage(data: Buffer, binary: boolean): void {
    // After close() the browser API drops incoming messages too: the application is done.
    if (this.state !== Connection.OPEN) return;
    metrics.messagesReceived.inc();
    this.emit('message', data, binary);
  }

  /** @internal */
  onPing(data: Buffer): void {
    if (this.state === Connection.OPEN) this.writeFrame(encodeFrame(Opcode.Pong, data));
  }

  /** @internal */
  onPeerClose(code: number | undefined, reason: string): void {
    if (this.closeSent) {
      // The peer answered our close: the handshake is complete and the server closes TCP first.
      this.socket.end();
      return;
    }
    this.closeCode = code ?? CloseCode.NoStatus;
    this.closeReason = reason;
    // Echo the code (RFC 6455 §5.5.1); a close without a code is answered with 1000.
    this.startClosing(encodeClose(code ?? CloseCode.Normal, code === undefined ? '' : reason), true);
  }

  /** @internal */
  onProtocolError(err: WsProtocolError): void {
    this.host.logger.debug({ conn: this.id, code: err.code, closeCode: err.closeCode }, err.message);
    if (this.closeSent) {
      this.socket.destroy();
      return;
    }
    this.closeCode = err.closeCode;
    this.closeReason = Buffer.byteLength(err.message) <= MAX_REASON_BYTES ? err.message : err.code;
    // _Fail the WebSocket Connection_ (RFC 6455 §7.1.7): say why, then close TCP without waiting.
    this.startClosing(encodeClose(err.closeCode, this.closeReason), true);
  }

  // ---- socket events (through the shared listeners below) ----

  /** @internal */
  onSocketError(err: Error): void {
    this.host.logger.debug({ conn: this.id, err: err.message }, 'socket error');
  }

  /** @internal */
  onSocketClose(): void {
    this.state = Connection.CLOSED;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.closeTimer = undefined;
    // Nobody sent a close frame: the TCP connection died (RFC 6455 §7.1.5).
    const code = this.closeCode || CloseCode.Abnormal;
    this.host.connectionClosed(this, code);
    this.emit('close', code, this.closeReason);
  }

  /** @internal */
  onDrainCheck(): void {
    if (this.state !== Connection.OPEN) return;
    if (this.socket.writableLength <= this.host.limits.sendSoftLimitBytes) {
      this.awaitingDrain = false;
      this.emit('drain');
    } else {
      this.socket.write(EMPTY, this.onFlushed);
    }
  }

  /** Sends `frame` (a close frame) and arms the close timer; `endTcp` when we close TCP right away. */
  private startClosing(frame: Buffer, endTcp: boolean): void {
    this.state = Connection.CLOSING;
    this.closeSent = true;
    if (endTcp) this.socket.end(frame);
    else this.socket.write(frame);
    this.closeTimer = setTimeout(destroySocket, this.host.limits.closeTimeoutMs, this.socket);
    this.closeTimer.unref();
  }

  /** The peer stopped reading and our queue hit the hard cap: 1013, and free the memory now. */
  private overflow(): void {
    this.host.logger.debug({ conn: this.id, queued: this.socket.writableLength }, 'send buffer over sendHardLimitBytes: closing with 1013');
    this.state = Connection.CLOSING;
    this.closeCode = CloseCode.TryAgainLater;
    this.closeReason = 'send buffer full';
    this.socket.destroy();
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
  this.end();
}

function onSocketClose(this: OwnedSocket): void {
  this[kConnection]!.onSocketClose();
}

/** The parser's handlers for one connection: one small object, no closures. */
class ParserSink implements ParserHandlers {
  constructor(private readonly conn: Connection) {}
  message(data: Buffer, binary: boolean): void {
    this.conn.onMessage(data, binary);
  }
  ping(data: Buffer): void {
    this.conn.onPing(data);
  }
  pong(): void {
    // receive() already recorded that the peer is alive
  }
  close(code: number | undefined, reason: string): void {
    this.conn.onPeerClose(code, reason);
  }
  error(err: WsProtocolError): void {
    this.conn.onProtocolError(err);
  }
}
