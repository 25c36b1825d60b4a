import { CloseCode } from './constants.js';
import type { WsErrorCode } from './errors.js';
import { unmask } from './mask.js';

/**
 * What next() found. Its payload is in the parser's fields, valid until the next call:
 * Message → data, binary; Ping, Pong → data; Close → closeCode, closeReason; Error → error.
 * After Close or Error the parser has stopped: next() only ever returns None again.
 */
export const FrameEvent = { None: 0, Message: 1, Ping: 2, Pong: 3, Close: 4, Error: 5 } as const;
export type FrameEventKind = (typeof FrameEvent)[keyof typeof FrameEvent];
// The same value as a plain constant for the hot path: V8 folds these, not an object's properties.
const NONE = FrameEvent.None;

// Reader states, one per fixed-size field of the frame header, then the payload (like ws's receiver).
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
 * Every reader's 8-byte field is a slice of a slab of fields (256 each). A slice of Node's pool
 * (allocUnsafe) would keep its 8 KiB slab alive with the short-lived buffers cut from it at the
 * same time (handshake, hello): ~0.5 KB of dead bytes per idle connection, measured.
 */
const FIELD = 8;
let slab = EMPTY;
let slabUsed = 0;

function fieldBuffer(): Buffer {
  if (slabUsed === slab.length) {
    slab = Buffer.allocUnsafeSlow(FIELD * 256);
    slabUsed = 0;
  }
  slabUsed += FIELD;
  return new FastBuffer(slab.buffer, slab.byteOffset + slabUsed - FIELD, FIELD);
}

/**
 * The byte-level half of the frame parser (sans-I/O, pull): reads each frame's header fields,
 * extended length, masking key and payload from a byte stream split anywhere, and hands them to
 * the subclass, which says what they mean (FrameParser: RFC 6455's rules, the message and its
 * limits). Every field is read by a state that may stop in the middle of it, so any split of the
 * stream gives the same frames; at most 8 header bytes are carried between pushes.
 *
 * The subclass's steps, in frame order: header(b0, b1) checks the first two bytes and sets fin,
 * opcode and masked; length(n) checks the declared length (before a single payload byte is
 * buffered); each returns false when it failed. piece() sees each part of a payload
 * that spans pushes; frame() gets every complete payload, unmasked. A step that completes an
 * event sets `event`; one that fails calls stop(), after which every byte is ignored.
 *
 * Memory: a payload entirely inside one pushed chunk is a view of that chunk (no copy); one that
 * spans chunks is copied into a buffer that doubles up to its declared length (at least 1 KiB),
 * so a peer that declares a big frame and trickles it costs at most twice what it sent.
 *
 * push() takes ownership of the chunk: payloads are unmasked in place and delivered as views,
 * so the caller must not reuse the chunk (socket 'data' buffers are never reused by Node).
 */
export abstract class FrameReader {
  /** Message, Ping, Pong: the payload (unmasked; text is valid UTF-8, still as bytes). */
  data: Buffer = EMPTY;

  /** Set by the step that completes an event; next() returns it. */
  protected event: FrameEventKind = NONE;

  // The frame being read; fin, opcode and masked are set by header().
  protected fin = false;
  protected opcode = 0;
  protected masked = false;
  private payloadLength = 0;

  /** Pushed bytes from `offset` on are not parsed yet. */
  private chunk: Buffer = EMPTY;
  private offset = 0;
  private state = HEADER;
  /**
   * A header field split across pushes is assembled here, then bytes 0-3 hold the masking key
   * (the last field of a header, so the lengths are read by then) until the payload is unmasked.
   * One view, not a second one for the key: each is ~96 B of every idle connection. A slice of a
   * slab (fieldBuffer): an idle connection's parser owns no ArrayBuffer.
   */
  private readonly field = fieldBuffer();
  private fieldLength = 0;
  /** Payload so far of a frame that spans pushes; its length is the capacity. */
  private partial: Buffer | undefined;
  private partialLength = 0;

  /** The first two bytes of a frame: true when they are accepted (fin, opcode, masked set), else it failed. */
  protected abstract header(b0: number, b1: number): boolean;
  /** The frame's declared payload length: true when it is accepted, else it failed. */
  protected abstract length(length: number): boolean;
  /** Payload bytes buffer[from…to) of a frame that spans pushes, unmasked; false when it stopped the parse. */
  protected abstract piece(buffer: Buffer, from: number, to: number): boolean;
  /** A frame's complete payload, unmasked; `pieces` when it went through piece() first. */
  protected abstract frame(data: Buffer, pieces: boolean): void;
  /** The peer's violation found while reading a field: sets the error event, calls stop(). */
  protected abstract fail(closeCode: number, code: WsErrorCode, message: string): void;

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
          if (this.header(b0, b1)) {
            const length7 = b1 & 0x7f;
            if (length7 === 126) this.state = LENGTH_16;
            else if (length7 === 127) this.state = LENGTH_64;
            else this.declared(length7);
          }
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
          this.declared(length);
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
            this.declared(high * 0x1_0000_0000 + low);
          }
          break;
        }
        case MASK_KEY: {
          const key = this.field;
          if (this.fieldLength === 0 && end - off >= 4) {
            key[0] = chunk[off]!;
            key[1] = chunk[off + 1]!;
            key[2] = chunk[off + 2]!;
            key[3] = chunk[off + 3]!;
            off += 4;
          } else {
            // assembled where it is used: bytes 0-3 of the field
            off = this.fill(chunk, off, 4);
            if (this.fieldLength < 4) break;
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

  /** Bytes held for an incomplete header field and payload. */
  protected get readerBytes(): number {
    return this.fieldLength + (this.partial ? this.partial.length : 0);
  }

  /** Ends the parse (an error, a close frame): drops every buffered byte, ignores every later one. */
  protected stop(): void {
    this.state = STOPPED;
    this.partial = undefined;
    this.partialLength = 0;
    this.fieldLength = 0;
  }

  /** Copies up to `want - fieldLength` bytes into the field buffer; returns the new offset. */
  private fill(chunk: Buffer, off: number, want: number): number {
    const n = Math.min(want - this.fieldLength, chunk.length - off);
    chunk.copy(this.field, this.fieldLength, off, off + n);
    this.fieldLength += n;
    return off + n;
  }

  /** The frame's declared length, once read: if length() accepts it, the masking key (if any), then the payload. */
  private declared(length: number): void {
    if (!this.length(length)) return;
    this.payloadLength = length;
    if (this.masked) this.state = MASK_KEY;
    else this.startPayload();
  }

  private startPayload(): void {
    if (this.payloadLength === 0) {
      this.state = HEADER;
      this.frame(EMPTY, false);
    } else {
      this.state = PAYLOAD;
    }
  }

  /** Consumes payload bytes from chunk[off…]; returns the new offset. */
  private payload(chunk: Buffer, off: number): number {
    const available = chunk.length - off;
    const length = this.payloadLength;
    if (this.partial === undefined && available >= length) {
      // The whole payload is in this chunk: deliver a view of it, no copy.
      const data = new FastBuffer(chunk.buffer, chunk.byteOffset + off, length);
      if (this.masked) unmask(data, this.field, 0, length, 0);
      this.state = HEADER;
      this.frame(data, false);
      return off + length;
    }
    const from = this.partialLength;
    const n = Math.min(available, length - from);
    let buffer = this.partial;
    if (buffer === undefined || from + n > buffer.length) buffer = this.grow(from + n);
    chunk.copy(buffer, from, off, off + n);
    if (this.masked) unmask(buffer, this.field, from, from + n, from);
    this.partialLength = from + n;
    // Text is checked piece by piece so that invalid UTF-8 fails before the frame is complete.
    if (!this.piece(buffer, from, from + n)) return chunk.length;
    if (this.partialLength === length) {
      // The capacity is capped at the declared length, so the buffer is exactly the payload.
      this.partial = undefined;
      this.partialLength = 0;
      this.state = HEADER;
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
}
