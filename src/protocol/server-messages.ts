/**
 * Server → client messages checked on arrival, for the typed client. The client runs in the
 * browser too, so no schema library: hand-written guards that reject what the rest of the client
 * could not handle, and let unknown message types pass as `undefined` (a newer gateway may add some).
 */
import type { DeviceInfo, DeviceState, ErrorBody, GatewayPresence, HistoryBucket, HistoryPoint, ServerMessage, Values } from './messages.js';

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

const isNum = (v: unknown): v is number => typeof v === 'number';
const isStats = (v: unknown): boolean => isObject(v) && isNum(v.min) && isNum(v.max) && isNum(v.mean) && isSeq(v.count);

function isBucket(v: unknown): v is HistoryBucket {
  if (!isObject(v) || !isNum(v.ts) || !isNum(v.span) || !isSeq(v.count) || !isObject(v.fields)) return false;
  for (const k in v.fields) if (!isStats(v.fields[k])) return false;
  return true;
}

// seq only for a point of the stream the gateway runs now (README "History requests")
const isPoint = (v: unknown): v is HistoryPoint => isObject(v) && (v.seq === undefined || isSeq(v.seq)) && isNum(v.ts) && isValues(v.values);

function isDeviceInfo(v: unknown): v is DeviceInfo {
  return isObject(v) && isStr(v.id) && (v.source === 'serial' || v.source === 'mqtt') && optStr(v.gateway) && isState(v.state) && optStr(v.reason);
}

const isPresenceState = (v: unknown): v is GatewayPresence['state'] => v === 'online' || v === 'offline';
const isPresence = (v: unknown): v is GatewayPresence => isObject(v) && isStr(v.id) && isPresenceState(v.state) && optStr(v.reason);

/**
 * A decoded message if it is one this client understands and well-formed, `undefined` for an
 * unknown `type`; throws ProtocolViolation for a known type with the wrong shape.
 */
export function parseServerMessage(v: unknown): ServerMessage | undefined {
  if (!isObject(v) || !isStr(v.type)) throw new ProtocolViolation('message is not an object with a "type"');
  const ok = ((): boolean => {
    switch (v.type) {
      case 'hello':
        return (
          v.protocol === 1 &&
          isStr(v.gateway) &&
          (v.role === 'viewer' || v.role === 'operator') &&
          isEpoch(v.epoch) &&
          isSeq(v.seq) &&
          Array.isArray(v.devices) &&
          v.devices.every(isDeviceInfo) &&
          (v.gateways === undefined || (Array.isArray(v.gateways) && v.gateways.every(isPresence)))
        );
      case 'reading':
        return (
          isSeq(v.seq) &&
          isStr(v.device) &&
          typeof v.ts === 'number' &&
          (v.values === undefined || isValues(v.values)) &&
          optStr(v.raw) &&
          optStr(v.error)
        );
      case 'state':
        return isStr(v.device) && isState(v.state) && optStr(v.reason);
      case 'presence':
        return isStr(v.gateway) && isPresenceState(v.state) && optStr(v.reason);
      case 'ack':
        return isStr(v.id) && (v.ok === true ? optStr(v.reply) : v.ok === false && isErrorBody(v.error));
      case 'gap':
        return isSeq(v.from) && isSeq(v.to) && v.from <= v.to;
      case 'error':
        return isErrorBody(v.error) && optStr(v.id);
      case 'reset':
        return isEpoch(v.epoch);
      case 'history':
        return (
          isStr(v.id) &&
          isStr(v.device) &&
          isNum(v.from) &&
          isNum(v.to) &&
          (v.truncated === undefined || v.truncated === true) &&
          Array.isArray(v.buckets) &&
          v.buckets.every(isBucket) &&
          Array.isArray(v.points) &&
          v.points.every(isPoint)
        );
      default:
        return true;
    }
  })();
  if (!ok) throw new ProtocolViolation(`malformed "${v.type}" message`);
  const known = ['hello', 'reading', 'state', 'presence', 'ack', 'gap', 'error', 'reset', 'history'];
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
