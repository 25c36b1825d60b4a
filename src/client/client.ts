/**
 * The serialgate client: one logical session over a sequence of WebSockets. It reconnects with
 * capped, jittered backoff; resumes with `subscribe { since, epoch }` and hands readings over exactly
 * once and in order (see sequencer.ts); holds commands back while the socket cannot take them
 * and settles each command's promise exactly once. Works with the browser's WebSocket and, in
 * Node (which has no global WebSocket before v22), with `ws` passed as `WebSocketImpl`.
 */
import { Backoff } from '../backoff.js';
import { decodeServerFrame, encodeClientMessage } from '../protocol/client-codec.js';
import { Commands, type CommandInput, type CommandResult } from './commands.js';
import { ClientError, CommandFailedError } from './errors.js';
import { parseServerMessage, ProtocolViolation } from '../protocol/server-messages.js';
import {
  encodingOf,
  SUBPROTOCOLS,
  type ClientMessage,
  type DeviceInfo,
  type Encoding,
  type ErrorMessage,
  type HelloMessage,
  type ReadingMessage,
  type Role,
  type StateMessage,
} from '../protocol/messages.js';
import { Sequencer, type ResetInfo, type SequencerStats } from './sequencer.js';

/**
 * The part of the WebSocket API the client uses: the browser's and `ws`'s both fit. Handler
 * events are `any` because the two declare unrelated event classes; each handler below states
 * the fields it reads.
 */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  readonly protocol: string;
  binaryType: string;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: any) => void) | null;
  onclose: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** readyState names, plus 'reconnecting' while waiting for the next attempt */
export type ConnectionState = 'connecting' | 'open' | 'closing' | 'closed' | 'reconnecting';

export interface ConnectionInfo {
  state: ConnectionState;
  /** close code and reason of the last connection (1006 when it never opened) */
  code?: number;
  reason?: string;
  /** when the next attempt starts (ms since the epoch), while 'reconnecting' */
  nextRetryAt?: number;
  /** consecutive attempts that did not reach 'open' */
  failures: number;
  /**
   * The last attempt closed before the handshake completed. A browser cannot tell a refused
   * token (401), a foreign origin (403) and an unreachable gateway apart (all are close 1006),
   * so a UI should offer a token prompt when this is set.
   */
  refused: boolean;
  /** the negotiated subprotocol ('' when the gateway chose none: JSON) */
  protocol?: string;
}

export type { CommandInput, CommandResult };

export interface ClientStats extends SequencerStats {
  /** connections that reached 'open' */
  opens: number;
  commandsSent: number;
  /** server `error` messages and undecodable frames */
  errors: number;
}

export interface ConnectOptions {
  /** 'cbor' (binary frames, default) or 'json' (text frames) */
  protocol?: Encoding;
  /**
   * Offered as the subprotocol `bearer.<token>`, so it must be a valid subprotocol token
   * (RFC 7230 tchar: letters, digits and !#$%&'*+-.^_`|~; no spaces, '/', '=' or ':').
   * Hex or base64url tokens fit.
   */
  token?: string;
  /** device ids to receive readings from; default ['*'] (all) */
  devices?: string[];
  /** WebSocket constructor; default globalThis.WebSocket. In Node pass `WebSocket` from 'ws'. */
  WebSocketImpl?: WebSocketConstructor;
  /** reconnect backoff; false: do not reconnect */
  reconnect?: { minMs?: number; maxMs?: number } | false;
  /** a command not acknowledged within this is rejected with 'client_timeout' (default 10 s) */
  commandTimeoutMs?: number;
  /** commands are held back while the socket has more than this queued (default 64 KiB) */
  maxBufferedBytes?: number;
  /** a resume narrower than "*" is released after this (default 1 s) */
  resumeSettleMs?: number;
  onReading?(r: ReadingMessage): void;
  onState?(info: ConnectionInfo): void;
  onHello?(h: HelloMessage): void;
  onGap?(g: { from: number; to: number }): void;
  onDeviceState?(s: StateMessage): void;
  /**
   * The stream started again (the gateway restarted: hello named a new epoch, or the gateway
   * answered our resume with `reset`), whatever the numbers. Readings of the old stream after
   * previousSeq are unknown; the new stream's readings follow from what the gateway still holds.
   */
  onReset?(info: ResetInfo): void;
  /** a server `error` message, or a frame this client could not decode */
  onError?(err: ErrorMessage | ProtocolViolation): void;
}

export interface SerialgateClient {
  readonly state: ConnectionState;
  readonly info: Readonly<ConnectionInfo>;
  /** the hello of the current (or last) session */
  readonly hello: HelloMessage | undefined;
  readonly role: Role | undefined;
  /** devices as last known: hello's list updated by `state` messages */
  readonly devices: ReadonlyMap<string, DeviceInfo>;
  readonly lastSeq: number;
  /** the stream `lastSeq` counts in (hello.epoch), sent back with it on every resume */
  readonly epoch: string | undefined;
  /**
   * Sends a command; resolves with the ack's reply, rejects with CommandFailedError. A string is
   * sent as `line` to a serial device and as `payload` to an MQTT device.
   */
  command(device: string, cmd: CommandInput, opts?: { timeoutMs?: number }): Promise<CommandResult>;
  /** replace the subscription (takes effect now if open, and on every reconnect) */
  subscribe(devices: string[]): void;
  /** reconnect now, optionally with another token (null: none) or encoding; resume state is kept */
  reconnect(opts?: { token?: string | null; protocol?: Encoding }): void;
  close(code?: number, reason?: string): void;
  stats(): ClientStats;
}

const OPEN = 1;
// RFC 7230 tchar: what a Sec-WebSocket-Protocol entry may contain.
const TOKEN_CHARS = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

/** checks a token for use as `bearer.<token>`; throws ClientError */
export function checkToken(token: string): void {
  if (!TOKEN_CHARS.test(token)) {
    throw new ClientError(
      'SG_ERR_CLIENT_TOKEN',
      "a token must consist of letters, digits and !#$%&'*+-.^_`|~ to travel as a WebSocket subprotocol",
    );
  }
}

/** ws(s):// from ws(s):// or http(s):// */
function toWsUrl(url: string): string {
  const u = new URL(url);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    throw new ClientError('SG_ERR_CLIENT_OPTIONS', `expected a ws:, wss:, http: or https: URL, got ${u.protocol}`);
  }
  return u.toString();
}

/** Calls user code so that a throwing callback surfaces (asynchronously) without breaking the client's state. */
function safe<A extends unknown[]>(fn: ((...args: A) => void) | undefined, ...args: A): void {
  if (!fn) return;
  try {
    fn(...args);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

function webSocketImpl(options: ConnectOptions): WebSocketConstructor {
  const Impl = options.WebSocketImpl ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Impl) {
    throw new ClientError('SG_ERR_CLIENT_NO_WEBSOCKET', 'no global WebSocket: pass WebSocketImpl (e.g. WebSocket from "ws")');
  }
  return Impl;
}

export function connect(url: string, options: ConnectOptions = {}): SerialgateClient {
  const Impl = webSocketImpl(options);
  const wsUrl = toWsUrl(url);
  let token = options.token;
  if (token !== undefined) checkToken(token);
  let encoding: Encoding = options.protocol ?? 'cbor';
  let devices = options.devices ?? ['*'];
  const reconnectOpts = options.reconnect === false ? undefined : options.reconnect ?? {};
  const backoff = new Backoff({ minMs: reconnectOpts?.minMs ?? 500, maxMs: reconnectOpts?.maxMs ?? 30_000 });
  const maxBufferedBytes = options.maxBufferedBytes ?? 64 * 1024;
  const resumeSettleMs = options.resumeSettleMs ?? 1_000;

  const info: ConnectionInfo = { state: 'connecting', failures: 0, refused: false };
  const deviceMap = new Map<string, DeviceInfo>();
  const commands = new Commands(options.commandTimeoutMs ?? 10_000);
  const counters = { opens: 0, errors: 0 };
  let hello: HelloMessage | undefined;
  let ws: WebSocketLike | undefined;
  let opened = false;
  let lastErrorMessage: string | undefined;
  let userClosed = false;
  let restartNow = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let settleTimer: ReturnType<typeof setTimeout> | undefined;
  let pumpTimer: ReturnType<typeof setTimeout> | undefined;

  const sequencer = new Sequencer({
    reading: (r) => safe(options.onReading, r),
    gap: (g) => safe(options.onGap, g),
    reset: (r) => safe(options.onReset, r),
  });

  function setState(state: ConnectionState, patch: Partial<ConnectionInfo> = {}): void {
    Object.assign(info, patch, { state });
    if (state !== 'reconnecting') delete info.nextRetryAt;
    safe(options.onState, { ...info });
  }

  function send(msg: ClientMessage): void {
    ws!.send(encodeClientMessage(msg, encodingOf(ws!.protocol)));
  }

  function open(): void {
    const protocols = [SUBPROTOCOLS[encoding]];
    if (token !== undefined) protocols.push(`bearer.${token}`);
    opened = false;
    lastErrorMessage = undefined;
    hello = undefined;
    const sock = new Impl(wsUrl, protocols);
    ws = sock;
    sock.binaryType = 'arraybuffer';
    sock.onopen = () => {
      opened = true;
      counters.opens++;
      backoff.reset();
      setState('open', { failures: 0, refused: false, protocol: sock.protocol, code: undefined, reason: undefined });
    };
    sock.onmessage = (ev: { data: unknown }) => onFrame(ev.data);
    sock.onerror = (ev: { message?: unknown }) => {
      // Node's ws says why ("Unexpected server response: 401"); a browser never does.
      if (typeof ev.message === 'string') lastErrorMessage = ev.message;
    };
    sock.onclose = (ev: { code: number; reason: string }) => {
      if (ws !== sock) return;
      ws = undefined;
      onClosed(ev.code, ev.reason);
    };
    setState('connecting');
  }

  function onFrame(data: unknown): void {
    let msg;
    try {
      msg = parseServerMessage(decodeServerFrame(data));
    } catch (err) {
      counters.errors++;
      const v = err instanceof ProtocolViolation ? err : new ProtocolViolation(`undecodable frame: ${(err as Error).message}`);
      return safe(options.onError, v);
    }
    if (!msg) return;
    switch (msg.type) {
      case 'hello':
        return onHello(msg);
      case 'reading':
        return sequencer.reading(msg);
      case 'gap':
        return sequencer.gap(msg);
      case 'reset':
        return sequencer.reset(msg.epoch);
      case 'state': {
        const d = deviceMap.get(msg.device);
        if (d) deviceMap.set(msg.device, { ...d, state: msg.state, reason: msg.reason });
        return safe(options.onDeviceState, msg);
      }
      case 'ack':
        return commands.ack(msg);
      case 'error':
        counters.errors++;
        if (msg.id !== undefined) commands.error(msg.id, msg.error);
        return safe(options.onError, msg);
    }
  }

  function onHello(h: HelloMessage): void {
    hello = h;
    deviceMap.clear();
    for (const d of h.devices) deviceMap.set(d.id, d);
    const resume = sequencer.hello(h.seq, h.epoch);
    if (resume !== undefined || devices.length !== 1 || devices[0] !== '*') {
      send(resume === undefined ? { type: 'subscribe', devices } : { type: 'subscribe', devices, ...resume });
    }
    if (sequencer.resuming) settleTimer = setTimeout(() => sequencer.flush(), resumeSettleMs);
    safe(options.onHello, h);
    pump();
  }

  function onClosed(code: number, reason: string): void {
    clearTimeout(settleTimer);
    clearTimeout(pumpTimer);
    sequencer.flush();
    commands.connectionLost();
    const refused = !opened;
    if (refused) {
      info.failures++;
      reason ||= lastErrorMessage ?? 'connection refused (auth?)';
    }
    if (userClosed || !reconnectOpts) {
      if (!userClosed) commands.closeAll('the connection closed and reconnect is off');
      return setState('closed', { code, reason, refused });
    }
    if (restartNow) {
      restartNow = false;
      info.code = code;
      info.reason = reason;
      return open();
    }
    const delay = backoff.next();
    retryTimer = setTimeout(open, delay);
    setState('reconnecting', { code, reason, refused, nextRetryAt: Date.now() + delay });
  }

  /** Sends held-back commands while the socket takes them; re-checks later if it is full. */
  function pump(): void {
    clearTimeout(pumpTimer);
    const mqtt = (device: string) => deviceMap.get(device)?.source === 'mqtt';
    while (commands.waiting > 0 && ws?.readyState === OPEN && hello) {
      if (ws.bufferedAmount > maxBufferedBytes) {
        // Browsers have no 'drain' event: look again shortly.
        pumpTimer = setTimeout(pump, 50);
        return;
      }
      send(commands.takeNext(mqtt)!);
    }
  }

  open();

  return {
    get state() {
      return info.state;
    },
    get info() {
      return { ...info };
    },
    get hello() {
      return hello;
    },
    get role() {
      return hello?.role;
    },
    get devices() {
      return deviceMap;
    },
    get lastSeq() {
      return sequencer.lastSeq;
    },
    get epoch() {
      return sequencer.epoch;
    },
    command(device, cmd, opts) {
      if (userClosed) return Promise.reject(new CommandFailedError('closed', 'the client is closed', device, ''));
      const p = commands.add(device, cmd, opts?.timeoutMs);
      pump();
      return p;
    },
    subscribe(next) {
      devices = [...next];
      if (ws?.readyState === OPEN && hello) send({ type: 'subscribe', devices });
    },
    reconnect(opts) {
      if (userClosed) return;
      if (opts?.token !== undefined) {
        if (opts.token !== null) checkToken(opts.token);
        token = opts.token ?? undefined;
      }
      if (opts?.protocol) encoding = opts.protocol;
      if (ws) {
        restartNow = true;
        setState('closing');
        ws.close(1000, 'reconnecting');
      } else {
        clearTimeout(retryTimer);
        open();
      }
    },
    close(code = 1000, reason = '') {
      if (userClosed) return;
      userClosed = true;
      clearTimeout(retryTimer);
      commands.closeAll('the client was closed');
      if (ws && ws.readyState <= OPEN) {
        setState('closing');
        ws.close(code, reason);
      } else {
        ws = undefined;
        setState('closed');
      }
    },
    stats() {
      return { ...sequencer.stats, ...counters, commandsSent: commands.sent };
    },
  };
}
