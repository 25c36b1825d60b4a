/**
 * A hand-driven WebSocket client over a raw net socket, for feeding the server bytes no real
 * client would send. Server frames are read with our own FrameParser in client mode.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { encodeFrame } from '../../../src/ws/frame-encoder.js';
import { FrameParser } from '../../../src/ws/frame-parser.js';
import { pushTo, type ParserHandlers } from '../../unit/ws/events.js';

export type PeerEvent =
  | { type: 'message'; data: Buffer; binary: boolean }
  | { type: 'ping'; data: Buffer }
  | { type: 'pong'; data: Buffer }
  | { type: 'close'; code: number | undefined; reason: string }
  | { type: 'error'; code: string };

const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

/** A masked client frame, as a conforming client would send it. */
export function clientFrame(opcode: number, payload: Buffer | string = Buffer.alloc(0), opts: { fin?: boolean; rsv?: number } = {}): Buffer {
  return encodeFrame(opcode, payload, { ...opts, mask: MASK });
}

/** A valid upgrade request (fresh key) with `extraHeaders` ("Name: value\r\n" lines) added. */
export function upgradeRequest(path = '/echo', extraHeaders = ''): string {
  const key = randomBytes(16).toString('base64');
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`
  );
}

export class RawPeer {
  readonly events: PeerEvent[] = [];
  /** Bytes after the HTTP response head. */
  private readonly parser = new FrameParser({ maxMessageBytes: 64 * 1024 * 1024, maxFragments: 1_000_000, expectMasked: false });
  private readonly handlers: ParserHandlers = {
    message: (data, binary) => this.push({ type: 'message', data: Buffer.from(data), binary }),
    ping: (data) => this.push({ type: 'ping', data: Buffer.from(data) }),
    pong: (data) => this.push({ type: 'pong', data: Buffer.from(data) }),
    close: (code, reason) => this.push({ type: 'close', code, reason }),
    error: (err) => this.push({ type: 'error', code: err.code }),
  };
  private waiters: Array<() => void> = [];
  /** Resolves when the TCP connection is closed (either side). */
  readonly closed: Promise<void>;
  private isClosed = false;

  private constructor(
    readonly socket: net.Socket,
    readonly response: string,
    head: Buffer,
    /** false: the test reads nothing after the handshake (a peer that never reads) */
    read: boolean,
  ) {
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosed = true;
        resolve();
        this.wake();
      });
    });
    socket.on('error', () => {});
    if (read) {
      if (head.length) pushTo(this.parser, head, this.handlers);
      socket.on('data', (chunk: Buffer) => pushTo(this.parser, chunk, this.handlers));
    } else {
      socket.pause();
    }
  }

  /** Connects and completes the handshake (throws unless the answer is 101). `firstBytes` are
   *  appended to the request in the same write. */
  static async open(
    port: number,
    opts: { path?: string; headers?: string; firstBytes?: Buffer; read?: boolean; byteByByte?: boolean; allowHalfOpen?: boolean } = {},
  ): Promise<RawPeer> {
    // allowHalfOpen: the peer keeps its side of TCP open after the server's FIN (never closes)
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? false });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const request = Buffer.from(upgradeRequest(opts.path, opts.headers), 'latin1');
    const response = readResponseHead(socket);
    if (opts.byteByByte) {
      // one byte per write and per event-loop turn, so each arrives in its own TCP segment
      for (const byte of request) {
        socket.write(Buffer.of(byte));
        await new Promise((r) => setTimeout(r, 1));
      }
    } else {
      socket.write(opts.firstBytes ? Buffer.concat([request, opts.firstBytes]) : request);
    }
    const { head, rest } = await response;
    if (!head.startsWith('HTTP/1.1 101 ')) {
      socket.destroy();
      throw new Error(`expected 101, got: ${head.split('\r\n')[0]}`);
    }
    return new RawPeer(socket, head, rest, opts.read ?? true);
  }

  send(bytes: Buffer | string): boolean {
    return this.socket.write(bytes);
  }

  get tcpClosed(): boolean {
    return this.isClosed;
  }

  /** Resolves with the first event matching `pred` (waiting up to `timeoutMs`). */
  async waitFor<T extends PeerEvent>(pred: (e: PeerEvent) => e is T, timeoutMs = 5000): Promise<T> {
    await this.waitUntil(() => this.events.some(pred), timeoutMs);
    return this.events.find(pred)!;
  }

  /** Resolves once `cond()` holds, re-checked after every event; throws on timeout or TCP close. */
  async waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.isClosed || Date.now() >= deadline) {
        throw new Error(`condition not met (tcp closed: ${this.isClosed}); events: ${JSON.stringify(this.events.map((e) => e.type))}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The close frame the server sent, after which the server must close TCP. */
  async closeFrame(timeoutMs = 5000): Promise<{ code: number | undefined; reason: string }> {
    const e = await this.waitFor((e): e is Extract<PeerEvent, { type: 'close' }> => e.type === 'close', timeoutMs);
    return { code: e.code, reason: e.reason };
  }

  destroy(): void {
    this.socket.destroy();
  }

  private push(e: PeerEvent): void {
    this.events.push(e);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export const isMessage = (e: PeerEvent): e is Extract<PeerEvent, { type: 'message' }> => e.type === 'message';
export const isPong = (e: PeerEvent): e is Extract<PeerEvent, { type: 'pong' }> => e.type === 'pong';

/** Reads up to the end of the HTTP response head; `rest` = bytes after it. */
export function readResponseHead(socket: net.Socket, timeoutMs = 5000): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error('no HTTP response head in time')), timeoutMs);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) finish(undefined, { head: buf.subarray(0, end + 4).toString('latin1'), rest: buf.subarray(end + 4) });
    };
    const onClose = () => finish(new Error(`connection closed before the response head: ${JSON.stringify(buf.toString('latin1'))}`));
    function finish(err?: Error, value?: { head: string; rest: Buffer }) {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(value!);
    }
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

/**
 * Sends `chunks` (each its own write, `gapMs` apart) and collects everything the server answers
 * until it closes the connection. Returns the status code of the first response line (0 if none)
 * and how long the server took to close after the last write.
 */
export async function rawHttp(
  port: number,
  chunks: Array<Buffer | string>,
  opts: { gapMs?: number; timeoutMs?: number } = {},
): Promise<{ status: number; text: string; closedAfterMs: number }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('error', () => {});
  let received = Buffer.alloc(0);
  socket.on('data', (c: Buffer) => (received = Buffer.concat([received, c])));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  for (const chunk of chunks) {
    if (socket.destroyed) break;
    socket.write(chunk);
    if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
  }
  const sentAt = Date.now();
  const timeoutMs = opts.timeoutMs ?? 5000;
  const timer = setTimeout(() => socket.destroy(new Error('timeout')), timeoutMs);
  await closed;
  clearTimeout(timer);
  const text = received.toString('latin1');
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
  return { status: m ? Number(m[1]) : 0, text, closedAfterMs: Date.now() - sentAt };
}
