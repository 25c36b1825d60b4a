import type { WsProtocolError } from '../../../src/ws/errors.js';
import { FrameEvent, FrameParser, type ParserOptions } from '../../../src/ws/frame-parser.js';

/** One parser event, with payloads as hex so that tests compare plain values. */
export type Event =
  ['message', string, 'text' | 'binary'] | ['ping', string] | ['pong', string] | ['close', number | undefined, string] | ['error', number, string];

/** Callbacks for the events of a pull parser: the shape most test peers read best. */
export interface ParserHandlers {
  message(data: Buffer, binary: boolean): void;
  ping(data: Buffer): void;
  pong(data: Buffer): void;
  close(code: number | undefined, reason: string): void;
  error(err: WsProtocolError): void;
}

/** Pushes `chunk` and hands each event it completes to `handlers`, in order. */
export function pushTo(parser: FrameParser, chunk: Buffer, handlers: ParserHandlers): void {
  parser.push(chunk);
  for (let event = parser.next(); event !== FrameEvent.None; event = parser.next()) {
    if (event === FrameEvent.Message) handlers.message(parser.data, parser.binary);
    else if (event === FrameEvent.Ping) handlers.ping(parser.data);
    else if (event === FrameEvent.Pong) handlers.pong(parser.data);
    else if (event === FrameEvent.Close) handlers.close(parser.closeCode, parser.closeReason);
    else handlers.error(parser.error!);
  }
}

export interface Recorder {
  parser: FrameParser;
  events: Event[];
  /** Pushes each hex string (spaces allowed) as its own chunk and records its events. */
  push(...hex: string[]): Event[];
  /** Pushes one chunk of bytes and records its events. */
  pushBytes(chunk: Buffer): Event[];
}

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

export function record(opts: Partial<ParserOptions> = {}): Recorder {
  const events: Event[] = [];
  const parser = new FrameParser({ maxMessageBytes: 1 << 20, maxFragments: 128, ...opts });
  const handlers: ParserHandlers = {
    message: (data, binary) => events.push(['message', data.toString('hex'), binary ? 'binary' : 'text']),
    ping: (data) => events.push(['ping', data.toString('hex')]),
    pong: (data) => events.push(['pong', data.toString('hex')]),
    close: (code, reason) => events.push(['close', code, reason]),
    error: (err) => events.push(['error', err.closeCode, err.code]),
  };
  const recorder: Recorder = {
    parser,
    events,
    push(...chunks) {
      for (const c of chunks) pushTo(parser, hex(c), handlers);
      return events;
    },
    pushBytes(chunk) {
      pushTo(parser, chunk, handlers);
      return events;
    },
  };
  return recorder;
}

/** Hex of a UTF-8 string. */
export const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('hex');
