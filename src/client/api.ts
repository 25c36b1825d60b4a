/**
 * What the typed client promises its users: the options of connect(), the client it returns,
 * its connection states and statistics, and the part of the WebSocket API it needs.
 */
import type {
  DeviceInfo,
  Encoding,
  ErrorMessage,
  HelloMessage,
  HistoryMessage,
  HistoryRange,
  PresenceMessage,
  ReadingMessage,
  Role,
  StateMessage,
} from '../protocol/messages.js';
import type { ProtocolViolation } from '../protocol/server-messages.js';
import type { CommandInput, CommandResult } from './commands.js';
import type { ResetInfo, SequencerStats } from './sequencer.js';

export type { CommandInput, CommandResult };

/**
 * The part of the WebSocket API the client uses: the browser's and `ws`'s both fit. Handler
 * events are `any` because the two declare unrelated event classes; each handler in client.ts
 * states the fields it reads.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the browser's and ws's event classes are unrelated types: see above */
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
/* eslint-enable @typescript-eslint/no-explicit-any */
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

export interface ClientStats extends SequencerStats {
  /** connections that reached 'open' */
  opens: number;
  commandsSent: number;
  /** history requests asked again after a refusal that passes (`rate_limited`, `history_unavailable`) */
  historyRetries: number;
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
  /** fleet mode: another gateway came online or went offline (hello.gateways has them at connect) */
  onPresence?(p: PresenceMessage): void;
  /**
   * The stream started again (the gateway restarted: hello named a new epoch, or the gateway
   * answered our resume with `reset`), whatever the numbers. Readings of the old stream after
   * previousSeq are unknown; the new stream's readings follow from what the gateway still holds.
   */
  onReset?(info: ResetInfo): void;
  /**
   * a server `error` message, or a frame this client could not decode; not a refusal of a history
   * request that the client sends again (`rate_limited`, `history_unavailable` with retries left):
   * that one is counted in stats().historyRetries, and only the last refusal, if any, is reported
   */
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
  /**
   * Asks the gateway for a device's history (any role may). Resolves with the one answer (check
   * `truncated`), rejects with HistoryFailedError. Sent when a session is open; a connection lost
   * before the answer sends it again on the next one, and a refusal that passes (`rate_limited`,
   * `history_unavailable`) sends it again after a jittered backoff (HISTORY_RETRIES times at most),
   * all within the timeout (commandTimeoutMs). Aborting `signal` drops it (`aborted`): a caller
   * that asks anew on every session aborts the old session's requests when it ends.
   */
  history(device: string, range?: HistoryRange, opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<HistoryMessage>;
  /** replace the subscription (takes effect now if open, and on every reconnect) */
  subscribe(devices: string[]): void;
  /** reconnect now, optionally with another token (null: none) or encoding; resume state is kept */
  reconnect(opts?: { token?: string | null; protocol?: Encoding }): void;
  close(code?: number, reason?: string): void;
  stats(): ClientStats;
}
