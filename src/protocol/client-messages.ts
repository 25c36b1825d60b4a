/**
 * Client → server messages (DESIGN.md "Client → server"), validated from decoded plain data
 * into the requests the hub acts on (the wire shapes are in messages.ts).
 * Field checks that need the device list (known device, line rules) belong to commands.ts and
 * are answered with an `ack`; here a message is refused with an `error` only when it cannot be
 * a subscribe, a command or a history request at all (or one without a usable id, which an answer
 * could not name).
 */
import type { ClientErrorCode } from '../errors.js';
import { MAX_EPOCH_LENGTH, MAX_ID_LENGTH, MAX_SUBSCRIBED } from '../bounds.js';
import { clip } from '../text.js';

export interface SubscribeRequest {
  type: 'subscribe';
  /** '*' = every device, present and future */
  devices: '*' | ReadonlySet<string>;
  since?: number;
  /** the stream `since` counts in (hello.epoch); a since without it is not trusted */
  epoch?: string;
}

export interface CommandRequest {
  type: 'command';
  id: string;
  /** checked by the router (unknown_device, invalid) so that it is answered with an ack */
  device: unknown;
  line: unknown;
  payload: unknown;
}

/** Checked field by field by hub/history-requests.ts, so that every refusal names the request's id. */
export interface HistoryRequest {
  type: 'history';
  id: string;
  device: unknown;
  from: unknown;
  to: unknown;
  maxPoints: unknown;
}

export type ClientRequest = SubscribeRequest | CommandRequest | HistoryRequest;
export type ParseResult = { ok: true; msg: ClientRequest } | { ok: false; code: ClientErrorCode; message: string; id?: string };

const fail = (code: ClientErrorCode, message: string, id?: string): ParseResult =>
  id === undefined ? { ok: false, code, message } : { ok: false, code, message, id };

/** `value` comes from decodeClientMessage: null-prototype objects, no `__proto__` keys. */
export function parseClientMessage(value: unknown): ParseResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail('not_object', 'a message is an object with a "type"');
  }
  const m = value as Record<string, unknown>;
  const id = typeof m.id === 'string' && m.id.length > 0 && m.id.length <= MAX_ID_LENGTH ? m.id : undefined;
  switch (m.type) {
    case 'subscribe':
      return parseSubscribe(m, id);
    case 'command':
      if (id === undefined) return fail('invalid_field', `command "id" must be a string of 1-${MAX_ID_LENGTH} characters`);
      return { ok: true, msg: { type: 'command', id, device: m.device, line: m.line, payload: m.payload } };
    case 'history':
      if (id === undefined) return fail('invalid_field', `history "id" must be a string of 1-${MAX_ID_LENGTH} characters`);
      return { ok: true, msg: { type: 'history', id, device: m.device, from: m.from, to: m.to, maxPoints: m.maxPoints } };
    default:
      return fail(
        'unknown_type',
        typeof m.type === 'string' ? `unknown message type "${clip(m.type, 64)}"` : '"type" must be "subscribe", "command" or "history"',
        id,
      );
  }
}

function parseSubscribe(m: Record<string, unknown>, id: string | undefined): ParseResult {
  const { devices, since, epoch } = m;
  if (
    !Array.isArray(devices) ||
    devices.length > MAX_SUBSCRIBED ||
    !devices.every((d) => typeof d === 'string' && d.length > 0 && d.length <= MAX_ID_LENGTH)
  ) {
    return fail('invalid_field', `subscribe "devices" must be ["*"] or up to ${MAX_SUBSCRIBED} device ids`, id);
  }
  if (since !== undefined && !(typeof since === 'number' && Number.isSafeInteger(since) && since >= 0)) {
    return fail('invalid_field', 'subscribe "since" must be a non-negative integer seq', id);
  }
  if (epoch !== undefined && !(typeof epoch === 'string' && epoch.length > 0 && epoch.length <= MAX_EPOCH_LENGTH)) {
    return fail('invalid_field', `subscribe "epoch" must be a string of 1-${MAX_EPOCH_LENGTH} characters (hello.epoch)`, id);
  }
  const ids = devices as string[];
  const msg: SubscribeRequest = { type: 'subscribe', devices: ids.includes('*') ? '*' : new Set(ids) };
  if (since !== undefined) msg.since = since;
  if (epoch !== undefined) msg.epoch = epoch;
  return { ok: true, msg };
}
