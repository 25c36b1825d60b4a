/**
 * Dashboard wire protocol v1 (DESIGN.md): the one definition of every message, for the hub that
 * sends and receives them and for the typed client (Node and browser) on the other side. Types
 * and constants only, so that the browser bundle pays nothing for importing them.
 */
import type { DeviceState, DeviceStatus, GatewayPresence, HistoryBucket, HistoryPoint, Role, Values } from '../domain.js';

export type { DeviceState, GatewayPresence, Role, Values };
/** the history's own shapes (src/domain.ts): one definition for the store, the wire and the client */
export type { FieldStats, HistoryBucket, HistoryPoint } from '../domain.js';

export const PROTOCOL_JSON = 'serialgate.v1.json';
export const PROTOCOL_CBOR = 'serialgate.v1.cbor';
export type Encoding = 'json' | 'cbor';
export const SUBPROTOCOLS: Readonly<Record<Encoding, string>> = { json: PROTOCOL_JSON, cbor: PROTOCOL_CBOR };
/** Server preference order: CBOR is smaller and cheaper to decode for a client that offers it. */
export const PROTOCOLS: readonly string[] = [PROTOCOL_CBOR, PROTOCOL_JSON];

/** The encoding a negotiated subprotocol means; none (or unknown) means JSON (DESIGN.md). */
export function encodingOf(protocol: string | undefined): Encoding {
  return protocol === PROTOCOL_CBOR ? 'cbor' : 'json';
}

// ---- server → client ----------------------------------------------------------------------

/** A device as hello lists it: its status, with `reason` when the gateway gives one. */
export type DeviceInfo = DeviceStatus;
export interface HelloMessage {
  type: 'hello';
  protocol: 1;
  gateway: string;
  role: Role;
  /** names the stream `seq` counts in: a new epoch means the count started again */
  epoch: string;
  seq: number;
  devices: DeviceInfo[];
  /**
   * Fleet mode: the other gateways this one has heard of, with their presence (an addition to
   * DESIGN.md's hello; absent when there are none). Changes come as `presence` messages.
   */
  gateways?: GatewayPresence[];
}
export interface ReadingMessage {
  type: 'reading';
  seq: number;
  device: string;
  /** receive time at the gateway, ms since the epoch */
  ts: number;
  values?: Values;
  raw?: string;
  /** why `raw` could not be parsed (parser.onError: raw) — an addition to DESIGN.md's Reading */
  error?: string;
}
export interface StateMessage {
  type: 'state';
  device: string;
  state: DeviceState;
  reason?: string;
}
export interface ErrorBody {
  code: string;
  message: string;
}
export type AckMessage = { type: 'ack'; id: string; ok: true; reply?: string } | { type: 'ack'; id: string; ok: false; error: ErrorBody };
/** Readings in [from, to] (inclusive seqs) matching the subscription that the client will not get, except those sent right after this message. */
export interface GapMessage {
  type: 'gap';
  from: number;
  to: number;
}
export interface ErrorMessage {
  type: 'error';
  error: ErrorBody;
  id?: string;
}
/**
 * The `since` we sent counted in another stream (or named none): what follows is `epoch`'s stream
 * from what the gateway still holds, as if we had sent since 0.
 */
export interface ResetMessage {
  type: 'reset';
  epoch: string;
}
/**
 * The answer to a client's `history` request (same id), oldest first: buckets for the older part
 * of [from, to], raw points for the recent window. `truncated`: the whole answer would not have
 * fit the connection's send limits, so the oldest entries were left out and `from` moved up to
 * the oldest one sent (ask again with an earlier `to` for the rest).
 */
export interface HistoryMessage {
  type: 'history';
  id: string;
  device: string;
  from: number;
  to: number;
  buckets: HistoryBucket[];
  points: HistoryPoint[];
  truncated?: true;
}
/** Fleet mode: another gateway came online or went offline (its devices' `state` messages follow). */
export interface PresenceMessage {
  type: 'presence';
  gateway: string;
  state: GatewayPresence['state'];
  reason?: string;
}
export type ServerMessage =
  PresenceMessage | HelloMessage | ReadingMessage | StateMessage | AckMessage | GapMessage | ErrorMessage | ResetMessage | HistoryMessage;

// ---- client → server (as sent; the hub parses them into requests, see client-messages.ts) ---

export interface SubscribeMessage {
  type: 'subscribe';
  devices: string[];
  since?: number;
  /** the epoch `since` counts in */
  epoch?: string;
}
export type CommandMessage =
  { type: 'command'; id: string; device: string; line: string } | { type: 'command'; id: string; device: string; payload: unknown };
/** ms since the epoch; absent: `to` now, `from` an hour before `to`, maxPoints 1,000 (at most 10,000) */
export interface HistoryRange {
  from?: number;
  to?: number;
  maxPoints?: number;
}
export interface HistoryRequestMessage extends HistoryRange {
  type: 'history';
  id: string;
  device: string;
}
export type ClientMessage = SubscribeMessage | CommandMessage | HistoryRequestMessage;
