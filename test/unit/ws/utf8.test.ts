import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Utf8Validator, isValidUtf8 } from '../../../src/ws/utf8.js';
import { hex } from './events.js';

const validate = (...pieces: string[]): boolean => {
  const v = new Utf8Validator();
  for (const p of pieces) if (!v.push(hex(p))) return false;
  return v.end();
};

describe('Utf8Validator', () => {
  it.each([
    ['ASCII', '48656c6c6f'],
    ['2-byte é', 'c3a9'],
    ['3-byte €', 'e282ac'],
    ['4-byte U+1F600', 'f09f9880'],
    ['U+10FFFF', 'f48fbfbf'],
    ['U+D7FF (below surrogates)', 'ed9fbf'],
    ['U+E000 (above surrogates)', 'ee8080'],
    ['empty', ''],
  ])('accepts %s', (_name, bytes) => {
    expect(validate(bytes)).toBe(true);
    expect(isValidUtf8(hex(bytes))).toBe(true);
  });

  it.each([
    ['lone continuation byte', '80'],
    ['invalid byte 0xff', 'ff'],
    ['0xf5 (would be > U+10FFFF)', 'f5808080'],
    ['> U+10FFFF', 'f4908080'],
    ['overlong "/" in 2 bytes', 'c0af'],
    ['overlong "/" in 3 bytes', 'e080af'],
    ['overlong "/" in 4 bytes', 'f08080af'],
    ['overlong 0xc1', 'c1bf'],
    ['surrogate U+D800', 'eda080'],
    ['surrogate U+DFFF', 'edbfbf'],
    ['truncated 3-byte sequence', 'e282'],
    ['ASCII after an incomplete lead byte', 'c328'],
  ])('rejects %s', (_name, bytes) => {
    expect(validate(bytes)).toBe(false);
    expect(isValidUtf8(hex(bytes))).toBe(false);
  });

  it('fails at the first impossible byte, before the sequence is complete', () => {
    const v = new Utf8Validator();
    expect(v.push(hex('48'))).toBe(true);
    expect(v.push(hex('ed'))).toBe(true);
    expect(v.push(hex('a0'))).toBe(false); // ED A0 can only start a surrogate
    expect(v.push(hex('41'))).toBe(false); // rejection sticks
    expect(v.end()).toBe(false);
  });

  it('accepts a code point split anywhere across pieces', () => {
    expect(validate('f0', '9f', '98', '80')).toBe(true);
    expect(validate('e2', '82ac41')).toBe(true);
  });

  it('reports an incomplete code point only at end()', () => {
    const v = new Utf8Validator();
    expect(v.push(hex('e282'))).toBe(true);
    expect(v.end()).toBe(false);
    v.reset();
    expect(v.end()).toBe(true);
  });

  it('honours start/end offsets', () => {
    const v = new Utf8Validator();
    expect(v.push(hex('ff4142ff'), 1, 3)).toBe(true);
    expect(v.end()).toBe(true);
  });

  it('agrees with node:buffer isUtf8 on random bytes and any split', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.string({ unit: 'binary', maxLength: 32 }).map((s) => Buffer.from(s)),
        ),
        fc.array(fc.nat(), { maxLength: 6 }),
        (bytes, cuts) => {
          const buf = Buffer.from(bytes);
          const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
          const v = new Utf8Validator();
          let ok = true;
          let from = 0;
          for (const to of [...points, buf.length]) {
            ok = v.push(buf, from, to) && ok;
            from = to;
          }
          expect(ok && v.end()).toBe(isUtf8(buf));
          expect(isValidUtf8(buf)).toBe(isUtf8(buf));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
