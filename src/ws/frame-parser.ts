import { CloseCode, MAX_CONTROL_PAYLOAD, Opcode, isValidCloseCode } from './constants.js';
import { WsProtocolError, type WsErrorCode } from './errors.js';
import { FrameEvent, FrameReader } from './frame-reader.js';
import { Utf8Validator, isValidUtf8 } from './utf8.js';

export { FrameEvent } from './frame-reader.js';

export interface ParserOptions {
  /** Largest message (sum of the declared lengths of its frames); more → 1009. */
  maxMessageBytes: number;
  /** Most frames in one message; more → 1009 (a million empty fragments cost CPU, not bytes). */
  maxFragments: number;
  /** true (default) on the server: every client frame must be masked; false on a client. */
  expectMasked?: boolean;
}

// The same values as plain constants for the hot path: V8 folds these, not an object's properties.
const MESSAGE = FrameEvent.Message;
const PING = FrameEvent.Ping;
const PONG = FrameEvent.Pong;
const CLOSE = FrameEvent.Close;
const ERROR = FrameEvent.Error;

/**
 * Incremental RFC 6455 frame parser (sans-I/O, pull): push() hands it the next bytes, next()
 * returns the next event found in them, FrameEvent.None once they are used up. Neither throws
 * on any input, and no code of the caller runs inside them, so an exception in whatever handles
 * an event cannot leave the parser half-way through a frame. An event's payload is read from
 * the parser's own fields, so no event object is allocated.
 *
 * FrameReader reads the bytes of each frame; this class says what they mean: the header rules,
 * control frames, the message assembled from its fragments (a control frame may arrive between
 * them), its limits and its UTF-8. The limits are checked on declared lengths, before a payload
 * is buffered. The parser holds at most maxMessageBytes + 125 (a control frame) + 8 (a partial
 * header field), see bufferedBytes, plus the chunk whose events are not all read.
 */
export class FrameParser extends FrameReader {
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

  // The data message being assembled.
  private messageOpcode = 0; // Text or Binary while a message is open, else 0
  private messageBytes = 0; // declared lengths so far
  private fragments = 0;
  /** the frames so far of a fragmented message; none (no array) between messages */
  private parts: Buffer[] | undefined;
  private partsBytes = 0;
  /** Used whenever a text message is not one frame in one chunk; else isValidUtf8 on the whole. */
  private readonly utf8 = new Utf8Validator();

  constructor(opts: ParserOptions) {
    super();
    this.maxMessageBytes = opts.maxMessageBytes;
    this.maxFragments = opts.maxFragments;
    this.expectMasked = opts.expectMasked ?? true;
  }

  /** Bytes held for incomplete frames and messages (bounded, see the class comment). */
  get bufferedBytes(): number {
    return this.readerBytes + this.partsBytes;
  }

  protected header(b0: number, b1: number): boolean {
    if ((b0 & 0x70) !== 0) {
      return this.reject(CloseCode.ProtocolError, 'SG_ERR_WS_RSV', 'RSV bits set but no extension was negotiated');
    }
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const masked = (b1 & 0x80) !== 0;
    const length7 = b1 & 0x7f;
    if (masked !== this.expectMasked) {
      return masked
        ? this.reject(CloseCode.ProtocolError, 'SG_ERR_WS_MASKED', 'server frame is masked')
        : this.reject(CloseCode.ProtocolError, 'SG_ERR_WS_UNMASKED', 'client frame is not masked');
    }
    if (opcode >= Opcode.Close) {
      if (opcode > Opcode.Pong) return this.reject(CloseCode.ProtocolError, 'SG_ERR_WS_OPCODE', `reserved opcode 0x${opcode.toString(16)}`);
      if (!fin) return this.reject(CloseCode.ProtocolError, 'SG_ERR_WS_CONTROL_FRAGMENTED', 'control frame without FIN');
      if (length7 > MAX_CONTROL_PAYLOAD) {
        return this.reject(CloseCode.ProtocolError, 'SG_ERR_WS_CONTROL_TOO_LONG', 'control frame payload over 125 bytes');
      }
    } else if (opcode === Opcode.Continuation) {
      if (this.messageOpcode === 0) {
        return this.reject(CloseCode.ProtocolError, 'SG_ERR_WS_UNEXPECTED_CONTINUATION', 'continuation frame without a started message');
      }
      if (++this.fragments > this.maxFragments) {
        return this.reject(CloseCode.MessageTooBig, 'SG_ERR_WS_TOO_MANY_FRAGMENTS', `message has more than ${this.maxFragments} fragments`);
      }
    } else if (opcode <= Opcode.Binary) {
      if (this.messageOpcode !== 0) {
        return this.reject(CloseCode.ProtocolError, 'SG_ERR_WS_EXPECTED_CONTINUATION', 'new data frame inside a fragmented message');
      }
      this.messageOpcode = opcode;
      this.messageBytes = 0;
      this.fragments = 1;
    } else {
      return this.reject(CloseCode.ProtocolError, 'SG_ERR_WS_OPCODE', `reserved opcode 0x${opcode.toString(16)}`);
    }
    this.fin = fin;
    this.opcode = opcode;
    this.masked = masked;
    return true;
  }

  protected length(length: number): boolean {
    if (this.opcode < Opcode.Close) {
      // The declared running total, before a single payload byte is buffered (gorilla CVE-2020-27813).
      this.messageBytes += length;
      if (this.messageBytes > this.maxMessageBytes) {
        return this.reject(CloseCode.MessageTooBig, 'SG_ERR_WS_MESSAGE_TOO_BIG', `message over ${this.maxMessageBytes} bytes`);
      }
    }
    return true;
  }

  protected piece(buffer: Buffer, from: number, to: number): boolean {
    if (this.opcode < Opcode.Close && this.messageOpcode === Opcode.Text && !this.utf8.push(buffer, from, to)) {
      this.failUtf8();
      return false;
    }
    return true;
  }

  /** `validated`: its text already went through the DFA piece by piece. */
  protected frame(data: Buffer, validated: boolean): void {
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
      (this.parts ??= []).push(data);
      this.partsBytes += data.length;
      return;
    }
    let message: Buffer;
    if (this.parts === undefined) {
      // One-frame message (the common case): the fast whole-buffer check when it came in one piece.
      if (text && !(validated ? this.utf8.end() : isValidUtf8(data))) return this.failUtf8();
      message = data;
    } else {
      if (text && !((validated || this.utf8.push(data)) && this.utf8.end())) return this.failUtf8();
      this.parts.push(data);
      message = concat(this.parts, this.partsBytes + data.length);
      this.parts = undefined;
      this.partsBytes = 0;
    }
    this.utf8.reset();
    this.messageOpcode = 0;
    this.data = message;
    this.binary = !text;
    this.event = MESSAGE;
  }

  /** fail() for a step that answers whether the frame may go on: never. */
  private reject(closeCode: number, code: WsErrorCode, message: string): false {
    this.fail(closeCode, code, message);
    return false;
  }

  protected fail(closeCode: number, code: WsErrorCode, message: string): void {
    this.release();
    this.error = new WsProtocolError(closeCode, code, message);
    this.event = ERROR;
  }

  private close(data: Buffer): void {
    this.release(); // nothing may follow a close frame (RFC 6455 §5.5.1)
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

  /** Stops the parse and drops every buffered byte. */
  private release(): void {
    this.stop();
    this.parts = undefined;
    this.partsBytes = 0;
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
