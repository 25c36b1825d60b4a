import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parserSchema } from '../../../src/config/schema.js';
import { createPayloadDecoder } from '../../../src/sources/mqtt/payload.js';

const parser = (raw: Record<string, unknown> = { format: 'raw' }) => parserSchema.parse(raw);
const enc = (s: string) => Buffer.from(s, 'utf8');
const plain = (v: unknown) => (v === undefined ? undefined : { ...(v as object) });

describe('payload: number', () => {
  const decode = createPayloadDecoder('number', parser());
  it.each([
    ['21.5', 21.5],
    ['-3', -3],
    [' 7 \n', 7],
    ['0', 0],
    ['1e3', 1000],
    ['-0.25E-2', -0.0025],
  ])('%j → { value: %d }', (p, n) => {
    const r = decode(enc(p));
    expect(r).toEqual({ values: { value: n } });
    expect(Object.getPrototypeOf(r.values)).toBe(null);
  });
  it.each([
    ['abc', 'number: expected a number, got "abc"'],
    ['', 'number: expected a number, got ""'],
    ['0x10', 'number: expected a number, got "0x10"'],
    ['Infinity', 'number: expected a number, got "Infinity"'],
    ['NaN', 'number: expected a number, got "NaN"'],
    ['1.', 'number: expected a number, got "1."'],
    ['1 2', 'number: expected a number, got "1 2"'],
    ['1e400', 'number: "1e400" is out of the range of a double'],
    ['89014103211118510720', 'number: "89014103211118510720" is a whole number beyond ±(2^53−1): a double would round it'],
    ['x'.repeat(50), `number: expected a number, got "${'x'.repeat(40)}…"`],
  ])('%j → error', (p, error) => {
    expect(decode(enc(p))).toEqual({ error, raw: p });
  });
  it('keepRaw keeps the text', () => {
    expect(createPayloadDecoder('number', parser({ format: 'raw', keepRaw: true }))(enc('5'))).toEqual({ values: { value: 5 }, raw: '5' });
  });
});

describe('payload: json', () => {
  const decode = createPayloadDecoder('json', parser({ format: 'kv' }));
  it('uses the json line parser whatever the device parser format', () => {
    const r = decode(enc('{"t":21.5,"a":{"b":[1,2]}}'));
    expect(plain(r.values)).toEqual({ t: 21.5, 'a.b.0': 1, 'a.b.1': 2 });
  });
  it.each([
    ['[1]', 'json: expected an object, got an array'],
    ['null', 'json: expected an object, got null'],
    ['3', 'json: expected an object, got a number'],
  ])('%s → %s', (p, error) => expect(decode(enc(p))).toEqual({ error, raw: p }));
  it('broken JSON is an error with the text', () => {
    const r = decode(enc('{"t":'));
    expect(r.error).toMatch(/^json: /);
    expect(r.raw).toBe('{"t":');
  });
  it('__proto__ stays data', () => {
    const r = decode(enc('{"__proto__":{"x":1}}'));
    expect(Object.keys(r.values!)).toEqual(['__proto__.x']);
    expect(Object.getPrototypeOf(r.values)).toBe(null);
  });
});

describe('payload: string', () => {
  it('goes through the device parser', () => {
    expect(plain(createPayloadDecoder('string', parser({ format: 'kv' }))(enc('t=1 h=2')).values)).toEqual({ t: 1, h: 2 });
    expect(createPayloadDecoder('string', parser())(enc('hello'))).toEqual({ raw: 'hello' });
    const csv = createPayloadDecoder('string', parser({ format: 'csv', columns: ['a', 'b'] }));
    expect(csv(enc('1,2,3'))).toEqual({ error: 'csv: more than 2 fields', raw: '1,2,3' });
  });
});

describe('payload: bytes', () => {
  it('rejects invalid UTF-8 with a precise error', () => {
    const d = createPayloadDecoder('string', parser());
    expect(d(Buffer.from([0xc3, 0x28]))).toEqual({ error: 'payload is not valid UTF-8', raw: '\ufffd(' });
    expect(d(Buffer.alloc(8, 0x61))).toEqual({ raw: 'aaaaaaaa' });
  });

  it('never throws, for any bytes and any format', () => {
    const decoders = (['json', 'number', 'string'] as const).map((f) => createPayloadDecoder(f, parser({ format: 'kv' })));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        for (const d of decoders) {
          const r = d(bytes);
          expect(r.values !== undefined || r.raw !== undefined || r.error !== undefined).toBe(true);
        }
      }),
    );
  });
});
