/**
 * The typed client's side of the bytes (browser and Node): one encoding per connection, chosen by
 * the negotiated subprotocol (encodingOf in messages.ts): JSON in text frames, CBOR
 * (cbor-x) in binary frames. cbor-x's plain `encode` writes no tags (useRecords: false), which
 * is what the gateway accepts from a client: the JSON data model only.
 */
import { Decoder, Encoder } from 'cbor-x';
import type { ClientMessage, Encoding } from './messages.js';

const cbor = new Encoder({ useRecords: false });
// maps as Maps: cbor-x's own objects rename a `__proto__` key to `__proto_` (its guard against
// prototype pollution), and here that key is data — a device's field, as JSON.parse keeps it
const cborMaps = new Decoder({ useRecords: false, mapsAsObjects: false });

/** A decoded CBOR value as JSON.parse would give the same JSON: objects, `__proto__` an own key. */
function asJson(v: unknown): unknown {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = asJson(v[i]);
    return v;
  }
  if (!(v instanceof Map)) return v;
  const o: Record<string, unknown> = {};
  for (const [k, x] of v as Map<unknown, unknown>) {
    const key = String(k);
    if (key === '__proto__') Object.defineProperty(o, key, { value: asJson(x), enumerable: true, writable: true, configurable: true });
    else o[key] = asJson(x);
  }
  return o;
}

const cborDecode = (bytes: Uint8Array): unknown => asJson(cborMaps.decode(bytes));

/** JSON for a text frame, a fresh byte array for a binary frame. */
export function encodeClientMessage(msg: ClientMessage, encoding: Encoding): string | Uint8Array {
  // cbor-x may hand out a view of a buffer it reuses: a held-back command keeps its own copy.
  return encoding === 'json' ? JSON.stringify(msg) : new Uint8Array(cbor.encode(msg));
}

/**
 * Decodes whatever frame arrived: text is JSON, binary is CBOR. Decided by the frame type, not
 * the negotiated protocol, so a gateway that fell back to JSON (no subprotocol) still works.
 * Throws on undecodable data.
 */
export function decodeServerFrame(data: unknown): unknown {
  if (typeof data === 'string') return JSON.parse(data);
  if (data instanceof ArrayBuffer) return cborDecode(new Uint8Array(data));
  if (ArrayBuffer.isView(data)) return cborDecode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  throw new TypeError(`unexpected frame data of type ${typeof data}`);
}
