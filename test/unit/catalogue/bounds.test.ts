import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as bounds from '../../../src/bounds.js';

const src = fileURLToPath(new URL('../../../src/', import.meta.url));
/** numeric constants that are not bounds: WebSocket.OPEN (readyState) */
// not limits: a WebSocket readyState, and the size of the history record header (a file format constant)
const NOT_BOUNDS = new Set(['OPEN', 'HEADER']);

describe('fixed bounds (src/bounds.ts)', () => {
  it('every exported bound has one row with its value and a reason, and every row is an export', () => {
    const exported = Object.entries(bounds).filter(([, v]) => typeof v === 'number');
    const rows = new Map(bounds.FIXED_BOUNDS.map((b) => [b.name, b]));
    expect(rows.size).toBe(bounds.FIXED_BOUNDS.length);
    expect(exported.map(([name]) => name).sort()).toEqual([...rows.keys()].sort());
    for (const [name, value] of exported) {
      expect(rows.get(name)?.value, name).toBe(value);
      expect(rows.get(name)?.why.length, name).toBeGreaterThan(20);
    }
  });

  it('no numeric bound is defined as a constant anywhere else in src/ (src/ws keeps its RFC constants)', () => {
    const strays: string[] = [];
    for (const f of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
      if (!f.endsWith('.ts') || f === 'bounds.ts' || f.startsWith('ws' + path.sep)) continue;
      const text = readFileSync(path.join(src, f), 'utf8');
      for (const m of text.matchAll(/^(?:export )?const ([A-Z][A-Z0-9_]*) = ([0-9][0-9_]*(?: \* [0-9_]+)*);/gm))
        if (!NOT_BOUNDS.has(m[1]!)) strays.push(`${f}: ${m[1]} = ${m[2]}`);
    }
    expect(strays).toEqual([]);
  });
});
