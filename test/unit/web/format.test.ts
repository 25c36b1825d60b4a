import { describe, expect, it } from 'vitest';
import { clip, consoleLine } from '../../../web/format.js';

describe('consoleLine', () => {
  const ts = new Date(2026, 0, 1, 12, 34, 56, 789).getTime();

  it('shows the raw line when the gateway kept it, else the values as k=v', () => {
    expect(consoleLine({ type: 'reading', seq: 1, device: 'a', ts, raw: 'temp=21.5' })).toBe('12:34:56.789  temp=21.5');
    expect(consoleLine({ type: 'reading', seq: 2, device: 'a', ts, values: { temp: 21.5, led: true } })).toMatch(/^12:34:56\.789 {2}temp=21\.5 led=/);
  });

  it('marks a line that did not parse with its error', () => {
    const line = consoleLine({ type: 'reading', seq: 3, device: 'a', ts, raw: '\u00ff\u00fe', error: 'not a kv line' });
    expect(line).toBe('12:34:56.789  \u00ff\u00fe  ⚠ not a kv line');
  });
});

describe('clip', () => {
  it('keeps short text, cuts long text and says how much more there was, never between the halves of a surrogate pair', () => {
    expect(clip('abc', 3)).toBe('abc');
    expect(clip('abcdef', 3)).toBe('abc… (+3 characters)');
    // '😀' is two UTF-16 code units: a cut after its first would leave a lone surrogate
    expect(clip('ab😀cd', 3)).toBe('ab… (+4 characters)');
  });
});
