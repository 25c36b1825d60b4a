import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLineParser, ParserConfigError, type LineParserOptions } from '../../../src/codecs/line-parser.js';
import { isStrictNumber, scalarOf } from '../../../src/codecs/line-values.js';

const plain = (v: object | undefined) => (v ? { ...v } : v);

describe('scalarOf / isStrictNumber', () => {
  it.each([
    ['21.5', 21.5],
    ['-3', -3],
    ['0', 0],
    ['1e3', 1000],
    ['2.5E-2', 0.025],
    ['true', true],
    ['false', false],
    ['', null],
    ['0x10', '0x10'],
    ['007', '007'],
    ['1e400', '1e400'],
    ['Infinity', 'Infinity'],
    ['NaN', 'NaN'],
    [' 12', ' 12'],
    ['12.', '12.'],
    ['.5', '.5'],
    ['+1', '+1'],
    ['1e', '1e'],
    ['-', '-'],
    ['True', 'True'],
    // whole numbers a double would round stay the digits they were (ids: ICCIDs, serial numbers)
    ['9007199254740991', 9007199254740991],
    ['-9007199254740991', -9007199254740991],
    ['9007199254740993', '9007199254740993'],
    ['9007199254740992', '9007199254740992'],
    ['89014103211118510720', '89014103211118510720'],
    // a fraction or an exponent says measurement: a double is what it means
    ['1234567.125', 1234567.125],
    ['1e20', 1e20],
  ])('%j → %j', (s, v) => expect(scalarOf(s)).toBe(v));

  it('agrees with the JSON number grammar on any string', () => {
    const jsonNumber = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[-+0-9.eE]{0,8}$/)), (s) => {
        expect(isStrictNumber(s)).toBe(jsonNumber.test(s));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('json', () => {
  const p = createLineParser({ format: 'json' });
  it('an object → values, types kept', () => {
    const r = p('{"temp":21.5,"ok":true,"name":"t1","n":null,"s":"21.5"}');
    expect(r.error).toBeUndefined();
    expect(plain(r.values)).toEqual({ temp: 21.5, ok: true, name: 't1', n: null, s: '21.5' });
    expect(Object.getPrototypeOf(r.values)).toBeNull();
    expect(r.raw).toBeUndefined();
  });
  it('nested objects and arrays are flattened with dots and indexes', () => {
    const r = p('{"a":{"b":{"c":1}},"xs":[4,{"y":5}],"e":{},"l":[]}');
    expect(plain(r.values)).toEqual({ 'a.b.c': 1, 'xs.0': 4, 'xs.1.y': 5 });
  });
  it('a repeated flattened key: the later one wins', () => {
    expect(plain(p('{"a.b":1,"a":{"b":2}}').values)).toEqual({ 'a.b': 2 });
  });
  it('__proto__ and constructor are data', () => {
    const r = p('{"__proto__":{"polluted":1},"constructor":2}');
    expect(Object.keys(r.values!)).toEqual(['__proto__.polluted', 'constructor']);
    const r2 = p('{"__proto__":5}');
    expect(Object.keys(r2.values!)).toEqual(['__proto__']);
    expect(r2.values!['__proto__']).toBe(5);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
  it.each([
    ['[1,2]', 'json: expected an object, got an array'],
    ['42', 'json: expected an object, got a number'],
    ['"s"', 'json: expected an object, got a string'],
    ['null', 'json: expected an object, got null'],
    ['{"t":1e400}', 'json: "t" is out of the range of a double'],
    ['{"iccid":89014103211118510720}', 'json: "iccid" is a whole number beyond ±(2^53−1), which a double rounds: send it as a string'],
    ['{"s":"\\ud800x"}', 'json: "s" is not well-formed Unicode (a lone surrogate escape)'],
    ['{"a":{"b":["ok","\\udfff"]}}', 'json: "a.b.1" is not well-formed Unicode (a lone surrogate escape)'],
    ['{"\\ud800":1}', 'json: a key is not well-formed Unicode (a lone surrogate escape)'],
    ['{"a":{"k\\udc00":1}}', 'json: a key is not well-formed Unicode (a lone surrogate escape)'],
  ])('%s → %s', (line, error) => expect(p(line)).toEqual({ error, raw: line }));
  it('a surrogate pair (escaped or not) is well-formed and kept', () => {
    expect(p('{"e":"\\ud83d\\ude00","f":"😀"}').values).toEqual({ e: '😀', f: '😀' });
  });
  it('malformed JSON → error with the line as raw', () => {
    const r = p('{"temp": 21.');
    expect(r.error).toMatch(/^json: /);
    expect(r.raw).toBe('{"temp": 21.');
  });
  it('nesting deeper than 32 levels → error, not a stack overflow', () => {
    const line = '{"a":'.repeat(40) + '1' + '}'.repeat(40);
    expect(p(line).error).toBe('json: nested deeper than 32 levels');
    const ok = '{"a":'.repeat(32) + '1' + '}'.repeat(32);
    expect(Object.keys(p(ok).values!)).toEqual([Array(32).fill('a').join('.')]);
  });
});

describe('kv', () => {
  const p = createLineParser({ format: 'kv' });
  it.each([
    ['temp=21.5 hum=40', { temp: 21.5, hum: 40 }],
    ['temp:21.5,hum:40', { temp: 21.5, hum: 40 }],
    ['a=1; b=2;c=x', { a: 1, b: 2, c: 'x' }],
    ['  a=1 ,, b=true\t', { a: 1, b: true }],
    ['time=12:30:05 id=007', { time: '12:30:05', id: '007' }],
    ['a= b=0x10', { a: null, b: '0x10' }],
    ['a=1 a=2', { a: 2 }],
  ])('%j', (line, values) => {
    const r = p(line);
    expect(r.error).toBeUndefined();
    expect(plain(r.values)).toEqual(values);
  });
  it.each([
    ['', 'kv: empty line'],
    [' , ; ', 'kv: empty line'],
    ['temp 21.5', 'kv: "temp" is not key=value'],
    ['a=1 =2', 'kv: empty key before "=2"'],
    ['hello world', 'kv: "hello" is not key=value'],
  ])('%j → %s', (line, error) => expect(p(line)).toEqual({ error, raw: line }));
  it('quotes at most 40 characters of a bad token', () => {
    expect(p('x'.repeat(100)).error).toBe(`kv: "${'x'.repeat(40)}…" is not key=value`);
  });
  it('__proto__ is a key like any other', () => {
    const r = p('__proto__=1 constructor=2');
    expect(Object.keys(r.values!)).toEqual(['__proto__', 'constructor']);
    expect(r.values!['__proto__']).toBe(1);
  });
});

describe('csv', () => {
  const p = createLineParser({ format: 'csv', columns: ['temp', 'hum', 'n'] });
  it('fields in column order, trimmed, typed', () => {
    expect(plain(p('21.5, 40 ,7').values)).toEqual({ temp: 21.5, hum: 40, n: 7 });
    expect(plain(p('21.5,,abc').values)).toEqual({ temp: 21.5, hum: null, n: 'abc' });
  });
  it.each([
    ['21.5,40', 'csv: 2 fields, expected 3'],
    ['21.5', 'csv: 1 field, expected 3'],
    ['1,2,3,4', 'csv: more than 3 fields'],
  ])('%j → %s', (line, error) => expect(p(line)).toEqual({ error, raw: line }));
  it('a custom, multi-character separator', () => {
    const q = createLineParser({ format: 'csv', columns: ['a', 'b'], separator: '||' });
    expect(plain(q('1||x|y').values)).toEqual({ a: 1, b: 'x|y' });
    const s = createLineParser({ format: 'csv', columns: ['a', 'b'], separator: ';' });
    expect(plain(s('1;2').values)).toEqual({ a: 1, b: 2 });
  });
  it('__proto__ as a column name is data', () => {
    const q = createLineParser({ format: 'csv', columns: ['__proto__', 'b'] });
    expect(Object.keys(q('1,2').values!)).toEqual(['__proto__', 'b']);
  });
  it('without columns → ParserConfigError', () => {
    expect(() => createLineParser({ format: 'csv' })).toThrow(ParserConfigError);
    expect(() => createLineParser({ format: 'csv', columns: [] })).toThrow('csv needs column names (parser.columns)');
  });
});

describe('regex', () => {
  const p = createLineParser({ format: 'regex', pattern: '^T(?<temp>-?\\d+(?:\\.\\d+)?) H(?<hum>\\d+)(?: (?<flag>\\w+))?$' });
  it('named groups → values', () => {
    expect(plain(p('T21.5 H40').values)).toEqual({ temp: 21.5, hum: 40, flag: null });
    expect(plain(p('T-3 H40 ok').values)).toEqual({ temp: -3, hum: 40, flag: 'ok' });
  });
  it('no match → error', () => {
    expect(p('garbage').error).toMatch(/^regex: line does not match \^T\(\?<temp>/);
  });
  it.each([
    [undefined, 'regex needs a pattern with named groups (parser.pattern)'],
    ['(unclosed', /^regex pattern does not compile: /],
    ['^(\\d+)$', 'regex pattern has no named groups (?<name>...)'],
  ])('bad pattern %j → ParserConfigError', (pattern, msg) => {
    const cfg: LineParserOptions = pattern === undefined ? { format: 'regex' } : { format: 'regex', pattern };
    expect(() => createLineParser(cfg)).toThrow(ParserConfigError);
    expect(() => createLineParser(cfg)).toThrow(msg);
  });
});

describe('raw and keepRaw', () => {
  it('raw → { raw: line }', () => {
    expect(createLineParser({ format: 'raw' })('hello {')).toEqual({ raw: 'hello {' });
  });
  it('keepRaw adds the line to successful results', () => {
    const r = createLineParser({ format: 'kv', keepRaw: true })('a=1');
    expect(r.raw).toBe('a=1');
    expect(plain(r.values)).toEqual({ a: 1 });
  });
  it('an unknown format → ParserConfigError', () => {
    expect(() => createLineParser({ format: 'xml' as 'raw' })).toThrow('unknown parser format "xml"');
  });
});

describe('property: any line → values or error, never a throw', () => {
  const configs: LineParserOptions[] = [
    { format: 'json' },
    { format: 'kv' },
    { format: 'csv', columns: ['a', 'b', 'c'] },
    { format: 'regex', pattern: '^(?<k>[a-z]+)=(?<v>[^ ]*)$' },
    { format: 'raw', keepRaw: true },
  ];
  const lines = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.json({ maxDepth: 4 }),
    fc
      .tuple(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', '__proto__', 'constructor', ''), fc.string()), { maxLength: 6 }),
        fc.constantFrom(' ', ',', ';', ', '),
      )
      .map(([kv, sep]) => kv.map(([k, v]) => `${k}=${v}`).join(sep)),
  );
  for (const cfg of configs) {
    it(cfg.format, () => {
      const p = createLineParser(cfg);
      fc.assert(
        fc.property(lines, (line) => {
          const r = p(line);
          expect((r.values !== undefined) !== (r.error !== undefined) || cfg.format === 'raw').toBe(true);
          if (r.error !== undefined) expect(r.raw).toBe(line);
          if (r.values) {
            expect(Object.getPrototypeOf(r.values)).toBeNull();
            for (const v of Object.values(r.values)) {
              expect(v === null || ['string', 'boolean'].includes(typeof v) || Number.isFinite(v)).toBe(true);
            }
          }
        }),
        { numRuns: 1000 },
      );
    });
  }
});
