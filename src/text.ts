/**
 * Well-formed Unicode: a string with no lone surrogate. A JSON "\ud800" escape decodes to one,
 * which no UTF-8 (and so no CBOR text, serial line or MQTT payload) can carry: let through, CBOR
 * dashboards would get bytes that are not UTF-8 (cbor-x writes ED A0 80) and JSON ones "\ud800",
 * two different values. Every place that takes text from outside checks it here: dashboards'
 * messages (protocol/codec.ts), device JSON lines and MQTT payloads (codecs/line-json.ts), other
 * gateways' readings (fleet/wire.ts).
 */

// In a /u regex a surrogate pair is one code point, so this matches only a lone surrogate.
const LONE_SURROGATE = /\p{Cs}/u;

export const isWellFormed = (s: string): boolean => !LONE_SURROGATE.test(s);

/**
 * `s` cut to at most `max` UTF-16 units, with "…" when cut: messages quote input, never a whole
 * (possibly 4 KiB) line. A cut between the halves of a surrogate pair would send a lone surrogate
 * (above), so the cut moves before the pair.
 */
export function clip(s: string, max = 40): string {
  if (s.length <= max) return s;
  const last = s.charCodeAt(max - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? max - 1 : max;
  return `${s.slice(0, end)}…`;
}

/**
 * Characters a terminal acts on instead of showing (C0 and C1 controls: ESC starts a sequence
 * that can retitle the window or clear the screen; DEL) and those that reorder or hide what
 * follows (bidi overrides and isolates, zero-width marks, line separators): a config key read
 * from a stray binary file must not drive the terminal it is reported on.
 */
// eslint-disable-next-line no-control-regex -- matching controls is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

/** Does `s` hold a character printable() would escape? */
export const hasUnprintable = (s: string): boolean => s.search(UNPRINTABLE) >= 0;

/** `s` with every such character as a visible `\u001b` escape; everything else as it is. */
export function printable(s: string): string {
  return s.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
