/**
 * Wire protocol v1 (DESIGN.md) as the client sees it: message types and cheap structural checks.
 * The client runs in the browser too, so no schema library: hand-written guards that reject what
 * the rest of the client could not handle, and let unknown message types pass as `undefined`
 * (a newer gateway may add some).
 */

export type Encoding = 'json' | 'cbor';
export const SUBPROTOCOLS: Readonly<Record<Encoding, string>> = {
  json: 'serialgate.v1.json',
  cbor: 'serialgate.v1.cbor',
};

export type Role = 'viewer' | 'operator';
export type DeviceState = 'up' | 'down';
export type SourceKind = 'serial' | 'mqtt';
export type Values = Record<string, number | string | boolean | null>;

export interface DeviceInfo {
  id: string;
  source: SourceKind;
  /** the gateway that owns a remote device (fleet mode): its id is `<gateway>/<device>` */
  gateway?: string;
  state: DeviceState;
  reason?: string;
}
export interface HelloMessage {
  type: 'hello';
  protocol: 1;
  gateway: string;
  role: Role;
  /** names the stream `seq` counts in: a new epoch means the count started again */
  epoch: string;
  seq: number;
  devices: DeviceInfo[];
}
export interface ReadingMessage {
  type: 'reading';
  seq: number;
  device: string;
  /** receive time at the gateway, ms since the epoch */
  ts: number;
  values?: Values;
  raw?: string;
  /** set when the line could not be parsed and was forwarded as raw */
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
export type AckMessage =
  | { type: 'ack'; id: string; ok: true; reply?: string }
  | { type: 'ack'; id: string; ok: false; error: ErrorBody };
/** Inclusive range of seqs the client will not get. */
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
export type ServerMessage = HelloMessage | ReadingMessage | StateMessage | AckMessage | GapMessage | ErrorMessage | ResetMessage;

export interface SubscribeMessage {
  type: 'subscribe';
  devices: string[];
  since?: number;
  /** the epoch `since` counts in */
  epoch?: string;
}
export type CommandMessage =
  | { type: 'command'; id: string; device: string; line: string }
  | { type: 'command'; id: string; device: string; payload: unknown };
export type ClientMessage = SubscribeMessage | CommandMessage;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isEpoch = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const optStr = (v: unknown): boolean => v === undefined || typeof v === 'string';
const isState = (v: unknown): v is DeviceState => v === 'up' || v === 'down';
const isErrorBody = (v: unknown): v is ErrorBody => isObject(v) && isStr(v.code) && isStr(v.message);

function isValues(v: unknown): v is Values {
  if (!isObject(v)) return false;
  for (const k in v) {
    const x = v[k];
    if (x !== null && typeof x !== 'number' && typeof x !== 'string' && typeof x !== 'boolean') return false;
  }
  return true;
}

function isDeviceInfo(v: unknown): v is DeviceInfo {
  return isObject(v) && isStr(v.id) && (v.source === 'serial' || v.source === 'mqtt') && optStr(v.gateway) && isState(v.state) && optStr(v.reason);
}

/**
 * A decoded message if it is one this client understands and well-formed, `undefined` for an
 * unknown `type`; throws ProtocolViolation for a known type with the wrong shape.
 */
export function parseServerMessage(v: unknown): ServerMessage | undefined {
  if (!isObject(v) || !isStr(v.type)) throw new ProtocolViolation('message is not an object with a "type"');
  const ok = ((): boolean => {
    switch (v.type) {
      case 'hello':
        return v.protocol === 1 && isStr(v.gateway) && (v.role === 'viewer' || v.role === 'operator') && isEpoch(v.epoch) && isSeq(v.seq) &&
          Array.isArray(v.devices) && v.devices.every(isDeviceInfo);
      case 'reading':
        return isSeq(v.seq) && isStr(v.device) && typeof v.ts === 'number' &&
          (v.values === undefined || isValues(v.values)) && optStr(v.raw) && optStr(v.error);
      case 'state':
        return isStr(v.device) && isState(v.state) && optStr(v.reason);
      case 'ack':
        return isStr(v.id) && (v.ok === true ? optStr(v.reply) : v.ok === false && isErrorBody(v.error));
      case 'gap':
        return isSeq(v.from) && isSeq(v.to) && v.from <= v.to;
      case 'error':
        return isErrorBody(v.error) && optStr(v.id);
      case 'reset':
        return isEpoch(v.epoch);
      default:
        return true;
    }
  })();
  if (!ok) throw new ProtocolViolation(`malformed "${v.type}" message`);
  const known = ['hello', 'reading', 'state', 'ack', 'gap', 'error', 'reset'];
  return known.includes(v.type) ? (v as unknown as ServerMessage) : undefined;
}

/** The gateway sent something that does not follow protocol v1. */
export class ProtocolViolation extends Error {
  readonly code = 'SG_ERR_CLIENT_PROTOCOL';
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolViolation';
  }
}
