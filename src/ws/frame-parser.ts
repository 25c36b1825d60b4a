import { CloseCode, MAX_CONTROL_PAYLOAD, Opcode, isValidCloseCode } from './constants.js';
import { WsProtocolError, type WsErrorCode } from './errors.js';
import { unmask } from './mask.js';
import { Utf8Validator, isValidUtf8 } from './utf8.js';

export interface ParserOptions {
  /** Largest message (sum of the declared lengths of its frames); more → 1009. */
  maxMessageBytes: number;
  /** Most frames in one message; more → 1009 (a million empty fragments cost CPU, not bytes). */
  maxFragments: number;
  /** true (default) on the server: every client frame must be masked; false on a client. */
  expectMasked?: boolean;
}

/**
 * What next() found. Its payload is in the parser's fields, valid until the next call:
 * Message → data, binary; Ping, Pong → data; Close → closeCode, closeReason; Error → error.
 * After Close or Error the parser has stopped: next() only ever returns None again.
 */
export const FrameEvent = { None: 0, Message: 1, Ping: 2, Pong: 3, Close: 4, Error: 5 } as const;
export type FrameEventKind = (typeof FrameEvent)[keyof typeof FrameEvent];
// The same values as plain constants for the hot path: V8 folds these, not an object's properties.
const NONE = FrameEvent.None;
const MESSAGE = FrameEvent.Message;
const PING = FrameEvent.Ping;
const PONG = FrameEvent.Pong;
const CLOSE = FrameEvent.Close;
const ERROR = FrameEvent.Error;

// Parser states, one per fixed-size field of the frame header, then the payload (like ws's receiver).
const HEADER = 0; // 2 bytes: FIN, RSV, opcode, MASK, 7-bit length
const LENGTH_16 = 1; // 2 bytes of extended length
const LENGTH_64 = 2; // 8 bytes of extended length
const MASK_KEY = 3; // 4 bytes of masking key
const PAYLOAD = 4;
const STOPPED = 5; // after an error or a close frame: bytes are ignored

const EMPTY = Buffer.alloc(0);

/** First allocation for a payload that spans reads; it then doubles, up to the declared length. */
const MIN_PARTIAL = 1024;

/**
 * Node's internal Buffer class: constructing a view with it directly skips the species lookup
 * and argument checks of subarray(), the largest per-frame cost on small frames (ws does the same).
 */
const FastBuffer = (Buffer as unknown as { [Symbol.species]: new (ab: ArrayBufferLike, offset: number, length: number) => Buffer })[Symbol.species];

/**
 * Incremental RFC 6455 frame parser (sans-I/O, pull): push() hands it the next bytes, next()
 * returns the next event found in them, FrameEvent.None once they are used up. Neither throws
 * on any input, and no code of the caller runs inside them, so an exception in whatever handles
 * an event cannot leave the parser half-way through a frame. Any split of the byte stream gives
 * the same events, because every field is read by a state that may stop in the middle of it;
 * at most 8 header bytes are carried between pushes. An event's payload is read from the
 * parser's own fields, so no event object is allocated.
 *
 * Memory: a frame whose payload is entirely inside one pushed chunk is delivered as a view of
 * that chunk (no copy); a payload that spans chunks is copied into a buffer that grows by
 * doubling up to its declared length (checked against maxMessageBytes first), so a peer that
 * declares a big frame and trickles it costs at most twice what it sent (at least 1 KiB), not
 * the declared size. The parser holds at most maxMessageBytes + 125 (a control frame) + 8
 * (a partial header field), see bufferedBytes, plus the chunk whose events are not all read.
 *
 * push() takes ownership of the chunk: payloads are unmasked in place and delivered as views,
 * so the caller must not reuse the chunk (socket 'data' buffers are never reused by Node).
 */
export class FrameParser {
  /** Message, Ping, Pong: the payload (unmasked; text is valid UTF-8, still as bytes). */
  data: Buffer = EMPTY;
  /** Message: true for a binary message, false for text. */
  binary = false;
  /** Close: the code, undefined when the close frame had no payload. */
  closeCode: number | undefined;
  closeReason = '';
  /** Error: the peer's violation; it ends the parse. */
  error: WsProtocolError | undefined;

  private readonly maxMessageBytes: number;
  private readonly maxFragments: number;
  private readonly expectMasked: boolean;

  /** Pushed bytes from `offset` on are not parsed yet. */
  private chunk: Buffer = EMPTY;
  private offset = 0;
  /** Set by the step that completes an event; next() returns it. */
  private event: FrameEventKind = NONE;

  private state = HEADER;
  /**
   * Bytes 0-7: a header field split across pushes is assembled here; bytes 8-11: the masking
   * key. allocUnsafe takes a slice of Node's shared pool, so an idle connection's parser owns
   * no ArrayBuffer of its own (memory per idle connection is a target).
   */
  private readonly field = Buffer.allocUnsafe(12);
  private fieldLength = 0;

  // The frame being read.
  private fin = false;
  private opcode = 0;
  private masked = false;
  private payloadLength = 0;
  private readonly maskKey = this.field.subarray(8, 12);
  /** Payload so far of a frame that spans pushes; its length is the capacity. */
  private partial: Buffer | undefined;
  private partialLength = 0;

  // The data message being assembled (a control frame may arrive between its fragments).
  private messageOpcode = 0; // Text or Binary while a message is open, else 0
  private messageBytes = 0; // declared lengths so far
  private fragments = 0;
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Used whenever a text message is not one frame in one chunk; else isValidUtf8 on the whole. */
  private readonly utf8 = new Utf8Validator();

  constructor(opts: ParserOptions) {
    this.maxMessageBytes = opts.maxMessageBytes;
    this.maxFragments = opts.maxFragments;
    this.expectMasked = opts.expectMasked ?? true;
  }

  /** Bytes held for incomplete frames and messages (bounded, see the class comment). */
  get bufferedBytes(): number {
    return this.fieldLength + (this.partial ? this.partial.length : 0) + this.partsBytes;
  }

  /** Hands over the next bytes from the peer; their events come from next(). */
  push(chunk: Buffer): void {
    // A caller that pushes again before reading every event keeps the unread bytes first.
    this.chunk = this.offset < this.chunk.length ? Buffer.concat([this.chunk.subarray(this.offset), chunk]) : chunk;
    this.offset = 0;
  }

  /** Parses until the next event; None when the pushed bytes hold no further complete event. */
  next(): FrameEventKind {
    this.event = NONE;
    const chunk = this.chunk;
    const end = chunk.length;
    let off = this.offset;
    // An incomplete field consumes the rest of the chunk, which ends the loop.
    while (this.event === NONE && off < end) {
      switch (this.state) {
        case HEADER: {
          let b0: number;
          let b1: number;
          if (this.fieldLength === 0 && end - off >= 2) {
            b0 = chunk[off]!;
            b1 = chunk[off + 1]!;
            off += 2;
          } else {
            off = this.fill(chunk, off, 2);
            if (this.fieldLength < 2) break;
            b0 = this.field[0]!;
            b1 = this.field[1]!;
            this.fieldLength = 0;
          }
          this.header(b0, b1);
          break;
        }
        case LENGTH_16: {
          let length: number;
          if (this.fieldLength === 0 && end - off >= 2) {
            length = chunk.readUInt16BE(off);
            off += 2;
          } else {
            off = this.fill(chunk, off, 2);
            if (this.fieldLength < 2) break;
            length = this.field.readUInt16BE(0);
            this.fieldLength = 0;
          }
          this.length(length);
          break;
        }
        case LENGTH_64: {
          let high: number;
          let low: number;
          if (this.fieldLength === 0 && end - off >= 8) {
            high = chunk.readUInt32BE(off);
            low = chunk.readUInt32BE(off + 4);
            off += 8;
          } else {
            off = this.fill(chunk, off, 8);
            if (this.fieldLength < 8) break;
            high = this.field.readUInt32BE(0);
            low = this.field.readUInt32BE(4);
            this.fieldLength = 0;
          }
          if (high >= 0x8000_0000) {
            this.fail(CloseCode.ProtocolError, 'SG_ERR_WS_LENGTH_64', 'frame length has the most significant bit set');
          } else {
            // Exact up to 2^53; beyond, the rounding cannot bring it under any sane limit.
            this.length(high * 0x1_0000_0000 + low);
          }
          break;
        }
        case MASK_KEY: {
          const key = this.maskKey;
          if (this.fieldLength === 0 && end - off >= 4) {
            key[0] = chunk[off]!;
            key[1] = chunk[off + 1]!;
            key[2] = chunk[off + 2]!;
            key[3] = chunk[off + 3]!;
            off += 4;
          } else {
            off = this.fill(chunk, off, 4);
            if (this.fieldLength < 4) break;
            this.field.copy(key, 0, 0, 4);
            this.fieldLength = 0;
          }
          this.startPayload();
          break;
        }
        case PAYLOAD:
          off = this.payload(chunk, off);
          break;
        default: // STOPPED: whatever follows a close frame or an error is ignored
          off = end;
      }
    }
    if (off < end) {
      this.offset = off;
    } else {
      // Used up: drop the references, so that an idle connection does not pin its last chunk
      // (a delivered payload is the caller's now).
      this.chunk = EMPTY;
      this.offset = 0;
      if (this.event === NONE) this.data = EMPTY;
    }
    return this.event;
  }

  /** Copies up to `want - fieldLength` bytes into the field buffer; returns the new offset. */
  private fill(chunk: Buffer, off: number, want: number): number {
    const n = Math.min(want - this.fieldLength, chunk.length - off);
    chunk.copy(this.field, this.fieldLength, off, off + n);
    this.fieldLength += n;
    return off + n;
  }

  private header(b0: number, b1: number): void {
    if ((b0 & 0x70) !== 0) {
      return this.fail(CloseCode.ProtocolError, 'SG_ERR_WS_RSV', 'RSV bits set but no extension was negotiated');
    }
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const masked = (b1 & 0x80) !== 0;
    const length7 = b1 & 0x7f;
    if (masked !== this.expectMasked) {
      return masked
        ? this.fail(CloseCode.ProtocolError, 'SG_ERR_WS_MASKED', 'server frame is masked')
        : this.fail(CloseCode.ProtocolError, 'SG_ERR_WS_UNMASKED', 'client frame is not masked');
    }
    if (opcode >= Opcode.Close) {
      if (opcode > Opcode.Pong) return this.fail(CloseCode.ProtocolError, 'SG_ERR_WS_OPCODE', `reserved opcode 0x${opcode.toString(16)}`);
      if (!fin) return this.fail(CloseCode.ProtocolError, 'SG_ERR_WS_CONTROL_FRAGMENTED', 'control frame without FIN');
      if (length7 > MAX_CONTROL_PAYLOAD) {
        return this.fail(CloseCode.ProtocolError, 'SG_ERR_WS_CONTROL_TOO_LONG', 'control frame payload over 125 bytes');
      }
    } else if (opcode === Opcode.Continuation) {
      if (this.messageOpcode === 0) {
        return this.fail(CloseCode.ProtocolError, 'SG_ERR_WS_UNEXPECTED_CONTINUATION', 'continuation frame without a started message');
      }
      if (++this.fragments > this.maxFragments) {
        return this.fail(CloseCode.MessageTooBig, 'SG_ERR_WS_TOO_MANY_FRAGMENTS', `message has more than ${this.maxFragments} fragments`);
      }
    } else if (opcode <= Opcode.Binary) {
      if (this.messageOpcode !== 0) {
        return this.fail(CloseCode.ProtocolError, 'SG_ERR_WS_EXPECTED_CONTINUATION', 'new data frame inside a fragmented message');
      }
      this.messageOpcode = opcode;
      this.messageBytes = 0;
      this.fragments = 1;
    } else {
      return this.fail(CloseCode.ProtocolError, 'SG_ERR_WS_OPCODE', `reserved opcode 0x${opcode.toString(16)}`);
    }
    this.fin = fin;
    this.opcode = opcode;
    this.masked = masked;
    if (length7 === 126) this.state = LENGTH_16;
    else if (length7 === 127) this.state = LENGTH_64;
    else this.length(length7);
  }

  private length(length: number): void {
    if (this.opcode < Opcode.Close) {
      // The declared running total, before a single payload byte is buffered (gorilla CVE-2020-27813).
      this.messageBytes += length;
      if (this.messageBytes > this.maxMessageBytes) {
        return this.fail(CloseCode.MessageTooBig, 'SG_ERR_WS_MESSAGE_TOO_BIG', `message over ${this.maxMessageBytes} bytes`);
      }
    }
    this.payloadLength = length;
    if (this.masked) this.state = MASK_KEY;
    else this.startPayload();
  }

  private startPayload(): void {
    if (this.payloadLength === 0) this.frame(EMPTY, false);
    else this.state = PAYLOAD;
  }

  /** Consumes payload bytes from chunk[off…]; returns the new offset. */
  private payload(chunk: Buffer, off: number): number {
    const available = chunk.length - off;
    const length = this.payloadLength;
    if (this.partial === undefined && available >= length) {
      // The whole payload is in this chunk: deliver a view of it, no copy.
      const data = new FastBuffer(chunk.buffer, chunk.byteOffset + off, length);
      if (this.masked) unmask(data, this.maskKey, 0, length, 0);
      this.frame(data, false);
      return off + length;
    }
    const from = this.partialLength;
    const n = Math.min(available, length - from);
    let buffer = this.partial;
    if (buffer === undefined || from + n > buffer.length) buffer = this.grow(from + n);
    chunk.copy(buffer, from, off, off + n);
    if (this.masked) unmask(buffer, this.maskKey, from, from + n, from);
    this.partialLength = from + n;
    // Text is checked piece by piece so that invalid UTF-8 fails before the frame is complete.
    if (this.opcode < Opcode.Close && this.messageOpcode === Opcode.Text && !this.utf8.push(buffer, from, from + n)) {
      this.failUtf8();
      return chunk.length;
    }
    if (this.partialLength === length) {
      // The capacity is capped at the declared length, so the buffer is exactly the payload.
      this.partial = undefined;
      this.partialLength = 0;
      this.frame(buffer, true);
    }
    return off + n;
  }

  /** Makes room for `needed` payload bytes: doubling keeps the copies linear overall. */
  private grow(needed: number): Buffer {
    const next = Buffer.allocUnsafe(Math.min(this.payloadLength, Math.max(2 * needed, MIN_PARTIAL)));
    if (this.partial !== undefined) this.partial.copy(next, 0, 0, this.partialLength);
    this.partial = next;
    return next;
  }

  /** A frame's payload is complete (unmasked); `validated` when its text already went through the DFA. */
  private frame(data: Buffer, validated: boolean): void {
    this.state = HEADER;
    const opcode = this.opcode;
    if (opcode >= Opcode.Close) {
      if (opcode === Opcode.Close) return this.close(data);
      this.data = data;
      this.event = opcode === Opcode.Ping ? PING : PONG;
      return;
    }
    const text = this.messageOpcode === Opcode.Text;
    if (!this.fin) {
      if (text && !validated && !this.utf8.push(data)) return this.failUtf8();
      this.parts.push(data);
      this.partsBytes += data.length;
      return;
    }
    let message: Buffer;
    if (this.parts.length === 0) {
      // One-frame message (the common case): the fast whole-buffer check when it came in one piece.
      if (text && !(validated ? this.utf8.end() : isValidUtf8(data))) return this.failUtf8();
      message = data;
    } else {
      if (text && !((validated || this.utf8.push(data)) && this.utf8.end())) return this.failUtf8();
      this.parts.push(data);
      message = concat(this.parts, this.partsBytes + data.length);
      this.parts = [];
      this.partsBytes = 0;
    }
    this.utf8.reset();
    this.messageOpcode = 0;
    this.data = message;
    this.binary = !text;
    this.event = MESSAGE;
  }

  private close(data: Buffer): void {
    this.state = STOPPED; // nothing may follow a close frame (RFC 6455 §5.5.1)
    this.release();
    if (data.length === 0) return this.closed(undefined, '');
    if (data.length === 1) return this.fail(CloseCode.ProtocolError, 'SG_ERR_WS_CLOSE_PAYLOAD', 'close frame with a 1-byte payload');
    const code = data.readUInt16BE(0);
    if (!isValidCloseCode(code)) return this.fail(CloseCode.ProtocolError, 'SG_ERR_WS_CLOSE_CODE', `invalid close code ${code}`);
    const reason = data.subarray(2);
    if (!isValidUtf8(reason)) {
      return this.fail(CloseCode.InvalidPayload, 'SG_ERR_WS_CLOSE_REASON_UTF8', 'close reason is not valid UTF-8');
    }
    this.closed(code, reason.toString('utf8'));
  }

  private closed(code: number | undefined, reason: string): void {
    this.closeCode = code;
    this.closeReason = reason;
    this.event = CLOSE;
  }

  private failUtf8(): void {
    this.fail(CloseCode.InvalidPayload, 'SG_ERR_WS_INVALID_UTF8', 'text message is not valid UTF-8');
  }

  private fail(closeCode: number, code: WsErrorCode, message: string): void {
    this.state = STOPPED;
    this.release();
    this.error = new WsProtocolError(closeCode, code, message);
    this.event = ERROR;
  }

  /** Drops every buffered byte once the parser has stopped. */
  private release(): void {
    this.partial = undefined;
    this.partialLength = 0;
    this.parts = [];
    this.partsBytes = 0;
    this.fieldLength = 0;
  }
}

function concat(parts: Buffer[], total: number): Buffer {
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const part of parts) {
    part.copy(out, at);
    at += part.length;
  }
  return out;
}
