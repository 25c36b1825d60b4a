import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../src/codecs/line-splitter.js';

type Event = ['line', string] | ['overlong', number] | ['invalid', string];

function collect(opts: { delimiter?: string; maxLineBytes: number }) {
  const events: Event[] = [];
  let maxHeld = 0;
  const s = new LineSplitter(opts, {
    line: (t) => events.push(['line', t]),
    overlong: (n) => events.push(['overlong', n]),
    invalid: (b) => events.push(['invalid', b.toString('hex')]),
  });
  const push = (b: Buffer | string) => {
    s.push(Buffer.isBuffer(b) ? b : Buffer.from(b, 'latin1'));
    maxHeld = Math.max(maxHeld, s.heldBytes);
  };
  return { s, events, push, maxHeld: () => maxHeld };
}

/** what the splitter must report for a whole input, computed the obvious (unbounded) way */
function reference(input: Buffer, delimiter: string, cap: number): Event[] {
  const d = Buffer.from(delimiter);
  const out: Event[] = [];
  let pos = 0;
  for (;;) {
    const i = input.indexOf(d, pos);
    if (i < 0) break;
    let line = input.subarray(pos, i);
    pos = i + d.length;
    const length = line.length;
    if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
    if (line.length > cap) {
      out.push(['overlong', length]);
      continue;
    }
    const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(line);
    out.push(Buffer.from(text).equals(line) ? ['line', text] : ['invalid', line.toString('hex')]);
  }
  return out;
}

describe('LineSplitter', () => {
  it('splits lines across chunks and trims one trailing \\r', () => {
    const c = collect({ maxLineBytes: 64 });
    c.push('temp=1\nte');
    c.push('mp=2\r\n\r\n');
    c.push('x\r\r\npart');
    expect(c.events).toEqual([
      ['line', 'temp=1'],
      ['line', 'temp=2'],
      ['line', ''],
      ['line', 'x\r'],
    ]);
    expect(c.s.heldBytes).toBe(4);
  });

  it('a custom multi-byte delimiter, split between chunks', () => {
    const c = collect({ delimiter: '\r\n', maxLineBytes: 64 });
    c.push('a=1\r');
    c.push('\nb=2\rc\r\r');
    c.push('\n');
    expect(c.events).toEqual([
      ['line', 'a=1'],
      ['line', 'b=2\rc'],
    ]);
  });

  it('an overlong line is dropped, counted once with its length, and the next line parses', () => {
    const c = collect({ maxLineBytes: 8 });
    c.push('ok=1\n0123');
    c.push('456789');
    c.push('abcdef');
    expect(c.s.heldBytes).toBe(0); // discarding: nothing held
    c.push('gh\nok=2\n');
    expect(c.events).toEqual([
      ['line', 'ok=1'],
      ['overlong', 18],
      ['line', 'ok=2'],
    ]);
    expect(c.maxHeld()).toBeLessThanOrEqual(8);
  });

  it('a line of exactly maxLineBytes is kept; one more byte is overlong', () => {
    const c = collect({ delimiter: '\r\n', maxLineBytes: 4 });
    c.push('abcd\r');
    c.push('\nabcde\r\n');
    expect(c.events).toEqual([
      ['line', 'abcd'],
      ['overlong', 5],
    ]);
    expect(c.s.capacity).toBe(6);
  });

  it('the \r trimmed from a "\r\n" line does not count against maxLineBytes', () => {
    const c = collect({ maxLineBytes: 4 });
    c.push('abcd\r');
    c.push('\nabcd\nabcde\r\nabc\r\r\n');
    expect(c.events).toEqual([
      ['line', 'abcd'],
      ['line', 'abcd'],
      ['overlong', 6],
      ['line', 'abc\r'],
    ]);
  });

  it('an endless line never holds more than the cap', () => {
    const c = collect({ maxLineBytes: 1024 });
    for (let i = 0; i < 1000; i++) c.push(Buffer.alloc(1000, 0x41));
    expect(c.maxHeld()).toBeLessThanOrEqual(1024);
    expect(c.events).toEqual([]);
    c.push('\nok=1\n');
    expect(c.events).toEqual([
      ['overlong', 1_000_000],
      ['line', 'ok=1'],
    ]);
  });

  it('invalid UTF-8 is reported for that line only', () => {
    const c = collect({ maxLineBytes: 64 });
    c.push(Buffer.concat([Buffer.from('a=1\n'), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('\nb=\u00e9\n')]));
    c.push(Buffer.from([0xc3])); // a 2-byte sequence split across chunks is fine
    c.push(Buffer.from([0xa9, 0x0a]));
    expect(c.events).toEqual([
      ['line', 'a=1'],
      ['invalid', 'fffe41'],
      ['line', 'b=é'],
      ['line', 'é'],
    ]);
  });

  it('a byte order mark is kept as data, not silently stripped', () => {
    const c = collect({ maxLineBytes: 64 });
    c.push(Buffer.from([0xef, 0xbb, 0xbf, 0x61, 0x0a]));
    expect(c.events).toEqual([['line', '\ufeffa']]);
  });

  it('reset() forgets a partial line', () => {
    const c = collect({ maxLineBytes: 64 });
    c.push('half');
    c.s.reset();
    c.push('=1\nx=2\n');
    expect(c.events).toEqual([
      ['line', '=1'],
      ['line', 'x=2'],
    ]);
  });

  it('rejects an empty delimiter and a bad cap', () => {
    const h = { line() {}, overlong() {}, invalid() {} };
    expect(() => new LineSplitter({ delimiter: '', maxLineBytes: 4 }, h)).toThrow('line delimiter must not be empty');
    expect(() => new LineSplitter({ maxLineBytes: 0 }, h)).toThrow('maxLineBytes must be a positive integer');
  });

  it('property: same events as the unbounded reference for any chunking; held ≤ capacity', () => {
    const byte = fc.oneof(fc.constantFrom(0x0a, 0x0d, 0x61, 0x62, 0xc3, 0xa9, 0xff), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }).chain((a) => fc.tuple(fc.constant(a), fc.array(byte, { maxLength: 300 }))),
        fc.constantFrom('\n', '\r\n', 'ab', 'aab', '|'),
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        ([a, b], delimiter, cap, sizes) => {
          const input = Buffer.concat([Buffer.from(a), Buffer.from(b)]);
          const c = collect({ delimiter, maxLineBytes: cap });
          let pos = 0;
          for (let k = 0; pos < input.length; k++) {
            const n = sizes[k % sizes.length]!;
            c.push(input.subarray(pos, pos + n));
            pos += n;
            expect(c.s.heldBytes).toBeLessThanOrEqual(cap + Buffer.byteLength(delimiter));
          }
          expect(c.events).toEqual(reference(input, delimiter, cap));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
