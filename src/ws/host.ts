/**
 * The Host header, one definition for the WebSocket handshake, every plain route and the allowlist
 * (RFC 9110 §7.2, RFC 9112 §3.2): `uri-host [":" port]` with RFC 3986's grammar, read by linear
 * scans, never through `new URL()`. A URL parser normalises what it reads: `evil@localhost` became
 * `localhost`, `0177.0.0.1` and `2130706433` became `127.0.0.1`, `localhost/x` and `localhost#f`
 * became `localhost`, so values no browser sends passed a loopback allowlist. Here a value is
 * either of the grammar (and compared as written, lower-cased) or refused with 400.
 */

/** A Host value that follows the grammar. */
export interface RequestHost {
  /** reg-name, IPv4address or `[IP-literal]`, lower-cased and otherwise as sent: `0177.0.0.1` stays itself */
  readonly name: string;
  /** absent when the value has none (an empty port, `name:`, is none too: RFC 3986 §6.2.3) */
  readonly port: number | undefined;
}

export type HostField = { ok: true; host: RequestHost | undefined } | { ok: false; message: string };

/**
 * The Host of a request from its raw header list (name, value, name, value…): 400-worthy when
 * there is more than one Host line, a value outside the grammar, or none (or an empty one) where
 * `required` (HTTP/1.1 and later); RFC 9112 §3.2 demands 400 for each.
 */
export function hostField(rawHeaders: readonly string[], required: boolean): HostField {
  let value: string | undefined;
  let lines = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    // the length first: most names are not four letters, and lower-casing each is a string apiece
    if (name.length === 4 && name.toLowerCase() === 'host') {
      lines++;
      value = rawHeaders[i + 1]!;
    }
  }
  return hostOfLines(value, lines, required);
}

/** The same rules for a caller that counted the Host lines itself (`value`: the last one's). */
export function hostOfLines(value: string | undefined, lines: number, required: boolean): HostField {
  if (lines > 1) return { ok: false, message: 'more than one Host header' };
  // an empty Host names no authority, and every target we serve has one
  if (value === undefined || value === '') return required ? { ok: false, message: 'missing Host header' } : { ok: true, host: undefined };
  const host = parseHost(value);
  if (host === undefined) return { ok: false, message: 'malformed Host header (must be host or host:port, RFC 9110 §7.2)' };
  return { ok: true, host };
}

/** `uri-host [":" port]` (RFC 3986 §3.2.2, §3.2.3; port 0-65535), undefined for anything else. */
export function parseHost(value: string): RequestHost | undefined {
  let end: number;
  if (value.charCodeAt(0) === 0x5b /* [ */) {
    end = value.indexOf(']') + 1;
    if (end === 0 || !isIpLiteral(value.slice(1, end - 1))) return undefined;
  } else {
    end = value.indexOf(':');
    if (end < 0) end = value.length;
    if (end === 0 || !isRegName(value, end)) return undefined;
  }
  const name = value.slice(0, end).toLowerCase();
  if (end === value.length) return { name, port: undefined };
  if (value.charCodeAt(end) !== 0x3a /* : */) return undefined;
  const digits = value.slice(end + 1);
  if (digits.length > 5) return undefined;
  for (let i = 0; i < digits.length; i++) if (!isDigit(digits.charCodeAt(i))) return undefined;
  if (digits === '') return { name, port: undefined };
  const port = Number(digits);
  return port <= 65535 ? { name, port } : undefined;
}

/** reg-name = *( unreserved / pct-encoded / sub-delims ), over value[0, end); IPv4address is within it */
function isRegName(value: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 /* % */) {
      if (i + 2 >= end || !isHex(value.charCodeAt(i + 1)) || !isHex(value.charCodeAt(i + 2))) return false;
      i += 2;
    } else if (!isUnreservedOrSubDelim(c)) return false;
  }
  return true;
}

/** IP-literal without its brackets: IPv6address / IPvFuture */
function isIpLiteral(s: string): boolean {
  const c = s.charCodeAt(0);
  if (c === 0x76 || c === 0x56 /* v V */) return isIpvFuture(s);
  return isIpv6(s);
}

/** IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) */
function isIpvFuture(s: string): boolean {
  const dot = s.indexOf('.');
  if (dot < 2 || dot === s.length - 1) return false;
  for (let i = 1; i < dot; i++) if (!isHex(s.charCodeAt(i))) return false;
  for (let i = dot + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x3a && !isUnreservedOrSubDelim(c)) return false;
  }
  return true;
}

/**
 * IPv6address: eight 16-bit groups (1-4 hex digits), or fewer around one `::`, the last group
 * pair may be written as an IPv4address (`::ffff:127.0.0.1`). No zone id (RFC 6874 is not HTTP's).
 */
function isIpv6(s: string): boolean {
  const gap = s.indexOf('::');
  const left = gap < 0 ? s : s.slice(0, gap);
  const right = gap < 0 ? '' : s.slice(gap + 2);
  const leftGroups = groups(left, gap < 0);
  const rightGroups = gap < 0 ? 0 : groups(right, true);
  if (leftGroups < 0 || rightGroups < 0) return false;
  return gap < 0 ? leftGroups === 8 : leftGroups + rightGroups <= 7;
}

/** how many 16-bit groups a colon-separated part holds (-1: malformed); `last` lets it end in an IPv4address */
function groups(part: string, last: boolean): number {
  if (part === '') return 0;
  let count = 0;
  let start = 0;
  for (;;) {
    const colon = part.indexOf(':', start);
    const group = part.slice(start, colon < 0 ? part.length : colon);
    if (colon < 0 && last && group.includes('.')) return isIpv4(group) ? count + 2 : -1;
    if (group.length === 0 || group.length > 4) return -1;
    for (let i = 0; i < group.length; i++) if (!isHex(group.charCodeAt(i))) return -1;
    count++;
    if (colon < 0) return count;
    start = colon + 1;
  }
}

/** IPv4address = dec-octet "." dec-octet "." dec-octet "." dec-octet; 0-255 without leading zeros */
function isIpv4(s: string): boolean {
  const octets = s.split('.');
  if (octets.length !== 4) return false;
  for (const o of octets) {
    if (o.length === 0 || o.length > 3 || (o.length > 1 && o.charCodeAt(0) === 0x30)) return false;
    for (let i = 0; i < o.length; i++) if (!isDigit(o.charCodeAt(i))) return false;
    if (Number(o) > 255) return false;
  }
  return true;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** unreserved (ALPHA DIGIT - . _ ~) and sub-delims (! $ & ' ( ) * + , ; =), indexed by char code */
const NAME_CHAR = new Uint8Array(128);
for (const ch of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=") NAME_CHAR[ch.charCodeAt(0)] = 1;

const isUnreservedOrSubDelim = (c: number): boolean => c < 128 && NAME_CHAR[c] === 1;
