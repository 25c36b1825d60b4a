/**
 * Scalar conversion shared by the line parsers: what a text field becomes in `values`.
 *
 * Numbers are recognised by a linear scan of the JSON number grammar
 * (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`), not by `Number()`, which also accepts
 * "0x10", " 12 ", "" and "Infinity". Anything outside the grammar stays a string, so device ids
 * such as "007" or "0x1F" are not mangled. A number that does not fit a double ("1e400") also
 * stays a string: a reading never carries Infinity (it would not survive JSON). So does a whole
 * number beyond ±(2^53−1) ("89014103211118510720", an ICCID): a double would round it, and a
 * rounded id is a wrong id.
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

/** The number a strict literal stands for, when a double holds it exactly enough: finite, and a whole number only within ±(2^53−1). */
export function numberOf(s: string): number | undefined {
  if (!isStrictNumber(s)) return undefined;
  const v = Number(s);
  if (!Number.isFinite(v)) return undefined;
  // a literal without fraction or exponent is an integer: beyond the safe range it was rounded
  if (!Number.isSafeInteger(v) && Number.isInteger(v) && !/[.eE]/.test(s)) return undefined;
  return v;
}

/**
 * A text field as a value: strict numbers → number, "true"/"false" → boolean,
 * "" → null (a field that is present but empty: "no measurement"), anything else → the string.
 */
export function scalarOf(s: string): Scalar {
  if (s === '') return null;
  if (s === 'true') return true;
  if (s === 'false') return false;
  return numberOf(s) ?? s;
}

/** A values object that treats every key as data (`__proto__`, `constructor`). */
export function emptyValues(): Values {
  return Object.create(null) as Values;
}
