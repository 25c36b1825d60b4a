/**
 * The `kv` line format: `temp=21.5 hum=40`, `temp:21.5,hum:40`, `a=1; b=2`.
 *
 * Pairs are separated by runs of spaces, tabs, commas or semicolons; a pair splits at its first
 * `=` or `:` (so `time=12:30:05` keeps its colons). One linear scan, no regex. Values go through
 * scalarOf (strict numbers, booleans, "" → null). A token without `=`/`:` or with an empty key is
 * an error: a line that is not key/value data should not half-parse into a reading.
 */
import { clip } from '../text.js';
import { emptyValues, scalarOf } from './line-values.js';
import type { LineResult } from './line-parser.js';

const isSep = (c: number) => c === 0x20 || c === 0x09 || c === 0x2c /* , */ || c === 0x3b; /* ; */

export function parseKvLine(line: string): LineResult {
  const values = emptyValues();
  const n = line.length;
  let pairs = 0;
  let i = 0;
  while (i < n) {
    while (i < n && isSep(line.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    let eq = -1;
    while (i < n && !isSep(line.charCodeAt(i))) {
      const c = line.charCodeAt(i);
      if (eq < 0 && (c === 0x3d /* = */ || c === 0x3a) /* : */) eq = i;
      i++;
    }
    if (eq < 0) return { error: `kv: "${clip(line.slice(start, i))}" is not key=value` };
    if (eq === start) return { error: `kv: empty key before "${clip(line.slice(start, i))}"` };
    values[line.slice(start, eq)] = scalarOf(line.slice(eq + 1, i));
    pairs++;
  }
  if (pairs === 0) return { error: 'kv: empty line' };
  return { values };
}
