/**
 * Dashboard wire protocol v1 (DESIGN.md), the gateway's side of the bytes: server messages encoded
 * once per encoding (the hub frames them once), client messages decoded into plain data that
 * client-messages.ts then validates. Node only (Buffer); the browser client uses client-codec.ts.
 *
 * JSON (`serialgate.v1.json`, or no subprotocol): one object per text frame.
 * CBOR (`serialgate.v1.cbor`): the same object as CBOR in one binary frame. A CBOR client may send
 * only the JSON data model — maps with text keys, arrays, text strings, integers, floats, true,
 * false, null, definite lengths, nesting ≤ MAX_DEPTH — so that both encodings carry the same
 * messages. Tags are refused before cbor-x sees the bytes: its tag 27 calls a global function by
 * name, and deep nesting would recurse in its decoder.
 *
 * On both encodings a number is finite and within ±(2^53−1): anything else would reach handlers
 * as a BigInt, NaN, Infinity or a silently rounded value (a BigInt makes JSON.stringify throw).
 * Strings are well-formed Unicode, so that they survive UTF-8 on the way to a device.
 */
import { isUtf8 } from 'node:buffer';
import { Decoder, Encoder } from 'cbor-x';
import { PROTOCOL_CBOR, PROTOCOL_JSON, type Encoding, type ServerMessage } from './messages.js';
import type { DecodeErrorCode } from '../errors.js';
import { MAX_DEPTH } from '../bounds.js';
import { isWellFormed } from '../text.js';

// useRecords: false → plain CBOR maps that any decoder (and cbor-x's default `decode` in the
// browser) turns into plain objects; numbers keep their JS value (integers as CBOR ints, others
// as float64, so 21.5 stays 21.5 and no float32 rounding surprises a chart).
const encoder = new Encoder({ useRecords: false, variableMapSize: true });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: false });

/**
 * One server message as the payload of one frame: a string (JSON, for a text frame) or bytes
 * (CBOR, for a binary frame). The bytes are a view of cbor-x's reused buffer, valid until the
 * next encode: the caller copies them out at once (framing does).
 */
export function encodeServerMessage(msg: ServerMessage, encoding: Encoding): string | Buffer {
  return encoding === 'json' ? JSON.stringify(msg) : encoder.encode(msg);
}

// ---- client → server ----------------------------------------------------------------------

export type Decoded = { ok: true; value: unknown } | { ok: false; code: DecodeErrorCode; message: string };

const fail = (code: DecodeErrorCode, message: string): Decoded => ({ ok: false, code, message });
const outOfRange = (): Decoded => fail('out_of_range', `numbers must be finite and within ±${Number.MAX_SAFE_INTEGER} (2^53−1)`);

/**
 * Decodes one client message into plain data inside the JSON data model: objects have a null
 * prototype, `__proto__` as a key anywhere is refused, nesting is bounded, numbers are finite
 * and within ±(2^53−1), strings well-formed. Never throws; never recurses on client input deeper
 * than MAX_DEPTH.
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

const notWellFormed = (): Decoded => fail('malformed', 'strings must be well-formed Unicode (no lone surrogates)');

/**
 * Walks a decoded value without recursion and copies it into the JSON data model: depth ≤
 * MAX_DEPTH, no `__proto__` keys, text keys only, numbers within ±(2^53−1) (-0 becomes 0, which
 * is what JSON.stringify makes of it anyway), well-formed strings; CBOR Maps become null-prototype
 * objects. Anything else (a value no JSON text and no accepted CBOR item decodes to) is refused
 * rather than trusted, so that no decoder option or version can widen what handlers see.
 */
function checkTree(root: unknown): Decoded {
  const out: { v: unknown } = { v: undefined };
  const stack: { value: unknown; depth: number; set: (v: unknown) => void }[] = [{ value: root, depth: 0, set: (v) => (out.v = v) }];
  while (stack.length > 0) {
    const { value, depth, set } = stack.pop()!;
    switch (typeof value) {
      case 'boolean':
        set(value);
        continue;
      case 'bigint': // cbor-x returns every integer with a 64-bit argument as a BigInt, small or not
      case 'number': {
        // (false for NaN too) Beyond 2^53 a double is an integer that JSON.parse or a float
        // encoding has already rounded; bounding the value, not the literal, gives the same JS
        // value the same answer on both encodings (JSON.stringify writes 1e20 as an integer,
        // cbor-x writes 2**53 as a float).
        const n = Number(value);
        if (!(Math.abs(n) <= Number.MAX_SAFE_INTEGER)) return outOfRange();
        set(n === 0 ? 0 : n);
        continue;
      }
      case 'string':
        if (!isWellFormed(value)) return notWellFormed();
        set(value);
        continue;
      case 'object':
        break;
      default:
        return fail('malformed', `a value of type ${typeof value} is not in the JSON data model`);
    }
    if (value === null) {
      set(null);
      continue;
    }
    if (depth >= MAX_DEPTH) return fail('too_deep', `nested deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(value)) {
      const arr: unknown[] = new Array(value.length);
      set(arr);
      value.forEach((item, i) => stack.push({ value: item, depth: depth + 1, set: (v) => (arr[i] = v) }));
      continue;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (!(value instanceof Map) && proto !== Object.prototype && proto !== null) {
      return fail('malformed', 'only maps, arrays, strings, numbers, true, false and null are accepted');
    }
    const obj: Record<string, unknown> = Object.create(null);
    set(obj);
    const entries: [unknown, unknown][] = value instanceof Map ? [...value.entries()] : Object.entries(value);
    for (const [key, item] of entries) {
      if (typeof key !== 'string') return fail('malformed', 'map keys must be text strings');
      if (key === '__proto__') return fail('forbidden_key', '"__proto__" is not allowed as a key');
      if (!isWellFormed(key)) return notWellFormed();
      stack.push({ value: item, depth: depth + 1, set: (v) => (obj[key] = v) });
    }
  }
  return { ok: true, value: out.v };
}

/**
 * One pass over CBOR heads (RFC 8949 §3) with an explicit stack: refuses tags, byte strings,
 * indefinite lengths, undefined/simple values, non-text map keys, text that is not UTF-8,
 * integers beyond ±(2^53−1) (bignums included) and nesting deeper than MAX_DEPTH, so the decoder
 * only ever sees the JSON data model (and never rounds an integer).
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
      if (n === 8) {
        const big = buf.readBigUInt64BE(pos);
        // Number() would round the integer. Major 1 means -1-arg, so its bound is one lower:
        // -(2^53-1) is arg 2^53-2. (A rounded length stays far beyond the frame; a float's bits
        // are not used as arg.)
        if (major <= 1 && big > BigInt(Number.MAX_SAFE_INTEGER - major)) return outOfRange();
        arg = Number(big);
      } else arg = n === 1 ? buf[pos]! : n === 2 ? buf.readUInt16BE(pos) : buf.readUInt32BE(pos);
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
        // cbor-x would turn invalid UTF-8 into U+FFFD without a word
        if (!isUtf8(buf.subarray(pos, pos + arg))) return fail('malformed', 'CBOR text strings must be valid UTF-8');
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
      case 6:
        // bignums (tags 2, 3) are integers, refused as integers are, so 2^64 gets the same
        // answer as its JSON literal
        return arg === 2 || arg === 3 ? outOfRange() : fail('malformed', 'CBOR tags are not accepted');
      default:
        return fail('malformed', 'CBOR byte strings are not accepted');
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
