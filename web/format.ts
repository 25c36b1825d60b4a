/** Text for the page: values, ages, times and the connection indicator. */
import { DASHBOARD_LINE_CHARACTERS, DASHBOARD_VALUE_CHARACTERS } from '../src/bounds.js';
import type { ConnectionInfo, ReadingMessage } from '../src/client/index.js';

/**
 * `text` up to `max` characters, then how many more there were. Device text is as long as the
 * device likes (a 60 KB MQTT field, a 4 KB serial line), and laying it out again at the reading
 * rate is what made the page fall behind its gateway; nobody reads past the first few hundred.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  // a cut between the halves of a surrogate pair would leave a lone one on screen
  const end = isHighSurrogate(text.charCodeAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)}… (+${text.length - end} characters)`;
}

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;

export function formatValue(v: number | string | boolean | null): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  return v === null ? '—' : clip(String(v), DASHBOARD_VALUE_CHARACTERS);
}

/** a tile's value: four significant digits are what a glance takes in (the detailed view shows six) */
export function formatShort(v: number | string | boolean | null): string {
  if (typeof v !== 'number' || Number.isInteger(v)) return formatValue(v);
  return String(Number(v.toPrecision(4)));
}

/** "12 s ago"; `short` (a tile, where room is scarce): "12 s" */
export function formatAge(ms: number, short = false): string {
  if (!(ms >= 0)) return '';
  const s = Math.floor(ms / 1000);
  const ago = short ? '' : ' ago';
  if (s < 60) return `${s} s${ago}`;
  if (s < 3600) return `${Math.floor(s / 60)} min${ago}`;
  return `${Math.floor(s / 3600)} h${ago}`;
}

export function formatTime(ts: number): string {
  const d = new Date(ts);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** a console line: the raw line when the gateway kept it, else the values as k=v */
export function consoleLine(r: ReadingMessage): string {
  let body = r.raw;
  if (body === undefined) {
    const parts: string[] = [];
    for (const k in r.values) parts.push(`${k}=${formatValue(r.values[k]!)}`);
    body = parts.join(' ');
  }
  return `${formatTime(r.ts)}  ${clip(body, DASHBOARD_LINE_CHARACTERS)}${r.error === undefined ? '' : `  ⚠ ${r.error}`}`;
}

export function connectionText(info: ConnectionInfo, now: number): string {
  const last = info.code === undefined ? '' : ` (${info.code}${info.reason ? ` ${info.reason}` : ''})`;
  switch (info.state) {
    case 'connecting':
      return 'connecting…';
    case 'open':
      return `open · ${info.protocol === 'serialgate.v1.cbor' ? 'CBOR' : 'JSON'}`;
    case 'closing':
      return 'closing…';
    case 'closed':
      return `closed${last}`;
    case 'reconnecting': {
      const s = Math.max(0, Math.ceil(((info.nextRetryAt ?? now) - now) / 1000));
      return `reconnecting in ${s} s${last}`;
    }
  }
}
