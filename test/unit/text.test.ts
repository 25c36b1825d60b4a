import { describe, expect, it } from 'vitest';
import { clip, isWellFormed } from '../../src/text.js';

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
