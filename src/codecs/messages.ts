/**
 * Dashboard wire protocol v1 (DESIGN.md): server messages encoded once per encoding and framed
 * once, client messages decoded into plain data that the hub then validates.
 *
 * JSON (`serialgate.v1.json`, or no subprotocol): one object per text frame.
 * CBOR (`serialgate.v1.cbor`): the same object as CBOR in one binary frame. A CBOR client may send
 * only the JSON data model — maps with text keys, arrays, text strings, integers, floats, true,
 * false, null, definite lengths, nesting ≤ MAX_DEPTH — so that both encodings carry the same
 * messages. Tags are refused before cbor-x sees the bytes: its tag 27 calls a global function by
 * name, and deep nesting would recurse in its decoder.
 */
import { Decoder, Encoder } from 'cbor-x';
import { Opcode } from '../ws/constants.js';
import { encodeFrame } from '../ws/frame-encoder.js';
import type { DeviceState, SourceKind } from '../sources/types.js';

export const PROTOCOL_JSON = 'serialgate.v1.json';
export const PROTOCOL_CBOR = 'serialgate.v1.cbor';
/** Server preference order: CBOR is smaller and cheaper to decode for a client that offers it. */
export const PROTOCOLS: readonly string[] = [PROTOCOL_CBOR, PROTOCOL_JSON];

export type Encoding = 'json' | 'cbor';

export function encodingOf(protocol: string | undefined): Encoding {
  return protocol === PROTOCOL_CBOR ? 'cbor' : 'json';
}

/** Deepest nesting a client message may have (a command payload is a small JSON value). */
export const MAX_DEPTH = 32;

// ---- server → client ----------------------------------------------------------------------

export interface HelloMessage {
  type: 'hello';
  protocol: 1;
  gateway: string;
  role: string;
  /** names the stream `seq` counts in; new whenever the count starts again */
  epoch: string;
  seq: number;
  devices: { id: string; source: SourceKind; state: DeviceState }[];
}
export interface ReadingMessage {
  type: 'reading';
  seq: number;
  device: string;
  ts: number;
  values?: Record<string, number | string | boolean | null>;
  raw?: string;
  /** why `raw` could not be parsed (parser.onError: raw) — an addition to DESIGN.md's Reading */
  error?: string;
}
export interface StateMessage { type: 'state'; device: string; state: DeviceState; reason?: string }
export type AckMessage =
  | { type: 'ack'; id: string; ok: true; reply?: string }
  | { type: 'ack'; id: string; ok: false; error: { code: string; message: string } };
/** Readings in [from, to] (inclusive seqs) matching the subscription that the client will not get, except those sent right after this message. */
export interface GapMessage { type: 'gap'; from: number; to: number }
export interface ErrorMessage { type: 'error'; error: { code: string; message: string }; id?: string }
/** The `since` of a subscribe counted in another stream (or named none): what follows is `epoch`'s stream from what the ring holds. */
export interface ResetMessage { type: 'reset'; epoch: string }
export type ServerMessage = HelloMessage | ReadingMessage | StateMessage | AckMessage | GapMessage | ErrorMessage | ResetMessage;

// useRecords: false → plain CBOR maps that any decoder (and cbor-x's default `decode` in the
// browser) turns into plain objects; numbers keep their JS value (integers as CBOR ints, others
// as float64, so 21.5 stays 21.5 and no float32 rounding surprises a chart).
const encoder = new Encoder({ useRecords: false, variableMapSize: true });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: false });

/** The whole WebSocket frame (text for JSON, binary for CBOR), ready for Connection.sendFrame. */
export function frameMessage(msg: ServerMessage, encoding: Encoding): Buffer {
  if (encoding === 'json') return encodeFrame(Opcode.Text, JSON.stringify(msg));
  // encodeFrame copies the payload out of cbor-x's reused buffer
  return encodeFrame(Opcode.Binary, encoder.encode(msg));
}

// ---- client → server ----------------------------------------------------------------------

export type DecodeErrorCode = 'bad_encoding' | 'malformed' | 'too_deep' | 'forbidden_key';
export type Decoded = { ok: true; value: unknown } | { ok: false; code: DecodeErrorCode; message: string };

const fail = (code: DecodeErrorCode, message: string): Decoded => ({ ok: false, code, message });

/**
 * Decodes one client message into plain data: objects have a null prototype, `__proto__` as a
 * key anywhere is refused, nesting is bounded. Never throws; never recurses on client input
 * deeper than MAX_DEPTH.
 */
export function decodeClientMessage(data: Buffer, binary: boolean, encoding: Encoding): Decoded {
  if (encoding === 'json') {
    if (binary) return fail('bad_encoding', `binary frame on ${PROTOCOL_JSON}: send JSON in a text frame`);
    let value: unknown;
    try {
      // V8's JSON.parse is iterative: 10,000 levels parse without a stack overflow.
      value = JSON.parse(data.toString('utf8'));
    } catch (err) {
      return fail('malformed', `not JSON: ${(err as Error).message}`);
    }
    return checkTree(value);
  }
  if (!binary) return fail('bad_encoding', `text frame on ${PROTOCOL_CBOR}: send CBOR in a binary frame`);
  const shape = checkCborShape(data);
  if (shape) return shape;
  let value: unknown;
  try {
    value = decoder.decode(data);
  } catch (err) {
    return fail('malformed', `not CBOR: ${(err as Error).message}`);
  }
  return checkTree(value);
}

/**
 * Walks a decoded value without recursion: depth ≤ MAX_DEPTH, no `__proto__` keys, and (for
 * CBOR) Maps become null-prototype objects. Returns the converted value.
 */
function checkTree(root: unknown): Decoded {
  const out: { v: unknown } = { v: undefined };
  const stack: { value: unknown; depth: number; set: (v: unknown) => void }[] = [
    { value: root, depth: 0, set: (v) => (out.v = v) },
  ];
  while (stack.length > 0) {
    const { value, depth, set } = stack.pop()!;
    if (value === null || typeof value !== 'object') {
      set(value);
      continue;
    }
    if (depth >= MAX_DEPTH) return fail('too_deep', `nested deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(value)) {
      const arr: unknown[] = new Array(value.length);
      set(arr);
      value.forEach((item, i) => stack.push({ value: item, depth: depth + 1, set: (v) => (arr[i] = v) }));
      continue;
    }
    const obj: Record<string, unknown> = Object.create(null);
    set(obj);
    const entries: [unknown, unknown][] = value instanceof Map ? [...value.entries()] : Object.entries(value);
    for (const [key, item] of entries) {
      if (typeof key !== 'string') return fail('malformed', 'map keys must be text strings');
      if (key === '__proto__') return fail('forbidden_key', '"__proto__" is not allowed as a key');
      stack.push({ value: item, depth: depth + 1, set: (v) => (obj[key] = v) });
    }
  }
  return { ok: true, value: out.v };
}

/**
 * One pass over CBOR heads (RFC 8949 §3) with an explicit stack: refuses tags, byte strings,
 * indefinite lengths, undefined/simple values, non-text map keys and nesting deeper than
 * MAX_DEPTH, so the decoder only ever sees the JSON data model.
 */
function checkCborShape(buf: Buffer): Decoded | undefined {
  // open containers: items still expected, and whether it is a map (even items are keys)
  const open: { left: number; map: boolean; index: number }[] = [];
  let pos = 0;
  for (;;) {
    if (pos >= buf.length) return fail('malformed', 'not CBOR: unexpected end of data');
    const top = open[open.length - 1];
    const isKey = top !== undefined && top.map && top.index % 2 === 0;
    const initial = buf[pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    let arg: number;
    if (info < 24) arg = info;
    else if (info <= 27) {
      const n = 1 << (info - 24);
      if (pos + n > buf.length) return fail('malformed', 'not CBOR: unexpected end of data');
      arg = n === 1 ? buf[pos]! : n === 2 ? buf.readUInt16BE(pos) : n === 4 ? buf.readUInt32BE(pos) : Number(buf.readBigUInt64BE(pos));
      pos += n;
    } else return fail('malformed', 'CBOR indefinite lengths and reserved values are not accepted');
    if (isKey && major !== 3) return fail('malformed', 'map keys must be text strings');
    let children = 0;
    switch (major) {
      case 0:
      case 1:
        break;
      case 3:
        if (arg > buf.length - pos) return fail('malformed', 'not CBOR: unexpected end of data');
        pos += arg;
        break;
      case 4:
      case 5:
        children = major === 5 ? arg * 2 : arg;
        // every item takes at least one byte: a count beyond what is left is a lie
        if (children > buf.length - pos) return fail('malformed', 'not CBOR: unexpected end of data');
        break;
      case 7:
        // false, true, null, half/single/double floats
        if (![20, 21, 22, 25, 26, 27].includes(info)) {
          return fail('malformed', 'only false, true, null and floats are accepted as CBOR simple values');
        }
        break;
      default:
        return fail('malformed', major === 6 ? 'CBOR tags are not accepted' : 'CBOR byte strings are not accepted');
    }
    if (top) {
      top.index++;
      top.left--;
    }
    if (children > 0) {
      if (open.length >= MAX_DEPTH) return fail('too_deep', `nested deeper than ${MAX_DEPTH} levels`);
      open.push({ left: children, map: major === 5, index: 0 });
      continue;
    }
    while (open.length > 0 && open[open.length - 1]!.left === 0) open.pop();
    if (open.length === 0) {
      return pos === buf.length ? undefined : fail('malformed', 'not CBOR: bytes after the end of the message');
    }
  }
}
