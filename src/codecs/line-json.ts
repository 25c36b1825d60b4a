/**
 * The `json` line format: one JSON object per line.
 *
 * Nested objects and arrays are flattened into dotted keys (`{"a":{"b":1},"xs":[4,5]}` →
 * `a.b=1, xs.0=4, xs.1=5`) so that every value is a scalar a dashboard can plot. Values keep their
 * JSON type: a JSON string "21.5" stays a string. When a flattened key repeats
 * (`{"a.b":1,"a":{"b":2}}`), the later one wins. Nesting deeper than MAX_DEPTH is an error, which
 * also bounds the recursion below. JSON.parse creates `__proto__` as an own property and the
 * values object has no prototype, so it stays data.
 */
import type { Values } from '../domain.js';
import { emptyValues } from './line-values.js';
import type { LineResult } from './line-parser.js';
import { MAX_DEPTH } from '../bounds.js';
import { isWellFormed } from '../text.js';

class FlattenError extends Error {}

function flatten(out: Values, prefix: string, v: unknown, depth: number): void {
  if (typeof v === 'string') {
    if (!isWellFormed(v)) throw new FlattenError(`json: "${prefix}" is not well-formed Unicode (a lone surrogate escape)`);
    out[prefix] = v;
  } else if (v === null || typeof v === 'boolean') {
    out[prefix] = v;
  } else if (typeof v === 'number') {
    // JSON.parse turns 1e400 into Infinity, which JSON cannot carry back out
    if (!Number.isFinite(v)) throw new FlattenError(`json: "${prefix}" is out of the range of a double`);
    // JSON.parse rounded an integer literal beyond ±(2^53−1) (an ICCID, a serial number): a wrong
    // value is worse than none; the dashboards' own messages follow the same rule (out_of_range)
    if (Number.isInteger(v) && !Number.isSafeInteger(v)) {
      throw new FlattenError(`json: "${prefix}" is a whole number beyond ±(2^53−1), which a double rounds: send it as a string`);
    }
    out[prefix] = v;
  } else {
    if (depth >= MAX_DEPTH) throw new FlattenError(`json: nested deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) flatten(out, `${prefix}.${i}`, v[i], depth + 1);
    } else {
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) flatten(out, `${prefix}.${checkKey(k)}`, o[k], depth + 1);
    }
  }
}

function checkKey(k: string): string {
  if (!isWellFormed(k)) throw new FlattenError('json: a key is not well-formed Unicode (a lone surrogate escape)');
  return k;
}

export function parseJsonLine(line: string): LineResult {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch (err) {
    return { error: `json: ${(err as Error).message}` };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    const got = doc === null ? 'null' : Array.isArray(doc) ? 'an array' : `a ${typeof doc}`;
    return { error: `json: expected an object, got ${got}` };
  }
  const values = emptyValues();
  try {
    const o = doc as Record<string, unknown>;
    // Object.keys, not for-in: a polluted Object.prototype elsewhere must not add fields
    for (const k of Object.keys(o)) flatten(values, checkKey(k), o[k], 1);
  } catch (err) {
    if (err instanceof FlattenError) return { error: err.message };
    throw err;
  }
  return { values };
}
