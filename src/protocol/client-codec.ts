/**
 * The typed client's side of the bytes (browser and Node): one encoding per connection, chosen by
 * the negotiated subprotocol (encodingOf in messages.ts): JSON in text frames, CBOR
 * (cbor-x) in binary frames. cbor-x's plain `encode` writes no tags (useRecords: false), which
 * is what the gateway accepts from a client: the JSON data model only.
 */
import { decode as cborDecode, Encoder } from 'cbor-x';
import type { ClientMessage, Encoding } from './messages.js';

const cbor = new Encoder({ useRecords: false });

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
