/**
 * A server message as one whole WebSocket frame (text for JSON, binary for CBOR), ready for
 * Connection.sendFrame. Encoding is the protocol's job, framing the hub's: each message is framed
 * once here and the same buffer goes to every connection that uses its encoding.
 */
import { encodeServerMessage } from '../protocol/codec.js';
import type { Encoding, ServerMessage } from '../protocol/messages.js';
import { Opcode } from '../ws/constants.js';
import { encodeFrame } from '../ws/frame-encoder.js';

export function frameMessage(msg: ServerMessage, encoding: Encoding): Buffer {
  const payload = encodeServerMessage(msg, encoding);
  // encodeFrame copies the payload out of cbor-x's reused buffer
  return encodeFrame(typeof payload === 'string' ? Opcode.Text : Opcode.Binary, payload);
}
