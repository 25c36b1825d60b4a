import { FrameParser, type ParserOptions } from '../../../src/ws/frame-parser.js';

/** One parser event, with payloads as hex so that tests compare plain values. */
export type Event =
  | ['message', string, 'text' | 'binary']
  | ['ping', string]
  | ['pong', string]
  | ['close', number | undefined, string]
  | ['error', number, string];

export interface Recorder {
  parser: FrameParser;
  events: Event[];
  /** Pushes each hex string (spaces allowed) as its own chunk. */
  push(...hex: string[]): Event[];
}

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

export function record(opts: Partial<ParserOptions> = {}): Recorder {
  const events: Event[] = [];
  const parser = new FrameParser(
    { maxMessageBytes: 1 << 20, maxFragments: 128, ...opts },
    {
      message: (data, binary) => events.push(['message', data.toString('hex'), binary ? 'binary' : 'text']),
      ping: (data) => events.push(['ping', data.toString('hex')]),
      pong: (data) => events.push(['pong', data.toString('hex')]),
      close: (code, reason) => events.push(['close', code, reason]),
      error: (err) => events.push(['error', err.closeCode, err.code]),
    },
  );
  return {
    parser,
    events,
    push(...chunks) {
      for (const c of chunks) parser.push(hex(c));
      return events;
    },
  };
}

/** Hex of a UTF-8 string. */
export const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('hex');
