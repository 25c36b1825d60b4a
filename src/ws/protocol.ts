import { CloseCode, Opcode } from './constants.js';
import type { WsProtocolError } from './errors.js';
import { encodeClose, encodeFrame } from './frame-encoder.js';
import { FrameEvent, FrameParser, type ParserOptions } from './frame-parser.js';

/** readyState values, as in the browser API (a server connection starts OPEN). */
export const ReadyState = { Open: 1, Closing: 2, Closed: 3 } as const;
export type ReadyStateValue = (typeof ReadyState)[keyof typeof ReadyState];

/**
 * What the I/O layer must do next, in this order. Payloads are in the protocol's fields, valid
 * until its next call:
 * - Message: hand `data` (`binary` or text) to the application.
 * - Send: write `frame` (a pong), within the connection's send limits.
 * - Close: write `frame` (a close frame): readyState is now CLOSING. When `endAfter`, close our
 *   side of TCP right after it. Either way expect the TCP close from now on: give up (Destroy)
 *   if it has not come within the close timeout.
 * - End: close our side of TCP once everything queued is written.
 * - Destroy: drop the TCP connection now.
 * - Violation: the peer broke the protocol (`error`, to log); the action that follows says how
 *   the connection ends.
 */
export const Action = { Done: 0, Message: 1, Send: 2, Close: 3, End: 4, Destroy: 5, Violation: 6 } as const;
export type ActionKind = (typeof Action)[keyof typeof Action];

/**
 * The server side of one WebSocket connection without I/O, in the manner of python-websockets'
 * Protocol: bytes in through receive(), what to do out through next(), one action per call, so
 * the application handles each message before the next one is parsed and always sees the state
 * that the bytes so far have brought. It owns the close handshake (RFC 6455 §7): who closed
 * first and with which code, what to echo, when TCP is to be closed and by whom. The server
 * closes TCP first (§7.1.1): right after echoing a peer's close frame, after the peer answered
 * ours, and at once when the peer broke the protocol (§7.1.7, _Fail the WebSocket Connection_).
 *
 * Nothing here throws on any input and no application code runs inside it, so a handler that
 * throws between two next() calls leaves it consistent. The only throw is close() refusing a
 * code that may not be sent, which is the caller's bug.
 */
export class WsProtocol {
  /** Message: the payload. Send, Close: the frame to write. */
  data: Buffer = EMPTY;
  /** Message: binary or text. */
  binary = false;
  /** Close: close our side of TCP right after the frame. */
  endAfter = false;
  /** Violation: what the peer did. */
  error: WsProtocolError | undefined;

  private readonly parser: FrameParser;
  private current: ReadyStateValue = ReadyState.Open;
  /** Code and reason of whoever closed first (0: nobody yet), reported once TCP is closed. */
  private code = 0;
  private reason = '';
  /** The action that follows a Violation. */
  private pending: ActionKind = Action.Done;

  constructor(opts: ParserOptions) {
    this.parser = new FrameParser(opts);
  }

  get state(): ReadyStateValue {
    return this.current;
  }

  /** The next bytes from the peer (taken over: unmasked in place). Then call next() until Done. */
  receive(chunk: Buffer): void {
    this.parser.push(chunk);
  }

  /** The next action the received bytes call for; Done when they call for nothing more. */
  next(): ActionKind {
    if (this.pending !== Action.Done) {
      const action = this.pending;
      this.pending = Action.Done;
      return action;
    }
    const parser = this.parser;
    for (;;) {
      switch (parser.next()) {
        case FrameEvent.None:
          // A delivered message is the application's now: holding it would pin its socket read.
          this.data = EMPTY;
          return Action.Done;
        case FrameEvent.Message:
          // After our close frame the application is done with the connection (as in the browser API).
          if (this.current !== ReadyState.Open) continue;
          this.data = parser.data;
          this.binary = parser.binary;
          return Action.Message;
        case FrameEvent.Ping:
          if (this.current !== ReadyState.Open) continue;
          this.data = encodeFrame(Opcode.Pong, parser.data);
          return Action.Send;
        case FrameEvent.Pong:
          continue; // any bytes at all prove the peer alive: the I/O layer saw them arrive
        case FrameEvent.Close:
          return this.peerClosed(parser.closeCode, parser.closeReason);
        default: {
          // FrameEvent.Error
          const err = parser.error!;
          this.error = err;
          // The reason tells the peer why: the parser's messages are short fixed texts (a close frame holds 123 bytes).
          this.pending = this.fail(err.closeCode, err.message);
          return Action.Violation;
        }
      }
    }
  }

  /**
   * The application starts the close handshake: Close (the frame, TCP stays open for the
   * peer's answer) or Done when the connection is already closing. Throws RangeError, changing
   * nothing, on a code that may not be sent or a reason over 123 bytes.
   */
  close(code: number, reason: string): ActionKind {
    if (this.current !== ReadyState.Open) return Action.Done;
    const frame = encodeClose(code, reason);
    this.closing(code, reason);
    return this.sendClose(frame, false);
  }

  /**
   * Fails the connection (a protocol violation, or an exception while handling it): Close with
   * `code` and TCP closed right after; Destroy if our close frame is already out, because
   * waiting for the handshake to finish is no longer worth it; Done once closed.
   * `code` must be one that may be sent and `reason` must fit (both are ours, never input).
   */
  fail(code: number, reason: string): ActionKind {
    if (this.current === ReadyState.Closed) return Action.Done;
    if (this.current === ReadyState.Closing) return Action.Destroy;
    this.closing(code, reason);
    return this.sendClose(encodeClose(code, reason), true);
  }

  /** The I/O layer cannot go on (e.g. the peer stopped reading): Destroy, reporting `code` unless someone closed first. */
  abort(code: number, reason: string): ActionKind {
    if (this.current === ReadyState.Open) this.closing(code, reason);
    return Action.Destroy;
  }

  /** The peer closed its side of TCP: close ours too (a close frame, if any, came before). */
  eof(): ActionKind {
    return Action.End;
  }

  /**
   * TCP is closed: CLOSED, and the code to report, that of whoever closed first. Nobody sent a
   * close frame: 1006, the TCP connection died (RFC 6455 §7.1.5).
   */
  closed(): { code: number; reason: string } {
    this.current = ReadyState.Closed;
    return { code: this.code || CloseCode.Abnormal, reason: this.reason };
  }

  private peerClosed(code: number | undefined, reason: string): ActionKind {
    // The peer answered our close: the handshake is complete, and the server closes TCP first.
    if (this.current !== ReadyState.Open) return Action.End;
    this.closing(code ?? CloseCode.NoStatus, reason);
    // Echo the code (§5.5.1); a close without a code is answered with 1000 and no reason.
    return this.sendClose(code === undefined ? encodeClose(CloseCode.Normal) : encodeClose(code, reason), true);
  }

  private closing(code: number, reason: string): void {
    this.current = ReadyState.Closing;
    this.code = code;
    this.reason = reason;
  }

  private sendClose(frame: Buffer, endAfter: boolean): ActionKind {
    this.data = frame;
    this.endAfter = endAfter;
    return Action.Close;
  }
}

const EMPTY = Buffer.alloc(0);
