import { isUtf8 } from 'node:buffer';

/*
 * Bjoern Hoehrmann's UTF-8 DFA (https://bjoern.hoehrmann.de/utf-8/decoder/dfa/), validation
 * only. The first 256 entries map a byte to a character class, the rest map
 * (state + class) to the next state. It rejects overlong forms, surrogates (U+D800-DFFF) and
 * code points above U+10FFFF at the first byte that makes the sequence impossible, which is
 * what lets the parser fail fast on a partial frame. State 0 = accept, 12 = reject.
 */
const ACCEPT = 0;
const REJECT = 12;
// prettier-ignore
const DFA = Uint8Array.from([
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,
  7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,
  8,8,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
  10,3,3,3,3,3,3,3,3,3,3,3,3,4,3,3,11,6,6,6,5,8,8,8,8,8,8,8,8,8,8,8,
  0,12,24,36,60,96,84,12,12,12,48,72,12,12,12,12,12,12,12,12,12,12,12,12,
  12,0,12,12,12,12,12,0,12,0,12,12,12,24,12,12,12,12,12,24,12,24,12,12,
  12,12,12,12,12,12,12,24,12,12,12,12,12,24,12,12,12,12,12,12,12,24,12,12,
  12,12,12,12,12,12,12,36,12,36,12,12,12,36,12,12,12,12,12,36,12,36,12,12,
  12,36,12,12,12,12,12,12,12,12,12,12,
]);

/** Runs the DFA over bytes[start, end) from `state`; returns the new state (REJECT sticks). */
function run(state: number, bytes: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    // ASCII in the accept state is the common case: skip the two table lookups.
    if (b < 0x80 && state === ACCEPT) continue;
    state = DFA[256 + state + DFA[b]!]!;
    if (state === REJECT) return REJECT;
  }
  return state;
}

/**
 * Incremental validator for a text message that arrives in pieces (fragments, partial
 * frames): a code point may be split anywhere, and an impossible sequence is reported at
 * the piece that contains its first impossible byte.
 */
export class Utf8Validator {
  private state = ACCEPT;

  /** Feeds the next bytes; false as soon as the message can no longer be valid UTF-8. */
  push(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
    this.state = run(this.state, bytes, start, end);
    return this.state !== REJECT;
  }

  /** At the end of the message: true when no code point is left incomplete. */
  end(): boolean {
    return this.state === ACCEPT;
  }

  reset(): void {
    this.state = ACCEPT;
  }
}

/**
 * Whole-buffer check. node:buffer's isUtf8 (simdutf) wins on long buffers, but its call
 * overhead dominates on the short texts dashboards send, where the DFA's ASCII skip is cheaper.
 */
export function isValidUtf8(bytes: Uint8Array): boolean {
  if (bytes.length >= 32) return isUtf8(bytes);
  return run(ACCEPT, bytes, 0, bytes.length) === ACCEPT;
}
