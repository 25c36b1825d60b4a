/**
 * decodeClientMessage keeps client messages inside the JSON data model on both encodings
 * (README "Wire protocol": what a client may send). Byte-level cases, hex written out.
 */
import { Encoder } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { decodeClientMessage } from '../../../src/protocol/codec.js';

const json = (s: string) => decodeClientMessage(Buffer.from(s), false, 'json');
const cborHex = (h: string) => decodeClientMessage(Buffer.from(h, 'hex'), true, 'cbor');
/** `{"type":"command","id":"c","device":"m","payload": <item>}` with the payload item in hex */
const command = (payloadHex: string) =>
  cborHex('a4' + '6474797065' + '67636f6d6d616e64' + '626964' + '6163' + '66646576696365' + '616d' + '677061796c6f6164' + payloadHex);
const payloadOf = (r: ReturnType<typeof decodeClientMessage>) => (r.ok ? (r.value as Record<string, unknown>).payload : r);

describe('CBOR integers', () => {
  it('beyond 2^53−1 in a 64-bit argument → out_of_range (it would have been a BigInt, or rounded)', () => {
    expect(command('1b0020000000000000')).toMatchObject({ ok: false, code: 'out_of_range' }); // 2^53
    expect(command('1b0020000000000001')).toMatchObject({ ok: false, code: 'out_of_range' }); // 2^53+1
    expect(command('1bffffffffffffffff')).toMatchObject({ ok: false, code: 'out_of_range' }); // 2^64-1
    expect(command('3b001fffffffffffff')).toMatchObject({ ok: false, code: 'out_of_range' }); // -2^53
    expect(command('3bffffffffffffffff')).toMatchObject({ ok: false, code: 'out_of_range' }); // -2^64
  });

  it('the limits themselves decode to exact numbers, even in a 64-bit argument', () => {
    expect(payloadOf(command('1b001fffffffffffff'))).toBe(Number.MAX_SAFE_INTEGER);
    expect(payloadOf(command('3b001ffffffffffffe'))).toBe(-Number.MAX_SAFE_INTEGER);
    // non-preferred serialization of a small number: cbor-x returns a BigInt for it
    const one = payloadOf(command('1b0000000000000001'));
    expect(typeof one).toBe('number');
    expect(one).toBe(1);
  });

  it('a map key, an array element or a nested value beyond the range is refused too', () => {
    expect(command('81' + '1b0020000000000000')).toMatchObject({ ok: false, code: 'out_of_range' });
    expect(command('a16178' + '3b0020000000000000')).toMatchObject({ ok: false, code: 'out_of_range' });
  });

  it('bignums (tags 2 and 3) are integers out of range, whatever their size', () => {
    expect(command('c249010000000000000000')).toMatchObject({ ok: false, code: 'out_of_range' });
    expect(command('c349010000000000000000')).toMatchObject({ ok: false, code: 'out_of_range' });
    expect(command('c24101')).toMatchObject({ ok: false, code: 'out_of_range' });
  });
});

describe('CBOR floats', () => {
  it.each([
    ['half NaN', 'f97e00'],
    ['half +Infinity', 'f97c00'],
    ['half -Infinity', 'f9fc00'],
    ['single NaN', 'fa7fc00000'],
    ['single +Infinity', 'fa7f800000'],
    ['single -Infinity', 'faff800000'],
    ['double NaN', 'fb7ff8000000000000'],
    ['double NaN with payload bits', 'fb7ff0000000000001'],
    ['double +Infinity', 'fb7ff0000000000000'],
    ['double -Infinity', 'fbfff0000000000000'],
  ])('%s → out_of_range', (_name, hex) => {
    expect(command(hex)).toMatchObject({ ok: false, code: 'out_of_range' });
  });

  it('floats of every width within ±(2^53−1) decode to their value; -0 becomes 0', () => {
    expect(payloadOf(command('f93e00'))).toBe(1.5);
    expect(payloadOf(command('fa47c35000'))).toBe(100000);
    expect(payloadOf(command('fb3ff199999999999a'))).toBe(1.1);
    // a double whose bits, read as an integer, are far beyond 2^53: its value is what counts
    expect(payloadOf(command('fb4330000000000000'))).toBe(2 ** 52);
    expect(payloadOf(command('fb0000000000000001'))).toBe(5e-324);
    expect(Object.is(payloadOf(command('f98000')), 0)).toBe(true);
    expect(Object.is(payloadOf(command('fb8000000000000000')), 0)).toBe(true);
  });

  it('a float beyond ±(2^53−1) is refused as the integer it is (cbor-x writes 2**53 as a float)', () => {
    expect(command('fb4340000000000000')).toMatchObject({ ok: false, code: 'out_of_range' }); // 2^53
    expect(command('fa5f800000')).toMatchObject({ ok: false, code: 'out_of_range' }); // 2^64 single
    expect(command('f97bff')).toMatchObject({ ok: true }); // 65504, the largest half
    expect(command('fbffefffffffffffff')).toMatchObject({ ok: false, code: 'out_of_range' }); // -MAX_VALUE
  });
});

describe('CBOR items outside the JSON data model', () => {
  // what cbor-x itself would make of richer JS values: all become tags or simple values
  const rich = new Encoder({ useRecords: false, structuredClone: true });

  it.each([
    ['a Date (tag 1)', new Date(0)],
    ['a typed array (tag 64..)', new Float32Array([1, 2])],
    ['a Set (tag 258)', new Set([1])],
    ['a RegExp (tag 27)', /x/],
    ['an Error (tag 27)', new Error('x')],
  ])('%s is refused with malformed before the decoder sees it', (_name, value) => {
    const r = decodeClientMessage(Buffer.from(rich.encode({ type: 'command', id: 'c', device: 'm', payload: value })), true, 'cbor');
    expect(r).toMatchObject({ ok: false, code: 'malformed' });
  });

  it('shared references and cycles (tags 28/29) are refused', () => {
    const shared = { a: 1 };
    const cyclic: Record<string, unknown> = { type: 'command' };
    cyclic.self = cyclic;
    for (const v of [{ type: 'command', x: shared, y: shared }, cyclic]) {
      expect(decodeClientMessage(Buffer.from(rich.encode(v)), true, 'cbor')).toMatchObject({
        ok: false,
        code: 'malformed',
        message: 'CBOR tags are not accepted',
      });
    }
  });

  it('undefined, simple values, byte strings and non-text map keys are refused', () => {
    expect(command('f7')).toMatchObject({ ok: false, code: 'malformed' });
    expect(command('f0')).toMatchObject({ ok: false, code: 'malformed' });
    expect(command('f820')).toMatchObject({ ok: false, code: 'malformed' });
    expect(command('4100')).toMatchObject({ ok: false, code: 'malformed' });
    expect(command('a10102')).toMatchObject({ ok: false, message: 'map keys must be text strings' });
    expect(command('a1f46178')).toMatchObject({ ok: false, message: 'map keys must be text strings' });
  });

  it('text that is not UTF-8 is refused (cbor-x would decode it to U+FFFD)', () => {
    expect(command('63eda080')).toMatchObject({ ok: false, code: 'malformed', message: 'CBOR text strings must be valid UTF-8' }); // a UTF-8-encoded surrogate
    expect(command('62c328')).toMatchObject({ ok: false, code: 'malformed' });
    expect(command('a163c0af61' + '01')).toMatchObject({ ok: false, code: 'malformed' }); // an overlong key
    expect(payloadOf(command('64f09f9880'))).toBe('😀');
  });
});

describe('JSON', () => {
  const payload = (text: string) => json(`{"type":"command","id":"c","device":"m","payload":${text}}`);

  it('an integer literal beyond 2^53−1 → out_of_range (JSON.parse would round it silently)', () => {
    expect(payload('9007199254740992')).toMatchObject({ ok: false, code: 'out_of_range' });
    expect(payload('12345678901234567891')).toMatchObject({ ok: false, code: 'out_of_range' });
    expect(payload('-9007199254740992')).toMatchObject({ ok: false, code: 'out_of_range' });
    expect(payload('[1, {"x": 99999999999999999999}]')).toMatchObject({ ok: false, code: 'out_of_range' });
    expect(json('99999999999999999999')).toMatchObject({ ok: false, code: 'out_of_range' });
  });

  it('digits inside strings are text, not numbers', () => {
    expect(payloadOf(payload('"12345678901234567891"'))).toBe('12345678901234567891');
    expect(payloadOf(payload('{"99999999999999999999": "\\"99999999999999999999\\\\"}'))).toEqual({
      '99999999999999999999': '"99999999999999999999\\',
    });
  });

  it('numbers within ±(2^53−1) are accepted in any notation; -0 becomes 0', () => {
    expect(payloadOf(payload('9007199254740991'))).toBe(Number.MAX_SAFE_INTEGER);
    expect(payloadOf(payload('-9007199254740991'))).toBe(-Number.MAX_SAFE_INTEGER);
    expect(payloadOf(payload('9.007199254740991e15'))).toBe(Number.MAX_SAFE_INTEGER);
    expect(payloadOf(payload('1.5E-7'))).toBe(1.5e-7);
    expect(Object.is(payloadOf(payload('-0')), 0)).toBe(true);
    expect(Object.is(payloadOf(payload('-0.0')), 0)).toBe(true);
  });

  it('beyond it, an exponent or a fraction makes no difference: the value is what counts', () => {
    expect(payload('1e20')).toMatchObject({ ok: false, code: 'out_of_range' });
    expect(payload('1e+21')).toMatchObject({ ok: false, code: 'out_of_range' });
    expect(payload('12345678901234567891.5')).toMatchObject({ ok: false, code: 'out_of_range' });
  });

  it('a literal that overflows to ±Infinity → out_of_range', () => {
    expect(payload('1e400')).toMatchObject({ ok: false, code: 'out_of_range' });
    expect(payload('-1.5e999')).toMatchObject({ ok: false, code: 'out_of_range' });
    expect(payload('{"a": [1e309]}')).toMatchObject({ ok: false, code: 'out_of_range' });
  });

  it('a lone surrogate escape in a value or a key → malformed; a pair is fine', () => {
    expect(payload('"\\ud800"')).toMatchObject({ ok: false, code: 'malformed', message: 'strings must be well-formed Unicode (no lone surrogates)' });
    expect(payload('"x\\udfff"')).toMatchObject({ ok: false, code: 'malformed' });
    expect(payload('{"\\ud83d": 1}')).toMatchObject({ ok: false, code: 'malformed' });
    expect(json('{"type":"command","id":"\\ud800"}')).toMatchObject({ ok: false, code: 'malformed' });
    expect(payloadOf(payload('"\\ud83d\\ude00"'))).toBe('😀');
  });
});

describe('both encodings agree', () => {
  const plain = new Encoder({ useRecords: false });
  const both = (v: unknown) => [json(JSON.stringify({ n: v })), decodeClientMessage(Buffer.from(plain.encode({ n: v })), true, 'cbor')];
  it.each([
    ['2^53', '9007199254740992', 2n ** 53n],
    ['-2^53', '-9007199254740992', -(2n ** 53n)],
    ['2^64', '18446744073709551616', 2n ** 64n],
  ])('%s is out_of_range as a JSON literal and as a CBOR integer', (_name, text, big) => {
    expect(json(`{"n":${text}}`)).toMatchObject({ ok: false, code: 'out_of_range' });
    expect(decodeClientMessage(Buffer.from(plain.encode({ n: big })), true, 'cbor')).toMatchObject({ ok: false, code: 'out_of_range' });
  });

  it.each([2 ** 53, -(2 ** 53), 1e20, 1e21, 1e300])('the JS number %d: refused by both (JSON.stringify and cbor-x write it differently)', (n) => {
    for (const r of both(n)) expect(r).toMatchObject({ ok: false, code: 'out_of_range' });
  });

  it.each([Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 52 + 0.5, 0.1, -1e-300])('the JS number %d: the same value from both', (n) => {
    for (const r of both(n)) expect(r).toMatchObject({ ok: true, value: { n } });
  });
});
