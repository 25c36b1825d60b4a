import { describe, expect, it } from 'vitest';
import { clip, hasUnprintable, isWellFormed, printable } from '../../src/text.js';

describe('clip', () => {
  it('keeps a short string, cuts a long one with …', () => {
    expect(clip('abc', 3)).toBe('abc');
    expect(clip('abcd', 3)).toBe('abc…');
    expect(clip('x'.repeat(50))).toBe(`${'x'.repeat(40)}…`);
  });

  it('never cuts a surrogate pair in half: the cut moves before it', () => {
    const s = `${'a'.repeat(63)}😀b`;
    expect(clip(s, 64)).toBe(`${'a'.repeat(63)}…`);
    expect(isWellFormed(clip(s, 64))).toBe(true);
    // a pair wholly inside the limit stays
    expect(clip(`${'a'.repeat(62)}😀b`, 64)).toBe(`${'a'.repeat(62)}😀…`);
  });
});

describe('printable', () => {
  it('escapes C0, DEL, C1, bidi and zero-width characters; leaves the rest, other scripts and emoji included', () => {
    expect(printable('\u001b[2J\u0007\u007f\u009b\u202e\u2066\u200b\u2028\n')).toBe(
      '\\u001b[2J\\u0007\\u007f\\u009b\\u202e\\u2066\\u200b\\u2028\\u000a',
    );
    expect(printable('température 温度 😀 /dev/ttyUSB0')).toBe('température 温度 😀 /dev/ttyUSB0');
    expect([hasUnprintable('ok é'), hasUnprintable('a\u009bb')]).toEqual([false, true]);
  });
});
