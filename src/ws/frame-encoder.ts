import { MAX_CONTROL_PAYLOAD, Opcode, isValidCloseCode } from './constants.js';
import { unmask } from './mask.js';

export interface EncodeOptions {
  /** false for every fragment but the last (default true). */
  fin?: boolean;
  /** 4-byte masking key: client frames (tests, peers). Server frames are never masked. */
  mask?: Buffer;
  /** RSV1-3 bits (0-7), only for building hostile frames in tests; default 0. */
  rsv?: number;
}

/**
 * Frames `payload` as one Buffer (header + payload) so that a message framed once can be
 * written to many sockets. Header: 2 bytes for payloads < 126, 4 bytes < 65,536, else 10
 * (RFC 6455 §5.2, always the shortest form). The encoder frames what it is told: it does not
 * police control-frame rules, so tests can build hostile frames with it; encodeClose does.
 */
export function encodeFrame(opcode: number, payload: Buffer | string, opts: EncodeOptions = {}): Buffer {
  if (!Number.isInteger(opcode) || opcode < 0 || opcode > 15) throw new RangeError(`opcode ${opcode} is not 0-15`);
  const rsv = opts.rsv ?? 0;
  if (!Number.isInteger(rsv) || rsv < 0 || rsv > 7) throw new RangeError(`rsv ${rsv} is not 0-7`);
  const mask = opts.mask;
  if (mask !== undefined && mask.length !== 4) throw new RangeError(`mask must be 4 bytes, got ${mask.length}`);

  const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const headerLength = 2 + lengthBytes + (mask ? 4 : 0);
  const frame = Buffer.allocUnsafe(headerLength + length);

  frame[0] = (opts.fin === false ? 0 : 0x80) | (rsv << 4) | opcode;
  const maskBit = mask ? 0x80 : 0;
  if (lengthBytes === 0) {
    frame[1] = maskBit | length;
  } else if (lengthBytes === 2) {
    frame[1] = maskBit | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = maskBit | 127;
    // Buffers are far below 2^53, so the high word is exact.
    frame.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  if (typeof payload === 'string') frame.write(payload, headerLength, 'utf8');
  else payload.copy(frame, headerLength);
  if (mask) {
    mask.copy(frame, headerLength - 4);
    unmask(frame, mask, headerLength, frame.length, 0);
  }
  return frame;
}

/**
 * A whole (unmasked) close frame. No code → empty payload. A code we may not send
 * (1005, 1006, 1015, unregistered) or a reason over 123 UTF-8 bytes is a caller bug: RangeError,
 * never a silently truncated reason.
 */
export function encodeClose(code?: number, reason = ''): Buffer {
  if (code === undefined) {
    if (reason !== '') throw new RangeError('a close reason needs a close code');
    return encodeFrame(Opcode.Close, Buffer.alloc(0));
  }
  if (!isValidCloseCode(code)) throw new RangeError(`close code ${code} may not be sent`);
  const reasonLength = Buffer.byteLength(reason);
  if (reasonLength > MAX_CONTROL_PAYLOAD - 2) {
    throw new RangeError(`close reason is ${reasonLength} bytes, at most ${MAX_CONTROL_PAYLOAD - 2} fit`);
  }
  const payload = Buffer.allocUnsafe(2 + reasonLength);
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2, 'utf8');
  return encodeFrame(Opcode.Close, payload);
}
