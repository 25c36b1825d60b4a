/**
 * Scalar conversion shared by the line parsers: what a text field becomes in `values`.
 *
 * Numbers are recognised by a linear scan of the JSON number grammar
 * (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`), not by `Number()`, which also accepts
 * "0x10", " 12 ", "" and "Infinity". Anything outside the grammar stays a string, so device ids
 * such as "007" or "0x1F" are not mangled. A number that does not fit a double ("1e400") also
 * stays a string: a reading never carries Infinity (it would not survive JSON).
 */
import type { Values } from '../domain.js';

export type Scalar = Values[string];

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** Does `s` match the JSON number grammar? One pass, no regex. */
export function isStrictNumber(s: string): boolean {
  const n = s.length;
  let i = 0;
  if (i < n && s.charCodeAt(i) === 0x2d /* - */) i++;
  if (i >= n) return false;
  if (s.charCodeAt(i) === 0x30 /* 0 */) i++;
  else if (isDigit(s.charCodeAt(i))) while (i < n && isDigit(s.charCodeAt(i))) i++;
  else return false;
  if (i < n && s.charCodeAt(i) === 0x2e /* . */) {
    i++;
    const start = i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    if (i === start) return false;
  }
  if (i < n && (s.charCodeAt(i) | 0x20) === 0x65 /* e E */) {
    i++;
    if (i < n && (s.charCodeAt(i) === 0x2b || s.charCodeAt(i) === 0x2d)) i++;
    const start = i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    if (i === start) return false;
  }
  return i === n;
}

/**
 * A text field as a value: strict numbers → number, "true"/"false" → boolean,
 * "" → null (a field that is present but empty: "no measurement"), anything else → the string.
 */
export function scalarOf(s: string): Scalar {
  if (s === '') return null;
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (isStrictNumber(s)) {
    const v = Number(s);
    if (Number.isFinite(v)) return v;
  }
  return s;
}

/** A values object that treats every key as data (`__proto__`, `constructor`). */
export function emptyValues(): Values {
  return Object.create(null) as Values;
}
