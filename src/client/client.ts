/**
 * The serialgate client: one logical session over a sequence of WebSockets. It reconnects with
 * capped, jittered backoff; resumes with `subscribe { since, epoch }` and hands readings over exactly
 * once and in order (see sequencer.ts); holds commands back while the socket cannot take them
 * and settles each command's promise exactly once. Works with the browser's WebSocket and, in
 * Node (which has no global WebSocket before v22), with `ws` passed as `WebSocketImpl`.
 */
import { Backoff } from '../backoff.js';
import { decodeServerFrame, encodeClientMessage } from '../protocol/client-codec.js';
import type { ConnectionInfo, ConnectOptions, SerialgateClient, WebSocketLike } from './api.js';
import { Commands } from './commands.js';
import { CommandFailedError, HistoryFailedError } from './errors.js';
import { HistoryRequests } from './history.js';
import { checkToken, toWsUrl, webSocketImpl } from './options.js';
import { closedByUser, type Attempt, type Phase } from './phase.js';
import { parseServerMessage, ProtocolViolation } from '../protocol/server-messages.js';
import { encodingOf, SUBPROTOCOLS, type ClientMessage, type DeviceInfo, type Encoding, type HelloMessage } from '../protocol/messages.js';
import { Sequencer } from './sequencer.js';

const OPEN = 1;

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

export function connect(url: string, options: ConnectOptions = {}): SerialgateClient {
  const Impl = webSocketImpl(options);
  const wsUrl = toWsUrl(url);
  // what the user may change while connected; each applies from the next attempt (devices at once)
  let token = options.token;
  if (token !== undefined) checkToken(token);
  let encoding: Encoding = options.protocol ?? 'cbor';
  let devices = options.devices ?? ['*'];
  const reconnectOpts = options.reconnect === false ? undefined : (options.reconnect ?? {});
  const backoff = new Backoff({ minMs: reconnectOpts?.minMs ?? 500, maxMs: reconnectOpts?.maxMs ?? 30_000 });
  const maxBufferedBytes = options.maxBufferedBytes ?? 64 * 1024;
  const resumeSettleMs = options.resumeSettleMs ?? 1_000;

  const info: ConnectionInfo = { state: 'connecting', failures: 0, refused: false };
  const deviceMap = new Map<string, DeviceInfo>();
  const commands = new Commands(options.commandTimeoutMs ?? 10_000);
  const histories = new HistoryRequests(options.commandTimeoutMs ?? 10_000, (msg) => {
    if (socket()?.readyState === OPEN && hello) send(msg);
  });
  const counters = { opens: 0, errors: 0 };
  let phase: Phase = { name: 'closed', byUser: false }; // until the first attempt, just below
  /** the hello of the current (or last) attempt */
  let hello: HelloMessage | undefined;
  // timers of an open session: the resume settle window and the held-back command pump
  let settleTimer: ReturnType<typeof setTimeout> | undefined;
  let pumpTimer: ReturnType<typeof setTimeout> | undefined;

  const sequencer = new Sequencer({
    reading: (r) => safe(options.onReading, r),
    gap: (g) => safe(options.onGap, g),
    reset: (r) => safe(options.onReset, r),
  });

  /** the only way `phase` changes; reports the public state */
  function enter(next: Phase, patch: Partial<ConnectionInfo> = {}): void {
    phase = next;
    Object.assign(info, patch, { state: next.name });
    if (next.name !== 'reconnecting') delete info.nextRetryAt;
    safe(options.onState, { ...info });
  }

  /** the socket of the current attempt, while there is one */
  function socket(): WebSocketLike | undefined {
    return 'attempt' in phase ? phase.attempt.sock : undefined;
  }

  function send(msg: ClientMessage): void {
    const ws = socket()!;
    ws.send(encodeClientMessage(msg, encodingOf(ws.protocol)));
  }

  /** → connecting: a new socket with the current token and encoding */
  function startAttempt(): void {
    const protocols = [SUBPROTOCOLS[encoding]];
    if (token !== undefined) protocols.push(`bearer.${token}`);
    hello = undefined;
    const sock = new Impl(wsUrl, protocols);
    const attempt: Attempt = { sock, opened: false };
    sock.binaryType = 'arraybuffer';
    sock.onopen = () => {
      attempt.opened = true;
      counters.opens++;
      backoff.reset();
      // a socket that reconnect() or close() is already closing stays 'closing', but it did open
      if (phase.name === 'connecting' && phase.attempt === attempt) {
        enter({ name: 'open', attempt }, { failures: 0, refused: false, protocol: sock.protocol, code: undefined, reason: undefined });
      } else info.failures = 0;
    };
    sock.onmessage = (ev: { data: unknown }) => onFrame(ev.data);
    sock.onerror = (ev: { message?: unknown }) => {
      if (typeof ev.message === 'string') attempt.lastError = ev.message;
    };
    sock.onclose = (ev: { code: number; reason: string }) => {
      if (socket() === sock) socketClosed(attempt, ev.code, ev.reason);
    };
    enter({ name: 'connecting', attempt });
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
      case 'presence':
        return safe(options.onPresence, msg);
      case 'ack':
        return commands.ack(msg);
      case 'history':
        return histories.answer(msg);
      case 'error':
        counters.errors++;
        if (msg.id !== undefined) {
          commands.error(msg.id, msg.error);
          // a refusal the client answers by asking again: counted (stats().historyRetries), not reported
          if (histories.error(msg.id, msg.error)) return;
        }
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
    for (const req of histories.waiting()) send(req);
    safe(options.onHello, h);
    pump();
  }

  /** connecting | open | closing → connecting (asked to reopen), reconnecting, or closed */
  function socketClosed(attempt: Attempt, code: number, reason: string): void {
    const then = phase.name === 'closing' ? phase.then : undefined;
    clearTimeout(settleTimer);
    clearTimeout(pumpTimer);
    sequencer.flush();
    commands.connectionLost();
    const refused = !attempt.opened;
    if (refused) info.failures++;
    reason = closeReason(attempt, code, reason);
    if (then === 'close' || !reconnectOpts) {
      if (then !== 'close') {
        commands.closeAll('the connection closed and reconnect is off');
        histories.closeAll('the connection closed and reconnect is off');
      }
      return enter({ name: 'closed', byUser: then === 'close' }, { code, reason, refused });
    }
    if (then === 'reopen') {
      info.code = code;
      info.reason = reason;
      return startAttempt();
    }
    const delay = backoff.next();
    enter({ name: 'reconnecting', timer: setTimeout(startAttempt, delay) }, { code, reason, refused, nextRetryAt: Date.now() + delay });
  }

  /** Sends held-back commands while the socket takes them; re-checks later if it is full. */
  function pump(): void {
    clearTimeout(pumpTimer);
    const mqtt = (device: string) => deviceMap.get(device)?.source === 'mqtt';
    for (let ws = socket(); commands.waiting > 0 && ws?.readyState === OPEN && hello; ws = socket()) {
      if (ws.bufferedAmount > maxBufferedBytes) {
        // Browsers have no 'drain' event: look again shortly.
        pumpTimer = setTimeout(pump, 50);
        return;
      }
      send(commands.takeNext(mqtt)!);
    }
  }

  startAttempt();

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
      if (closedByUser(phase)) return Promise.reject(new CommandFailedError('closed', 'the client is closed', device, ''));
      const p = commands.add(device, cmd, opts?.timeoutMs);
      pump();
      return p;
    },
    history(device, range = {}, opts) {
      if (closedByUser(phase)) return Promise.reject(new HistoryFailedError('closed', 'the client is closed', device, ''));
      return histories.add(device, range, opts?.timeoutMs, opts?.signal);
    },
    subscribe(next) {
      devices = [...next];
      if (socket()?.readyState === OPEN && hello) send({ type: 'subscribe', devices });
    },
    reconnect(opts) {
      if (closedByUser(phase)) return;
      if (opts?.token !== undefined) {
        if (opts.token !== null) checkToken(opts.token);
        token = opts.token ?? undefined;
      }
      if (opts?.protocol) encoding = opts.protocol;
      if ('attempt' in phase) {
        enter({ name: 'closing', attempt: phase.attempt, then: 'reopen' });
        phase.attempt.sock.close(1000, 'reconnecting');
      } else {
        if (phase.name === 'reconnecting') clearTimeout(phase.timer);
        startAttempt();
      }
    },
    close(code = 1000, reason = '') {
      if (closedByUser(phase)) return;
      if (phase.name === 'reconnecting') clearTimeout(phase.timer);
      commands.closeAll('the client was closed');
      histories.closeAll('the client was closed');
      if ('attempt' in phase && phase.attempt.sock.readyState <= OPEN) {
        enter({ name: 'closing', attempt: phase.attempt, then: 'close' });
        phase.attempt.sock.close(code, reason);
      } else {
        enter({ name: 'closed', byUser: true });
      }
    },
    stats() {
      return { ...sequencer.stats, ...counters, commandsSent: commands.sent, historyRetries: histories.retries };
    },
  };
}

/**
 * Why a socket closed, in the words of what is known: the close frame's reason; else what the
 * socket's error event said (Node's ws: the HTTP status of a refused handshake, or why the TCP
 * connection could not be made or broke); else, as in a browser, which tells neither, that no
 * connection was made (an unreachable gateway and a refused handshake look alike there) or that an
 * open one was lost.
 */
function closeReason(attempt: Pick<Attempt, 'opened' | 'lastError'>, code: number, reason: string): string {
  if (reason) return reason;
  const err = attempt.lastError;
  const status = err === undefined ? undefined : /Unexpected server response: (\d+)/.exec(err)?.[1];
  if (status !== undefined) return `handshake refused: HTTP ${status}`;
  if (!attempt.opened) return err === undefined ? 'could not connect (gateway unreachable or handshake refused)' : `could not connect: ${err}`;
  if (code !== 1006) return '';
  return err === undefined ? 'connection lost' : `connection lost: ${err}`;
}
