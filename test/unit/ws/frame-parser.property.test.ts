import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../../src/ws/frame-encoder.js';
import { FrameParser } from '../../../src/ws/frame-parser.js';
import { pushTo, record, type Event } from './events.js';

const MAX = 4096;

/** A message as the client sends it: payload, the cut points of its fragments, pings between them. */
const messageArb = fc.record({
  binary: fc.boolean(),
  text: fc.string({ unit: 'binary', maxLength: 200 }),
  bytes: fc.uint8Array({ maxLength: 300 }),
  cuts: fc.array(fc.nat(), { maxLength: 4 }),
  pings: fc.array(fc.uint8Array({ maxLength: 125 }), { maxLength: 3 }),
  mask: fc.uint8Array({ minLength: 4, maxLength: 4 }),
});
type Message = typeof messageArb extends fc.Arbitrary<infer T> ? T : never;

/** The client byte stream and the events the parser must report for it. */
function build(messages: Message[]): { stream: Buffer; expected: Event[] } {
  const frames: Buffer[] = [];
  const expected: Event[] = [];
  const mask = (m: Uint8Array) => ({ mask: Buffer.from(m) });
  for (const m of messages) {
    const payload = m.binary ? Buffer.from(m.bytes) : Buffer.from(m.text, 'utf8');
    const points = [...new Set(m.cuts.map((c) => c % (payload.length + 1)))].sort((a, b) => a - b);
    const pieces: Buffer[] = [];
    let from = 0;
    for (const to of [...points, payload.length]) {
      pieces.push(payload.subarray(from, to)); // cuts may split a UTF-8 sequence: that is the point
      from = to;
    }
    pieces.forEach((piece, i) => {
      const opcode = i === 0 ? (m.binary ? 2 : 1) : 0;
      frames.push(encodeFrame(opcode, piece, { fin: i === pieces.length - 1, ...mask(m.mask) }));
      const ping = m.pings[i];
      if (ping !== undefined && i < pieces.length - 1) {
        frames.push(encodeFrame(9, Buffer.from(ping), mask(m.mask)));
        expected.push(['ping', Buffer.from(ping).toString('hex')]);
      }
    });
    expected.push(['message', payload.toString('hex'), m.binary ? 'binary' : 'text']);
  }
  return { stream: Buffer.concat(frames), expected };
}

/** Pushes copies of stream slices (the parser unmasks in place, so each run gets its own bytes). */
function run(stream: Buffer, cuts: number[]): Event[] {
  const r = record({ maxMessageBytes: MAX, maxFragments: 8 });
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...points, stream.length]) {
    r.pushBytes(Buffer.from(stream.subarray(from, to)));
    from = to;
  }
  return r.events;
}

describe('FrameParser properties', () => {
  it('gives the same events for any chunking of a valid stream', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 40 }), (messages, cuts) => {
        const { stream, expected } = build(messages);
        expect(run(stream, [])).toEqual(expected);
        expect(run(stream, cuts)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('gives the same events byte by byte', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { maxLength: 3 }), (messages) => {
        const { stream, expected } = build(messages);
        const everyByte = Array.from({ length: stream.length }, (_, i) => i);
        expect(run(stream, everyByte)).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });

  // Random headers with the mask bit mostly set, so input gets past the first check and
  // exercises lengths, opcodes and payload states; plus plain random bytes.
  const hostileArb = fc.oneof(
    fc.uint8Array({ maxLength: 400 }),
    fc
      .array(
        fc.record({
          b0: fc.integer({ min: 0, max: 255 }),
          length: fc.constantFrom(0, 1, 2, 5, 125, 126, 127),
          ext: fc.uint8Array({ minLength: 0, maxLength: 8 }),
          body: fc.uint8Array({ maxLength: 80 }),
        }),
        { maxLength: 12 },
      )
      .map((frames) => Buffer.concat(frames.map((f) => Buffer.concat([Buffer.from([f.b0, 0x80 | f.length]), f.ext, f.body])))),
  );

  it('never throws on hostile bytes, stays within its memory bound, and stops after one error or close', () => {
    fc.assert(
      fc.property(hostileArb, fc.array(fc.nat(), { maxLength: 20 }), (bytes, cuts) => {
        const events: string[] = [];
        const parser = new FrameParser({ maxMessageBytes: 64, maxFragments: 4 });
        const handlers = {
          message: () => events.push('message'),
          ping: () => events.push('ping'),
          pong: () => events.push('pong'),
          close: () => events.push('close'),
          error: () => events.push('error'),
        };
        const stream = Buffer.from(bytes);
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        let from = 0;
        for (const to of [...points, stream.length]) {
          pushTo(parser, stream.subarray(from, to), handlers);
          expect(parser.bufferedBytes).toBeLessThanOrEqual(64 + 125 + 8);
          from = to;
        }
        const last = events.findIndex((e) => e === 'error' || e === 'close');
        if (last !== -1) expect(events.length).toBe(last + 1);
      }),
      { numRuns: 3000 },
    );
  });

  it('reassembles large payloads from any pieces, holding at most twice what arrived (min 1 KiB)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20_000 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        (length, cuts, mask) => {
          const payload = Buffer.alloc(length);
          for (let i = 0; i < length; i++) payload[i] = (i * 7) & 0xff;
          const frame = encodeFrame(2, payload, { mask: Buffer.from(mask) });
          const header = frame.length - length;
          const r = record({ maxMessageBytes: 1 << 20 });
          const points = [...new Set(cuts.map((c) => c % (frame.length + 1)))].sort((a, b) => a - b);
          let from = 0;
          for (const to of [...points, frame.length]) {
            r.pushBytes(Buffer.from(frame.subarray(from, to)));
            const arrived = Math.max(0, to - header);
            if (arrived < length) expect(r.parser.bufferedBytes).toBeLessThanOrEqual(Math.max(1024, 2 * arrived) + 8);
            from = to;
          }
          expect(r.events).toEqual([['message', payload.toString('hex'), 'binary']]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('round-trips encoder → parser for lengths around every header-size boundary', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 125, 126, 65535, 65536),
        fc.integer({ min: -2, max: 2 }),
        fc.boolean(),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: 255 }),
        (base, delta, binary, mask, fill) => {
          const length = Math.max(0, base + delta);
          const payload = Buffer.alloc(length, binary ? fill : 0x20 + (fill % 0x5f)); // text: printable ASCII
          const frame = encodeFrame(binary ? 2 : 1, payload, { mask: Buffer.from(mask) });
          const r = record({ maxMessageBytes: 1 << 20 });
          r.pushBytes(frame.subarray(0, frame.length >> 1));
          r.pushBytes(frame.subarray(frame.length >> 1));
          expect(r.events).toEqual([['message', payload.toString('hex'), binary ? 'binary' : 'text']]);
        },
      ),
      { numRuns: 120 },
    );
  });
});
