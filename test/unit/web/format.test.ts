import { describe, expect, it } from 'vitest';
import { consoleLine } from '../../../web/format.js';

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
