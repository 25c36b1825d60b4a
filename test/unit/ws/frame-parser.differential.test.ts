import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as wsModule from 'ws';
import { encodeFrame } from '../../../src/ws/frame-encoder.js';
import { record, type Event } from './events.js';

/**
 * Differential test against ws's Receiver, the reference most peers are tested with: for random
 * frame sequences (valid and invalid) both must report the same messages, pings, pongs, close,
 * and — where the stream breaks a rule — the same close code.
 * Known, deliberate differences are kept out of the generator or mapped:
 * - ws closes with 1008 on too many fragments, we with 1009 (see README);
 * - we reject invalid UTF-8 at the first impossible byte, ws at the end of the message, so
 *   data payloads here are whole UTF-8 strings (splits are covered by the chunking property).
 */
interface WsReceiver {
  on(event: string, listener: (...args: never[]) => void): void;
  write(chunk: Buffer): boolean;
}
const { Receiver } = wsModule as unknown as {
  Receiver: new (opts: { isServer: boolean; maxPayload: number; maxFragments: number }) => WsReceiver;
};

const MAX_PAYLOAD = 200;
const MAX_FRAGMENTS = 4;

const frameArb = fc.record({
  opcode: fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(0, 1, 2, 8, 9, 10) },
    { weight: 1, arbitrary: fc.constantFrom(3, 7, 0xb, 0xf) },
  ) as fc.Arbitrary<number>,
  fin: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  rsv: fc.oneof({ weight: 20, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) }),
  masked: fc.oneof({ weight: 20, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  text: fc.string({ unit: 'binary', maxLength: 90 }),
  bytes: fc.uint8Array({ maxLength: 130 }),
  closeCode: fc.constantFrom(1000, 1001, 1004, 1005, 1012, 1016, 2999, 3000, 4999, 5000, 0),
  closeShape: fc.constantFrom('empty', 'one-byte', 'code', 'code+reason', 'code+bad-reason'),
  mask: fc.uint8Array({ minLength: 4, maxLength: 4 }),
});
type Frame = typeof frameArb extends fc.Arbitrary<infer T> ? T : never;

/** A fragmented message (start, continuations with control frames between, end), to reach the fragment cap. */
const fragmentedArb = fc
  .tuple(fc.constantFrom(1, 2), frameArb, fc.array(frameArb, { maxLength: 6 }), frameArb)
  .map(([opcode, start, middle, end]): Frame[] => [
    { ...start, opcode, fin: false },
    ...middle.map((f) => (f.opcode >= 8 ? f : { ...f, opcode: 0, fin: false })),
    { ...end, opcode: 0, fin: true },
  ]);

const sequenceArb = fc
  .array(fc.oneof({ weight: 3, arbitrary: frameArb.map((f) => [f]) }, { weight: 1, arbitrary: fragmentedArb }), { maxLength: 5 })
  .map((groups) => groups.flat());

function payloadOf(f: Frame): Buffer {
  if (f.opcode === 8) {
    const code = Buffer.alloc(2);
    code.writeUInt16BE(f.closeCode);
    switch (f.closeShape) {
      case 'empty':
        return Buffer.alloc(0);
      case 'one-byte':
        return Buffer.from([3]);
      case 'code':
        return code;
      case 'code+reason':
        return Buffer.concat([code, Buffer.from(f.text.slice(0, 40))]);
      default:
        return Buffer.concat([code, Buffer.from([0x41, 0xed, 0xa0, 0x80])]);
    }
  }
  if (f.opcode === 9 || f.opcode === 10) return Buffer.from(f.bytes); // up to 130: some over 125
  return Buffer.from(f.text, 'utf8');
}

function streamOf(frames: Frame[]): Buffer {
  return Buffer.concat(
    frames.map((f) => encodeFrame(f.opcode, payloadOf(f), { fin: f.fin, rsv: f.rsv, ...(f.masked ? { mask: Buffer.from(f.mask) } : {}) })),
  );
}

/** ws's events in our Event shape; stops at the first close or error like our parser. */
async function wsEvents(stream: Buffer, cuts: number[]): Promise<Event[]> {
  const events: Event[] = [];
  let done = false;
  const add = (e: Event) => {
    if (done) return;
    events.push(e);
    if (e[0] === 'close' || e[0] === 'error') done = true;
  };
  const receiver = new Receiver({ isServer: true, maxPayload: MAX_PAYLOAD, maxFragments: MAX_FRAGMENTS });
  receiver.on('message', (data: Buffer, binary: boolean) => add(['message', data.toString('hex'), binary ? 'binary' : 'text']));
  receiver.on('ping', (data: Buffer) => add(['ping', data.toString('hex')]));
  receiver.on('pong', (data: Buffer) => add(['pong', data.toString('hex')]));
  receiver.on('conclude', (code: number, reason: Buffer) => add(['close', code === 1005 ? undefined : code, reason.toString()]));
  receiver.on('error', (err: Error) => {
    const status = Object.getOwnPropertySymbols(err).find((s) => s.description === 'status-code');
    const closeCode = status ? (err as unknown as Record<symbol, number>)[status]! : -1;
    add(['error', closeCode === 1008 ? 1009 : closeCode, 'ws']); // ws: 1008 for too many fragments
  });
  for (const piece of split(stream, cuts)) {
    if (done) break;
    receiver.write(piece);
  }
  await new Promise((resolve) => setImmediate(resolve)); // ws reports errors on the next tick
  return events;
}

function ourEvents(stream: Buffer, cuts: number[]): Event[] {
  const r = record({ maxMessageBytes: MAX_PAYLOAD, maxFragments: MAX_FRAGMENTS });
  for (const piece of split(stream, cuts)) r.pushBytes(piece);
  return r.events.map((e) => (e[0] === 'error' ? ['error', e[1], 'ws'] : e));
}

/** Copies (both parsers unmask in place) of the stream cut at the given points. */
function split(stream: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const to of [...points, stream.length]) {
    out.push(Buffer.from(stream.subarray(from, to)));
    from = to;
  }
  return out;
}

describe('FrameParser vs ws Receiver', () => {
  it('reports the same events and close codes for random frame sequences', async () => {
    await fc.assert(
      fc.asyncProperty(sequenceArb, fc.array(fc.nat(), { maxLength: 10 }), async (frames, cuts) => {
        const stream = streamOf(frames);
        expect(ourEvents(stream, cuts)).toEqual(await wsEvents(stream, cuts));
      }),
      { numRuns: 1500 },
    );
  });
});
