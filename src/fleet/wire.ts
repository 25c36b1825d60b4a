/**
 * Payloads other gateways publish, checked before they reach the hub: anything else is dropped
 * (undefined). Values are copied into null-prototype objects (`__proto__` from the wire is data).
 */
import { ID_PATTERN } from '../config/schema.js';
import type { SourceKind, Values } from '../domain.js';
import type { Presence } from './remote.js';
import { FLEET_MAX_DEVICES, FLEET_MAX_TEXT } from '../bounds.js';
import { isWellFormed } from '../text.js';

function json(payload: Buffer): Record<string, unknown> | undefined {
  try {
    const doc: unknown = JSON.parse(payload.toString('utf8'));
    return doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const text = (v: unknown): v is string => typeof v === 'string' && v.length <= FLEET_MAX_TEXT && isWellFormed(v);
/** a seq, or a ts in ms since the epoch as Date.now() gives it: an integer JSON and CBOR carry exactly */
const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
/** ±Infinity (JSON 1e400) would reach CBOR dashboards as itself and JSON ones as null */
const scalar = (v: unknown): v is Values[string] =>
  v === null || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && isWellFormed(v));
const isSource = (v: unknown): v is SourceKind => v === 'serial' || v === 'mqtt';

/** A birth or a will; an empty (cleared) retained status is undefined like garbage. */
export function parsePresence(payload: Buffer): Presence | undefined {
  const o = json(payload);
  if (!o || !text(o.instance)) return undefined;
  if (o.state === 'offline') return { state: 'offline', instance: o.instance, reason: text(o.reason) ? o.reason : 'offline' };
  if (o.state !== 'online' || !Array.isArray(o.devices) || o.devices.length > FLEET_MAX_DEVICES) return undefined;
  const devices: { id: string; source: SourceKind }[] = [];
  for (const d of o.devices as unknown[]) {
    const e = d as { id?: unknown; source?: unknown } | null;
    if (e && typeof e.id === 'string' && ID_PATTERN.test(e.id) && isSource(e.source)) devices.push({ id: e.id, source: e.source });
  }
  return { state: 'online', instance: o.instance, version: text(o.version) ? o.version : 'unknown', devices };
}

export function parseState(payload: Buffer): { state: 'up' | 'down'; reason?: string } | undefined {
  const o = json(payload);
  if (!o || (o.state !== 'up' && o.state !== 'down')) return undefined;
  return text(o.reason) ? { state: o.state, reason: o.reason } : { state: o.state };
}

export interface RemoteReading {
  seq: number;
  ts: number;
  values?: Values;
  raw?: string;
  error?: string;
}

export function parseReading(payload: Buffer): RemoteReading | undefined {
  const o = json(payload);
  if (!o || !count(o.seq) || !count(o.ts)) return undefined;
  const r: RemoteReading = { seq: o.seq, ts: o.ts };
  if (o.values !== undefined) {
    if (o.values === null || typeof o.values !== 'object' || Array.isArray(o.values)) return undefined;
    const values: Values = Object.create(null) as Values;
    for (const [k, v] of Object.entries(o.values)) {
      // what a dashboard gets must be the same value in JSON and in CBOR (src/text.ts)
      if (!scalar(v) || !isWellFormed(k)) return undefined;
      values[k] = v;
    }
    r.values = values;
  }
  if (typeof o.raw === 'string') {
    if (!isWellFormed(o.raw)) return undefined;
    r.raw = o.raw;
  }
  if (typeof o.error === 'string') {
    if (!isWellFormed(o.error)) return undefined;
    r.error = o.error;
  }
  return r;
}

export type RemoteAck = { key?: string; ok: true; reply?: string } | { key?: string; ok: false; code?: string; message?: string };

/**
 * An owner's answer; `key` is its payload `id` (the correlation data, when there is one, is the
 * Fleet's to read). A reply or message with a lone surrogate is dropped like any message no
 * gateway sends: a dashboard would get it as two different values in JSON and CBOR.
 */
export function parseAck(payload: Buffer): RemoteAck | undefined {
  const o = json(payload);
  if (!o) return undefined;
  const key = typeof o.id === 'string' ? { key: o.id } : {};
  if (o.ok === true) {
    if (typeof o.reply !== 'string') return { ...key, ok: true };
    return isWellFormed(o.reply) ? { ...key, ok: true, reply: o.reply } : undefined;
  }
  const e = (o.error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof e.message === 'string' && !isWellFormed(e.message)) return undefined;
  return {
    ...key,
    ok: false,
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.message === 'string' ? { message: e.message } : {}),
  };
}
